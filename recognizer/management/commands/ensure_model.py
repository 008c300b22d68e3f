from django.core.management.base import BaseCommand

from recognizer.services import model_version_ensure_initial


class Command(BaseCommand):
    help = "Make sure an active model version exists; register the shipped model if none does."

    def handle(self, *args, **options):
        version = model_version_ensure_initial()
        accuracy = f"{version.mnist_accuracy:.4f}" if version.mnist_accuracy is not None else "unknown"
        self.stdout.write(f"active model: {version} (MNIST test accuracy {accuracy})")
