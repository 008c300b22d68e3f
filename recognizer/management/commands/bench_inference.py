"""Measure inference speed against the naive `model.predict` baseline, in one run."""

from __future__ import annotations

import os
import resource
import time

import numpy as np

from recognizer.management.base import DatabaseCommand
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


class Command(DatabaseCommand):
    help = "Benchmark the inference engine against model.predict per request (batch 1, 64, 256)."

    def add_arguments(self, parser):
        parser.add_argument("--repeats", type=int, default=300, help="timed calls per batch-1 figure")
        parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput figure")

    def handle(self, *args, **options):
        from recognizer.inference import engine
        from training.runtime import import_tensorflow

        version = ModelVersion.objects.get(state=ModelVersion.State.ACTIVE)
        rss_before = _peak_rss_mb()
        loaded = engine.model_for(version)
        rss_loaded = _peak_rss_mb()  # without TensorFlow, when the served copy was already cached
        # Before TensorFlow is imported: the service never imports it, and the thread pools Keras leaves behind
        # slow everything after them in a process.
        number = _measure_number(engine, version, repeats=max(50, options["repeats"] // 2))
        tf = import_tensorflow()
        columns = _measure_columns(loaded, repeats=options["repeats"], seconds=options["seconds"])
        out = self.stdout.write
        out(f"model {version}, TensorFlow {tf.__version__}, engine serves {loaded.serving.describe()}")
        _print_table(out, columns)
        _print_detector(out, engine, version, repeats=options["repeats"])
        _print_number(out, number)
        _print_agreement(out, loaded)
        out(f"peak RSS: {rss_before:.0f} MB before loading, {rss_loaded:.0f} MB with the served copy loaded,")
        out(f"          {_peak_rss_mb():.0f} MB at the end (TensorFlow and the float baselines included)")


def _as_input(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32)[..., None]


def _measure_columns(loaded, *, repeats: int, seconds: float) -> dict[str, dict]:
    """Time the engine, the float model under XLA and `model.predict`, one after another."""
    from training.preprocessing import preprocess_bytes

    png = _digit_png()
    one = preprocess_bytes(png)[None]
    batches = {size: np.repeat(one, size, axis=0) for size in (64, 256)}

    def measure(predict, calls: int = repeats) -> dict:
        return {
            "model": _percentiles(_time_calls(lambda: predict(one), calls)),
            "pre+model": _percentiles(_time_calls(lambda: predict(preprocess_bytes(png)[None]), calls)),
            64: _throughput(lambda: predict(batches[64]), 64, seconds),
            256: _throughput(lambda: predict(batches[256]), 256, seconds),
        }

    model = loaded.model
    return {
        "engine": measure(loaded.predict_probabilities),
        # The float model compiled once with XLA: the engine before it served a quantized copy.
        "float XLA": measure(_xla_function(model)),
        "model.predict": measure(lambda x: model.predict(_as_input(x), verbose=0), max(20, repeats // 5)),
    }


def _print_table(out, columns: dict[str, dict]) -> None:
    out(f"{'figure':<44}" + "".join(f"{name:>15}" for name in columns) + f"{'engine gain':>13}")
    for label, key, index in (
        ("batch 1, model call p50 (ms)", "model", 0),
        ("batch 1, model call p95 (ms)", "model", 1),
        ("batch 1, PNG 280x280 -> prediction p50 (ms)", "pre+model", 0),
        ("batch 1, PNG 280x280 -> prediction p95 (ms)", "pre+model", 1),
    ):
        values = [column[key][index] for column in columns.values()]
        gain = values[-1] / values[0]
        out(f"{label:<44}" + "".join(f"{v:>15.2f}" for v in values) + f"{gain:>12.1f}x")
    for size in (64, 256):
        values = [column[size] for column in columns.values()]
        gain = values[0] / values[-1]
        label = f"batch {size}, throughput (images/s)"
        out(f"{label:<44}" + "".join(f"{v:>15.0f}" for v in values) + f"{gain:>12.1f}x")
    out("gain: engine against model.predict per call. Columns measured in this run, one after another.")


def _print_detector(out, engine, version, *, repeats: int) -> None:
    """Time what honest answers add to a prediction: the version's detector on one input, and a whole predict."""
    from training.preprocessing import preprocess_bytes

    detector = engine.detector_for(version)
    if detector is None:
        out(f"{version} has no detector: predictions carry no verdict.")
        return
    one = preprocess_bytes(_digit_png())[None]
    call = _percentiles(_time_calls(lambda: detector.predict_probabilities(one), repeats))
    whole = _percentiles(_time_calls(lambda: engine.predict(version=version, pixels=one), repeats))
    out(f"{'batch 1, detector call p50 / p95 (ms)':<44}{call[0]:>15.3f}{call[1]:>15.3f}")
    out(f"{'batch 1, engine.predict with verdict (ms)':<44}{whole[0]:>15.3f}{whole[1]:>15.3f}")


def _time_interleaved(fns: list, repeats: int) -> tuple[list[list[float]], list[list[float]]]:
    """Time each of `fns` `repeats` times, taking turns, so a shared machine's changing load falls on all alike.

    Returns wall-clock and CPU milliseconds (this process, all its threads) per call: on a machine with more
    work than cores a long call is interrupted more often than a short one, and the CPU time is its cost.
    """
    for fn in fns:
        fn()  # warm-up outside the measurement
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for repeat in range(repeats):
        order = range(len(fns)) if repeat % 2 == 0 else reversed(range(len(fns)))  # none always runs first
        for index in order:
            started, started_cpu = time.perf_counter(), time.process_time()
            fns[index]()
            cpu[index].append((time.process_time() - started_cpu) * 1000)
            wall[index].append((time.perf_counter() - started) * 1000)
    return wall, cpu


def _measure_number(engine, version, *, repeats: int) -> dict:
    """Time reading an 8-digit number as the service does (checks, segmentation, one predict) against a digit."""
    from recognizer.services.intake import image_prepare, number_prepare
    from training.numbers import written_numbers

    digit = _digit_png()
    numbers = written_numbers(3, 0, lengths=(8, 8))

    def read_digit() -> None:
        engine.predict(version=version, pixels=image_prepare(data=digit).pixels[None])

    def reader(data: bytes):
        def read_number() -> None:
            digits = number_prepare(data=data, version=version).digits
            engine.predict(version=version, pixels=np.stack([crop.pixels for crop in digits]))

        return read_number

    # The digit and each number take turns: the ratio holds on a machine whose load changes while it runs.
    timed = _time_interleaved([read_digit, *(reader(number.data) for number in numbers)], repeats)
    figures = {"load": ", ".join(f"{value:.2f}" for value in os.getloadavg())}
    for clock, (digit_ms, *number_ms) in zip(("wall", "CPU"), timed, strict=True):
        figures[clock] = {
            "digit": _percentiles(digit_ms),
            "number": _percentiles([float(np.mean(turn)) for turn in zip(*number_ms, strict=True)]),
            "layouts": [(number.layout, _percentiles(ms)) for number, ms in zip(numbers, number_ms, strict=True)],
        }
    return figures


def _print_number(out, figures: dict) -> None:
    for clock in ("wall", "CPU"):
        (one, one_p95), (eight, eight_p95) = figures[clock]["digit"], figures[clock]["number"]
        out(f"{'1 digit, PNG -> prediction p50 / p95 (' + clock + ' ms)':<44}{one:>15.3f}{one_p95:>15.3f}")
        out(f"{'8-digit number, PNG -> number p50 / p95':<44}{eight:>15.3f}{eight_p95:>15.3f}")
        for layout, (median, p95) in figures[clock]["layouts"]:
            out(f"{'... ' + layout + ', p50 / p95':<44}{median:>15.3f}{p95:>15.3f}")
        out(f"8-digit number / one digit at the median ({clock} time): {eight / one:.1f}x")
    out("(mean of 3 numbers a turn, taking turns with the digit, before TensorFlow was imported;")
    out(f" load average then {figures['load']})")


def _print_agreement(out, loaded) -> None:
    from training.data import load_sample

    sample = load_sample()
    served = loaded.predict_probabilities(sample.x_test)
    floats = loaded.model.predict(_as_input(sample.x_test), verbose=0, batch_size=500)
    agree = float((served.argmax(1) == floats.argmax(1)).mean())
    out(
        f"served copy against the float model on {len(floats)} sample digits: {agree:.2%} same answer, "
        f"largest probability difference {np.abs(served - floats).max():.4f}"
    )


def _xla_function(model):
    """Return a batch-bucketed XLA call of the float `model`, as a fixed-signature baseline."""
    from training.runtime import import_tensorflow

    tf = import_tensorflow()

    from training.model import fuse_for_inference

    fused = fuse_for_inference(model)
    forward = tf.function(
        lambda batch: fused(batch, training=False),
        input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)],
        jit_compile=True,
    )

    def predict(pixels: np.ndarray) -> np.ndarray:
        return forward(pixels.astype(np.float32)[..., None]).numpy()

    return predict
