"""Measure inference speed against the naive `model.predict` baseline, in one run."""

from __future__ import annotations

import resource
import time

import numpy as np
from django.core.management.base import BaseCommand

from recognizer.models import ModelVersion


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples_ms, 50)), float(np.percentile(samples_ms, 95))


def _time_calls(fn, repeats: int) -> list[float]:
    fn()  # warm-up outside the measurement
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _throughput(fn, batch: int, seconds: float) -> float:
    fn()
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        done += batch
    return done / (time.perf_counter() - started)


def _digit_png() -> bytes:
    """Return a bundled MNIST test digit drawn dark on white at 280x280, as PNG."""
    import io

    from PIL import Image

    from training.data import load_sample

    pixels = load_sample().x_test[0]
    image = Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark the inference engine against model.predict per request (batch 1, 64, 256)."

    def add_arguments(self, parser):
        parser.add_argument("--repeats", type=int, default=300, help="timed calls per batch-1 figure")
        parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput figure")

    def handle(self, *args, **options):
        import tensorflow as tf

        from recognizer.inference import engine
        from training.preprocessing import preprocess_bytes

        repeats, seconds = options["repeats"], options["seconds"]
        version = ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)
        rss_before = _peak_rss_mb()
        loaded = engine.model_for(version)
        rss_loaded = _peak_rss_mb()
        model = loaded.model
        png = _digit_png()
        one = preprocess_bytes(png)[None]
        batches = {size: np.repeat(one, size, axis=0) for size in (64, 256)}

        results = {}
        results["engine"] = {
            "model": _percentiles(_time_calls(lambda: loaded.predict_probabilities(one), repeats)),
            "pre+model": _percentiles(
                _time_calls(lambda: loaded.predict_probabilities(preprocess_bytes(png)[None]), repeats)
            ),
            64: _throughput(lambda: loaded.predict_probabilities(batches[64]), 64, seconds),
            256: _throughput(lambda: loaded.predict_probabilities(batches[256]), 256, seconds),
        }
        as_float = {k: v.astype(np.float32)[..., None] for k, v in batches.items()}
        one_float = one.astype(np.float32)[..., None]
        baseline_repeats = max(20, repeats // 5)
        results["model.predict"] = {
            "model": _percentiles(_time_calls(lambda: model.predict(one_float, verbose=0), baseline_repeats)),
            "pre+model": _percentiles(
                _time_calls(
                    lambda: model.predict(preprocess_bytes(png)[None, ..., None].astype(np.float32), verbose=0),
                    baseline_repeats,
                )
            ),
            64: _throughput(lambda: model.predict(as_float[64], verbose=0), 64, seconds),
            256: _throughput(lambda: model.predict(as_float[256], verbose=0), 256, seconds),
        }

        engine_row, naive_row = results["engine"], results["model.predict"]
        out = self.stdout.write
        out(f"model {version}, TensorFlow {tf.__version__}")
        out(f"{'figure':<44}{'engine':>12}{'model.predict':>16}{'ratio':>9}")
        for label, key, index in (
            ("batch 1, model call p50 (ms)", "model", 0),
            ("batch 1, model call p95 (ms)", "model", 1),
            ("batch 1, PNG 280x280 -> prediction p50 (ms)", "pre+model", 0),
            ("batch 1, PNG 280x280 -> prediction p95 (ms)", "pre+model", 1),
        ):
            a, b = engine_row[key][index], naive_row[key][index]
            out(f"{label:<44}{a:>12.2f}{b:>16.2f}{b / a:>8.1f}x")
        for size in (64, 256):
            a, b = engine_row[size], naive_row[size]
            out(f"{f'batch {size}, throughput (images/s)':<44}{a:>12.0f}{b:>16.0f}{a / b:>8.1f}x")
        out(f"peak RSS: {rss_before:.0f} MB before loading, {rss_loaded:.0f} MB with the model loaded,")
        out(f"          {_peak_rss_mb():.0f} MB at the end (model.predict's own graph included)")
