"""Make an earlier model version active again.

python manage.py rollback_model --version 3
python manage.py rollback_model            # list the versions
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from recognizer.management.base import DatabaseCommand
from recognizer.models import ModelVersion
from recognizer.selectors.model_versions import model_version_list
from recognizer.services.model_versions import model_version_activate


class Command(DatabaseCommand):
    help = "Activate an earlier model version; every web and worker process switches on its next prediction."
    # --version here names a model version, not the program's version.
    suppressed_base_arguments = {"--version"}

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, dest="number", help="the version number to activate")
        parser.add_argument("--allow-rejected", action="store_true", help="also a version the gate rejected")

    def handle(self, *args, number: int | None, allow_rejected: bool, **options):
        if number is None:
            for version in model_version_list():
                mnist = f"{version.mnist_accuracy:.4f}" if version.mnist_accuracy is not None else "-"
                self.stdout.write(f"v{version.number:<4} {version.state:<10} MNIST {mnist:<7} {version.name}")
            return
        try:
            version = ModelVersion.objects.get(number=number)
        except ModelVersion.DoesNotExist:
            raise CommandError(f"There is no version {number}.") from None
        try:
            version = model_version_activate(version=version, allow_rejected=allow_rejected)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        self.stdout.write(self.style.SUCCESS(f"{version} is now the active model."))
