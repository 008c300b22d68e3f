"""Request ids, one log line and the HTTP metrics per request; the id travels on with Celery tasks.

The id comes from the client's X-Request-ID when it looks like an id (a proxy's or a load
balancer's), else it is made here; it is returned in the same header, set on every log record
of the request (`RequestIdFilter`), and sent as a header with every task the request enqueues,
so the worker's log lines of that task carry it too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import Counter, Histogram

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Anything else (too long, spaces, quotes, control characters) is replaced, so a client cannot forge log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Probes and scrapes come every few seconds: logged at DEBUG, counted like any other view.
QUIET_VIEWS = frozenset({"healthz", "readyz", "metrics"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
logger = logging.getLogger("digitsite.requests")

HTTP_REQUESTS = Counter(
    "digits_http_requests", "HTTP requests answered, by view, method and status.", ["view", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "digits_http_request_duration_seconds",
    "Time to answer an HTTP request in Django, by view and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)


def request_id_get() -> str | None:
    """The id of the request (or of the task it enqueued) this code runs for, if any."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record, for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def _request_id_from(request) -> str:
    # META, not request.headers: that one parses every header of the request, and costs more than all the rest here.
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    return offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def _view_name(request) -> str:
    # Fixed names only, never the path: a scan of random URLs must not make new series.
    probe = getattr(request, "probe", None)
    if probe:
        return probe
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else "<none>"


def _user_id(request) -> int | None:
    user = getattr(request, "user", None)
    # A session user nobody asked for is not loaded just to be logged: that would cost a query.
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user.pk if user.is_authenticated else None


class RequestObservabilityMiddleware:
    """First in MIDDLEWARE: times the whole answer and sees its final status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = _request_id_from(request)
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            view, status = _view_name(request), response.status_code
            HTTP_REQUESTS.labels(view, request.method, str(status)).inc()
            HTTP_LATENCY.labels(view, request.method).observe(seconds)
            logger.log(
                logging.DEBUG if view in QUIET_VIEWS else logging.INFO,
                "%s %s %s %s %.1f ms",
                request.method,
                request.path,
                view,
                status,
                seconds * 1000,
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "view": view,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


@before_task_publish.connect
def _request_id_to_task(headers: dict | None = None, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@task_prerun.connect
def _request_id_from_task(task=None, **kwargs) -> None:
    request = getattr(task, "request", None)
    if request is None or request.is_eager:  # an eager task runs inside its request, which has the id already
        return
    request_id = getattr(request, TASK_HEADER, None) or (request.headers or {}).get(TASK_HEADER)
    request._request_id_token = request_id_var.set(request_id)


@task_postrun.connect
def _request_id_task_done(task=None, **kwargs) -> None:
    token = getattr(getattr(task, "request", None), "_request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
