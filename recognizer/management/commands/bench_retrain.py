"""Time a retraining on 1,000 accepted corrections and measure a worker's memory.

    python manage.py bench_retrain [--corrections 1000] [--epochs N] [--replay N]

Runs in a throwaway database and media folder (your data is not touched),
with the retraining settings in force (MNIST_DIR for the replay and test
sets). Prints, in one run: resident memory with Django only (baseline) and
with the active model loaded and predicting (what a worker process holds);
inference over the MNIST test set (baseline speed of the model); then the
retraining itself, stage by stage, against the 2-minute budget.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

BUDGET_SECONDS = 120.0


def rss_mib() -> float:
    """Resident memory of this process now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark a retraining on N accepted corrections and a worker's memory with the model loaded."

    def add_arguments(self, parser):
        parser.add_argument("--corrections", type=int, default=1000)
        parser.add_argument("--epochs", type=int, help="default: RECOGNIZER_RETRAIN_EPOCHS")
        parser.add_argument("--replay", type=int, help="default: RECOGNIZER_RETRAIN_REPLAY_IMAGES")

    def handle(self, *args, corrections: int, epochs: int | None, replay: int | None, **options):
        recognizer = {**settings.RECOGNIZER}
        if epochs is not None:
            recognizer["RETRAIN_EPOCHS"] = epochs
        if replay is not None:
            recognizer["RETRAIN_REPLAY_IMAGES"] = replay
        with tempfile.TemporaryDirectory(prefix="bench-retrain-") as folder:
            recognizer["MODEL_CACHE_DIR"] = str(Path(folder) / "cache")
            with override_settings(MEDIA_ROOT=str(Path(folder) / "media"), RECOGNIZER=recognizer):
                old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                try:
                    self._bench(corrections)
                finally:
                    connection.creation.destroy_test_db(old_name, verbosity=0)

    def _line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label:<46} {value}")

    def _bench(self, count: int) -> None:
        from recognizer.inference import engine
        from recognizer.services.model_versions import model_version_ensure_active
        from recognizer.services.retraining import retrain_job_run, retrain_job_start
        from training.data import load_best_available

        options = settings.RECOGNIZER
        data = load_best_available(options["MNIST_DIR"] or None)
        self.stdout.write(
            f"retraining benchmark: {count} corrections, {options['RETRAIN_EPOCHS']} epochs, "
            f"{options['RETRAIN_REPLAY_IMAGES']} replay images, MNIST from {data.source} "
            f"({len(data.x_test)} test images), {connection.vendor}"
        )
        self.stdout.write("memory (resident):")
        self._line("Django only (baseline)", f"{rss_mib():.0f} MiB")
        version = model_version_ensure_active()
        engine.predict(version=version, pixels=data.x_test[:64])
        self._line("worker with the model loaded, after predicting", f"{rss_mib():.0f} MiB")

        self.stdout.write("speed:")
        started = time.perf_counter()
        for start in range(0, len(data.x_test), 256):
            engine.predict(version=version, pixels=data.x_test[start : start + 256])
        seconds = time.perf_counter() - started
        rate = len(data.x_test) / seconds
        self._line("inference on the MNIST test set (baseline)", f"{seconds:.1f} s ({rate:.0f} images/s)")

        self._make_corrections(data, count)
        job = retrain_job_start(trigger="command", enqueue=False)
        started = time.perf_counter()
        job = retrain_job_run(job_id=job.pk)
        total = time.perf_counter() - started
        if job.state != job.State.SUCCEEDED:
            self.stderr.write(f"retraining failed: {job.error}")
            return
        result = job.result_version
        for stage, value in result.metrics.get("seconds", {}).items():
            self._line(f"  {stage.replace('_', ' ')}", f"{value:.1f} s")
        verdict = "within" if total <= BUDGET_SECONDS else "OVER"
        budget = f"{verdict} the {BUDGET_SECONDS:.0f} s budget"
        self._line(f"retraining on {count} corrections, end to end", f"{total:.1f} s ({budget})")
        self._line("peak memory during the run", f"{peak_rss_mib():.0f} MiB")
        self.stdout.write(
            f"result: {result} {result.state}; MNIST {result.metrics['parent']['mnist']['accuracy']:.4f} -> "
            f"{result.mnist_accuracy:.4f}, held-out corrections "
            f"{result.metrics['parent']['holdout']['accuracy']:.4f} -> {result.holdout_accuracy:.4f}"
        )
        blend = result.metrics.get("blend", {})
        tried = ", ".join(f"{row['share']:g}: {row['accuracy']:.4f}" for row in blend.get("tried", []))
        self.stdout.write(
            f"blend: kept {blend.get('share', 1.0):g} of the change; check-set accuracy "
            f"{blend.get('base_accuracy', float('nan')):.4f} for the parent, by share kept: {tried or '-'}"
        )

    def _make_corrections(self, data, count: int) -> None:
        """Store `count` accepted corrections of hollow-stroke training digits (a style the model gets wrong)."""
        from recognizer.models import Correction, Submission
        from training.preprocessing import pixels_to_bytes
        from training.robustness import outlined

        owner = get_user_model().objects.create(username="bench")
        chosen = np.random.default_rng(7).choice(len(data.x_train), size=count, replace=False)
        now = timezone.now()
        submissions = []
        for index in chosen:
            submission = Submission(
                owner=owner,
                source=Submission.Source.API,
                pixels=pixels_to_bytes(outlined(data.x_train[index : index + 1])[0]),
                status=Submission.Status.DONE,
                created_at=now,
                is_corrected=True,
            )
            submission.image.save("digit.png", ContentFile(b"benchmark"), save=False)
            submissions.append(submission)
        submissions = Submission.objects.bulk_create(submissions)
        Correction.objects.bulk_create(
            Correction(submission=s, label=int(data.y_train[i]), review_state=Correction.Review.ACCEPTED)
            for s, i in zip(submissions, chosen, strict=True)
        )
