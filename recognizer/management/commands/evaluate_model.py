import json
from pathlib import Path

from django.core.management.base import CommandError

from recognizer import conf
from recognizer.management.base import DatabaseCommand
from recognizer.models import ModelVersion
from recognizer.services.model_versions import model_version_metrics_record


class Command(DatabaseCommand):
    help = "Evaluate a model version (default: the active one) on the MNIST test set."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version V` names a model version here, not Django's own version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", type=int, help="model version number (default: the active one)")
        parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR)")
        parser.add_argument("--sample", action="store_true", help="use the bundled 2,000-image test sample")
        parser.add_argument("--output-dir", default="reports", help="where the JSON and PNG go")
        parser.add_argument(
            "--float", action="store_true", help="evaluate the float Keras model instead of the copy the service runs"
        )
        parser.add_argument("--save", action="store_true", help="store the metrics on the model version")
        parser.add_argument(
            "--honesty",
            action="store_true",
            help="also measure the version's detector and calibration (non-digits, several digits, ECE)",
        )
        parser.add_argument("--count", type=int, default=1000, help="with --honesty: pictures per kind of non-digit")
        parser.add_argument(
            "--numbers",
            type=int,
            default=0,
            metavar="N",
            help="also read N written numbers of the check set (exact match by length and spacing, digits)",
        )

    def handle(self, *args, **options):
        from recognizer.inference import engine
        from training.data import load_mnist, load_sample
        from training.evaluate import evaluate_model, format_report, plot_metrics

        try:
            version = (
                ModelVersion.objects.get(number=options["version"])
                if options["version"]
                else ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)
            )
        except ModelVersion.DoesNotExist:
            raise CommandError("No such model version.") from None

        data_dir = options["data_dir"] or conf.mnist_dir()
        try:
            data = load_sample() if options["sample"] else load_mnist(data_dir)
        except (OSError, ValueError) as error:
            raise CommandError(f"Could not load MNIST: {error}") from None

        loaded = engine.model_for(version)
        if options["float"]:
            metrics, form = evaluate_model(loaded.model, data.x_test, data.y_test, served=False), "float Keras model"
        else:
            metrics, form = evaluate_model(loaded.serving, data.x_test, data.y_test), "served LiteRT copy"
        self.stdout.write(f"model: {version} ({form})  data: {data.source}")
        self.stdout.write(format_report(metrics))

        out = Path(options["output_dir"])
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"evaluation-v{version.number}"
        stem.with_suffix(".json").write_text(json.dumps({"version": version.number, **metrics}, indent=2))
        plot_metrics(metrics, stem.with_suffix(".png"), title=f"{version}: accuracy {metrics['accuracy']:.4f}")
        self.stdout.write(f"wrote {stem}.json and {stem}.png")
        honesty = self._honesty(version, data, count=options["count"]) if options["honesty"] else None
        numbers = self._numbers(version, data, count=options["numbers"]) if options["numbers"] else None
        if options["save"] and len(data.x_test) == 10000 and not options["float"]:
            model_version_metrics_record(
                version=version,
                metrics={
                    "mnist": metrics,
                    **({"honesty": honesty} if honesty else {}),
                    **({"numbers": numbers} if numbers else {}),
                },
            )

    def _honesty(self, version: ModelVersion, data, *, count: int) -> dict:
        from recognizer.inference import engine
        from training.honesty import honesty_report

        detector = engine.detector_for(version)
        if detector is None or version.detector_threshold is None:
            raise CommandError(f"{version} has no detector to measure.")
        report = honesty_report(
            engine.model_for(version).predict_probabilities,
            detector.predict_probabilities,
            data,
            threshold=version.detector_threshold,
            count=count,
            temperature=version.temperature,
        )
        self.stdout.write(json.dumps(report, indent=2))
        return report

    def _numbers(self, version: ModelVersion, data, *, count: int) -> dict:
        from recognizer.inference import engine
        from training.number_report import CHECK_SEED, number_report
        from training.numbers import written_numbers

        detector = engine.detector_for(version)
        if detector is None:
            raise CommandError(f"{version} has no detector to find the digits of a number with.")
        numbers = written_numbers(count, CHECK_SEED, mnist_train=(data.x_train, data.y_train))
        report = number_report(engine.model_for(version).predict_probabilities, detector.predict_probabilities, numbers)
        self.stdout.write(json.dumps(report, indent=2))
        return report
