"""Measure POST /api/v1/submissions/ against a naive `model.predict`-per-request view, in one run.

Both run in this process on the embedded default (SQLite, in-process
tasks), in a throwaway database and media folder, through Django's test
client, with the same pre-encoded 280x280 PNG bodies: first the product,
then the baseline. Not interleaved: once Keras's `predict` has run in a
process, the thread pools it leaves behind slow every later request of that
process by about 40% (measured), and a real server runs only one of the two.

The run's URL conf is `benchmarks.naive_predict`: the product's URLs plus
the baseline, which never ships.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.test.utils import setup_test_environment, teardown_test_environment

from benchmarks.naive_predict import BASELINE_URL

PRODUCT_URL = "/api/v1/submissions/"


def _bodies(count: int) -> list[bytes]:
    """Encode `count` different MNIST test digits as 280x280 PNG multipart bodies, dark ink on white."""
    from PIL import Image

    from training.data import load_sample

    bodies = []
    for pixels in load_sample().x_test[:count]:
        picture = Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        upload = SimpleUploadedFile("digit.png", buffer.getvalue(), content_type="image/png")
        bodies.append(encode_multipart(BOUNDARY, {"image": upload}))
    return bodies


def _number_bodies(count: int) -> list[bytes]:
    """Encode `count` pictures of 8-digit numbers (pen-drawn, check seed 0) as multipart bodies with kind=number."""
    from training.numbers import written_numbers

    return [
        encode_multipart(BOUNDARY, {"image": SimpleUploadedFile("number", number.data), "kind": "number"})
        for number in written_numbers(count, 0, lengths=(8, 8))
    ]


def _profiler(wanted: bool):
    """A pyinstrument profiler (sampling every 0.5 ms), or None."""
    if not wanted:
        return None
    from pyinstrument import Profiler

    return Profiler(interval=0.0005)


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _post_ms(client: Client, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.generic("POST", url, body, content_type=MULTIPART_CONTENT)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise CommandError(f"POST {url} answered {response.status_code}: {response.content[:300]!r}")
    return elapsed


class Command(BaseCommand):
    help = "Benchmark POST /api/v1/submissions/ against a naive model.predict-per-request view (same run)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=300, help="timed requests to each (default 300)")
        parser.add_argument("--warmup", type=int, default=30, help="untimed requests to each first (default 30)")
        parser.add_argument(
            "--profile", action="store_true", help="profile the product's timed requests (pyinstrument) and print it"
        )

    def handle(self, *args, requests: int, warmup: int, profile: bool = False, **options):
        if connection.vendor != "sqlite" or settings.REDIS_URL:
            self.stderr.write("Note: not the embedded default (SQLite, no REDIS_URL); figures are for this set-up.")
        with tempfile.TemporaryDirectory(prefix="bench-api-") as scratch:
            old_name = connection.settings_dict["NAME"]
            # A file, as the embedded default has, in the scratch folder; elsewhere a database beside the real one.
            test_name = str(Path(scratch) / "bench.sqlite3") if connection.vendor == "sqlite" else f"bench_{old_name}"
            connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
            rates = {"anon": "1000000/minute", "user": "1000000/minute"}
            overrides = override_settings(
                MEDIA_ROOT=str(Path(scratch) / "media"),
                ROOT_URLCONF="benchmarks.naive_predict",
                REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates},
            )
            setup_test_environment()
            overrides.enable()
            # One INFO line per in-process task would drown the figures.
            task_log = logging.getLogger("celery.app.trace")
            task_log_level = task_log.level
            task_log.setLevel(logging.WARNING)
            try:
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
                product, baseline, numbers = self._measure(requests=requests, warmup=warmup, profile=profile)
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)
                task_log.setLevel(task_log_level)
                overrides.disable()
                teardown_test_environment()
        self._report(product, baseline, numbers, requests=requests)

    def _measure(self, *, requests: int, warmup: int, profile: bool) -> tuple[list[float], list[float], tuple]:
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        user = get_user_model().objects.create_user("bench", password=None)
        client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        bodies = _bodies(10)
        runs = []
        for url in (PRODUCT_URL, BASELINE_URL):
            for index in range(warmup):
                _post_ms(client, url, bodies[index % len(bodies)])
            profiler = _profiler(profile and url == PRODUCT_URL)
            with profiler or contextlib.nullcontext():
                runs.append([_post_ms(client, url, bodies[index % len(bodies)]) for index in range(requests)])
            if profiler:
                self.stdout.write(profiler.output_text(unicode=True, color=False, show_all=False))
            self.stdout.write(f"measured {url}; load average {_load()}")
            if url == PRODUCT_URL:  # before the baseline has run Keras in this process
                runs.append(self._measure_numbers(client, bodies, requests=requests, warmup=warmup))
        product, numbers, baseline = runs
        return product, baseline, numbers

    def _measure_numbers(
        self, client: Client, digit_bodies: list[bytes], *, requests: int, warmup: int
    ) -> tuple[list[float], list[float]]:
        """Time numbers and digits taking turns, a number then a digit: their ratio holds while the load changes."""
        bodies = _number_bodies(10)
        for index in range(warmup):
            _post_ms(client, PRODUCT_URL, bodies[index % len(bodies)])
        numbers, digits = [], []
        for index in range(requests):
            numbers.append(_post_ms(client, PRODUCT_URL, bodies[index % len(bodies)]))
            digits.append(_post_ms(client, PRODUCT_URL, digit_bodies[index % len(digit_bodies)]))
        self.stdout.write(f"measured {PRODUCT_URL} kind=number, taking turns with digits; load average {_load()}")
        return numbers, digits

    def _report(self, product: list[float], baseline: list[float], numbers: tuple, *, requests: int) -> None:
        def figures(samples: list[float]) -> tuple[float, float]:
            return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))

        product_median, product_p95 = figures(product)
        baseline_median, baseline_p95 = figures(baseline)
        self.stdout.write(f"{requests} timed requests each, 280x280 PNG, {os.cpu_count()} CPUs")
        self.stdout.write(f"{'':44} {'median':>9} {'p95':>9}")
        self.stdout.write(f"{'POST ' + PRODUCT_URL + ' (product)':44} {product_median:7.1f}ms {product_p95:7.1f}ms")
        self.stdout.write(
            f"{'POST naive model.predict view (baseline)':44} {baseline_median:7.1f}ms {baseline_p95:7.1f}ms"
        )
        self.stdout.write(f"baseline / product at the median: {baseline_median / product_median:.1f}x")
        (number_median, number_p95), (turns_median, turns_p95) = figures(numbers[0]), figures(numbers[1])
        label = "POST " + PRODUCT_URL + ", 8-digit number"
        self.stdout.write(f"{label:44} {number_median:7.1f}ms {number_p95:7.1f}ms")
        label = "... one digit, taking turns with the numbers"
        self.stdout.write(f"{label:44} {turns_median:7.1f}ms {turns_p95:7.1f}ms")
        self.stdout.write(f"8-digit number / one digit at the median: {number_median / turns_median:.1f}x")
