"""/metrics for a machine without a web process: a machine that runs Celery workers only.

Its workers write their metrics to PROMETHEUS_MULTIPROC_DIR; this small server (one thread, for
Prometheus' scrapes) answers them with the same bearer token as the web process's /metrics.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import CONTENT_TYPE_LATEST

from digitsite.probes import bearer_token_matches, metrics_exposition


def metrics_app(environ, start_response):
    """The WSGI application: GET /metrics with the bearer token, nothing else."""
    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found\n"]
    if not bearer_token_matches(environ.get("HTTP_AUTHORIZATION", ""), settings.METRICS_TOKEN):
        start_response(
            "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
        )
        return [b"Unauthorized\n"]
    body = metrics_exposition()
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # a scrape every few seconds is not news
        pass


class Command(BaseCommand):
    help = "Serve /metrics (bearer METRICS_TOKEN) on a machine that runs workers but no web process."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=9100, help="port (default 9100)")

    def handle(self, *args, bind: str, port: int, **options):
        if not settings.METRICS_TOKEN:
            raise CommandError("Set METRICS_TOKEN: the metrics are served only to Prometheus with that token.")
        with make_server(bind, port, metrics_app, handler_class=_QuietHandler) as server:
            self.stdout.write(f"Serving /metrics on {bind}:{server.server_port}", ending="\n")
            self.stdout.flush()
            server.serve_forever()
