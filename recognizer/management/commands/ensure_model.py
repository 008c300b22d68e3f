from recognizer.inference import served_copy_for, served_detector_for
from recognizer.management.base import DatabaseCommand
from recognizer.services.model_versions import model_version_ensure_active, model_version_honesty_ensure


class Command(DatabaseCommand):
    help = "Make sure an active model version exists, with its detector, and its served copies are ready here."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-export", action="store_true", help="do not export the served copy now (the first prediction will)"
        )

    def handle(self, *args, no_export: bool, **options):
        version = model_version_honesty_ensure(version=model_version_ensure_active())
        accuracy = f"{version.mnist_accuracy:.4f}" if version.mnist_accuracy is not None else "unknown"
        self.stdout.write(f"active model: {version} (MNIST test accuracy {accuracy})")
        if not no_export:
            # Done here, at deploy time, so no request waits for TensorFlow to load and export it.
            copy = served_copy_for(version)
            self.stdout.write(f"served copy: {copy}")
            if version.detector:
                self.stdout.write(f"served detector: {served_detector_for(version)}")
