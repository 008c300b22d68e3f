"""Benchmark: what the request id, the request's log line and the HTTP metrics cost per request.

Run `.venv/bin/pytest -s benchmarks/observability_overhead.py`, and again with
`PROMETHEUS_MULTIPROC_DIR=$(mktemp -d)` in front for gunicorn's multiprocess mode (values in mmap'ed
files). It prints microseconds per request: the middleware alone around a view that does nothing, and
a whole page through Django's full stack with and without it. The figures go in docs/operations.md.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from digitsite.logs import json_formatter
from digitsite.observability import RequestObservabilityMiddleware

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROUNDS, CALLS = 21, 300
OURS = ("digitsite.observability.RequestObservabilityMiddleware", "digitsite.probes.ProbesMiddleware")


def compare_us(baseline, candidate, *, before_candidate=None, after_candidate=None) -> tuple[float, float]:
    """Median microseconds per call of each, measured in alternating rounds so that both see the same load."""
    times = {"baseline": [], "candidate": []}
    for _ in range(ROUNDS):
        for name, call in (("baseline", baseline), ("candidate", candidate)):
            started = time.perf_counter()
            for _ in range(CALLS):
                call()
            times[name].append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(times["baseline"]), statistics.median(times["candidate"])


@pytest.fixture
def json_log_to_null():
    """The request log line as production writes it: JSON, to a stream (here /dev/null), nothing else."""
    import logging.config

    logger = logging.getLogger("digitsite.requests")
    with open(os.devnull, "w") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(logging.config.DictConfigurator({}).configure_formatter(json_formatter()))
        saved = logger.handlers, logger.propagate, logger.level
        logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
        yield
        logger.handlers, logger.propagate, logger.level = saved


def test_overhead_of_the_observability_middleware(json_log_to_null, settings):
    mode = "multiprocess" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "single process"
    factory = RequestFactory()

    def view(request):
        return HttpResponse("ok")

    wrapped = RequestObservabilityMiddleware(view)
    bare, with_middleware = compare_us(lambda: view(factory.get("/x/")), lambda: wrapped(factory.get("/x/")))
    print(f"\n[{mode}] a view that does nothing: {bare:.1f} us bare, {with_middleware:.1f} us with the middleware")

    # Each client builds its middleware chain once, on its first request, from the settings of that moment.
    full_client, bare_client = Client(), Client()
    full_client.get("/")
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if name not in OURS]):
        bare_client.get("/")
    without, full = compare_us(lambda: bare_client.get("/"), lambda: full_client.get("/"))
    extra = full - without
    print(f"[{mode}] the landing page, full stack: {without:.1f} us without, {full:.1f} us with ({extra:+.1f})")
