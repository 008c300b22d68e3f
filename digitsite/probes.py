"""/healthz, /readyz and /metrics, answered by a middleware ahead of the security and host checks.

Orchestrators and Prometheus call a process by its own address, over plain HTTP inside the
network: through the normal stack, ALLOWED_HOSTS would refuse that host (400) and production's
SSL redirect would answer 301, which a Kubernetes probe counts as success. So these three
paths are answered before SecurityMiddleware and CommonMiddleware, and nothing else is.

- /healthz: 200 if the process can answer at all; touches nothing.
- /readyz: 200 or 503, with each check's result and time (`readiness_report`, also run by
  `manage.py check_ready`).
- /metrics: the Prometheus text format, for `Authorization: Bearer $METRICS_TOKEN`; without
  METRICS_TOKEN set it is not there at all (404 from the normal stack).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.contrib.redis import Redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from redis.asyncio import Redis as RedisClient

from recognizer import conf
from recognizer.health import Migrations, ServedModel

logger = logging.getLogger(__name__)

PATHS = {"/healthz": "healthz", "/readyz": "readyz", "/metrics": "metrics"}
BROKER_TIMEOUT_SECONDS = 2


def readiness_checks() -> dict[str, HealthCheck]:
    """What this process needs to serve, by the name /readyz shows."""
    checks = {
        "database": Database(),
        "migrations": Migrations(),
        "model": ServedModel(),
        "storage": Storage(),
    }
    if conf.has_broker():
        url = settings.CELERY_BROKER_URL  # Redis is the one broker this project runs on (REDIS_URL)
        checks["broker"] = Redis(
            client_factory=lambda: RedisClient.from_url(
                url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
            )
        )
    if settings.REDIS_URL:
        checks["cache"] = Cache()
    return checks


class _ClosingExecutor(ThreadPoolExecutor):
    """Runs the synchronous checks in threads that close their database connections when done."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(_closing_connections, fn, *args, **kwargs)


def _closing_connections(fn, *args, **kwargs):
    # Django refuses the ORM inside the event loop's thread; a thread of our own must not leak its connection.
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


def readiness_report() -> tuple[bool, dict]:
    """Run every readiness check at once; return whether all passed and what /readyz answers."""
    checks = readiness_checks()

    async def gather(executor):
        return await asyncio.gather(*(check.get_result(executor) for check in checks.values()))

    executor = _ClosingExecutor(max_workers=len(checks), thread_name_prefix="readiness")
    try:
        results = asyncio.run(gather(executor))
    finally:
        executor.shutdown(wait=False)  # a check past its timeout is not waited for
    report = {}
    for name, result in zip(checks, results, strict=True):
        report[name] = {"ok": result.error is None, "ms": round(result.time_taken * 1000, 1)}
        if result.error is not None:
            report[name]["error"] = str(result.error)
    ready = all(row["ok"] for row in report.values())
    return ready, {"status": "ready" if ready else "unavailable", "checks": report}


def healthz(request) -> HttpResponse:
    return JsonResponse({"status": "alive"})


def readyz(request) -> HttpResponse:
    ready, body = readiness_report()
    if not ready:
        logger.warning("Not ready: %s", ", ".join(name for name, row in body["checks"].items() if not row["ok"]))
    return JsonResponse(body, status=200 if ready else 503)


def metrics_exposition() -> bytes:
    """Every metric of this machine's processes (multiprocess mode) or of this process, then the product's levels."""
    from recognizer.metrics import ProductCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    levels = CollectorRegistry(auto_describe=False)
    levels.register(ProductCollector())
    try:
        product = generate_latest(levels)
    except DatabaseError:  # the database is down: still serve the process metrics, readiness says the rest
        logger.warning("Metrics: the product levels could not be read.", exc_info=True)
        product = b""
    return generate_latest(registry) + product


def bearer_token_matches(authorization: str, token: str) -> bool:
    """Whether an Authorization header carries `token` as a bearer token (compared in constant time)."""
    scheme, _, offered = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode())


def metrics(request) -> HttpResponse:
    if not bearer_token_matches(request.META.get("HTTP_AUTHORIZATION", ""), settings.METRICS_TOKEN):
        return HttpResponse("Unauthorized\n", status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)


VIEWS = {"healthz": healthz, "readyz": readyz, "metrics": metrics}


class ProbesMiddleware:
    """Right after RequestObservabilityMiddleware, so probes are logged and counted like any request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = PATHS.get(request.path_info.rstrip("/") or "/")
        if name is None or (name == "metrics" and not settings.METRICS_TOKEN):
            return self.get_response(request)
        request.probe = name
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = VIEWS[name](request)
        add_never_cache_headers(response)
        # Not again as an error by django.request on every probe while a dependency is down (and so to Sentry):
        # RequestObservabilityMiddleware logs each answer, and /readyz a warning naming what failed.
        response._has_been_logged = True
        return response
