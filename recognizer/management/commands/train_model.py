from django.core.management.base import BaseCommand, CommandError

from recognizer import conf
from recognizer.management.base import require_migrated_database
from training.train import DEFAULTS, share


class Command(BaseCommand):
    help = "Train the digit CNN on MNIST (wraps `python -m training.train`) and optionally register it."

    def add_arguments(self, parser):
        parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
        parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR, else download)")
        parser.add_argument("--output", default="model.keras", help="where to write the .keras file")
        parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
        parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
        parser.add_argument(
            "--elastic", type=share, default=DEFAULTS["elastic"], help="share of training images elastically warped"
        )
        parser.add_argument("--sample", action="store_true", help="train on the small bundled sample")
        parser.add_argument("--register", action="store_true", help="record the result as a candidate model version")

    def handle(self, *args, **options):
        from training import train

        if options["register"]:
            require_migrated_database()  # before training, not after an hour of it

        argv = ["--epochs", str(options["epochs"]), "--output", options["output"]]
        argv += ["--batch-size", str(options["batch_size"]), "--seed", str(options["seed"])]
        argv += ["--elastic", str(options["elastic"])]
        data_dir = options["data_dir"] or conf.mnist_dir()
        if data_dir:
            argv += ["--data-dir", data_dir]
        if options["sample"]:
            argv.append("--sample")
        if train.main(argv) != 0:
            raise CommandError("Training failed.")
        if options["register"]:
            import json
            from pathlib import Path

            from recognizer.services.model_versions import model_version_register

            output = Path(options["output"])
            summary = json.loads(output.with_suffix(".metrics.json").read_text())
            version = model_version_register(
                artifact_path=output,
                name="trained by train_model",
                metrics={"mnist": summary["test"]},
                training_counts={"train_images": summary["train_images"], "epochs_run": summary["epochs_run"]},
            )
            self.stdout.write(f"registered {version} as a candidate")
