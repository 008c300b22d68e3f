"""What each endpoint of issue 14 costs inside Django, without HTTP: the WSGI application called directly.

The same endpoints as `benchmarks.serving_http` (a plain page, a token API read, a stored prediction, a
preview), asked in turn, round after round, in one process on a scratch SQLite database (or DATABASE_URL),
`DEBUG=false`. Without the network, gunicorn and the client, the figures are the part of each request
that Django and the product decide. By default it measures the CPU time the request took in this thread,
which other work on a shared machine changes much less than elapsed time, so two versions of the code compare
even on a loaded machine (it leaves out disk waits: SQLite's checkpoints, PostgreSQL's commit flush).

    python -m benchmarks.wsgi_costs                 # medians and p95 per endpoint (CPU time; --wall: elapsed)
    python -m benchmarks.wsgi_costs --profile stored   # cProfile of the stored prediction, top entries

Not part of the test suite; results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BOUNDARY = "benchwsgiboundary"
# CPU time of this thread: what a request costs, little changed by other work sharing the machine (it leaves out
# waiting for a CPU, and for the disk). --wall measures elapsed time instead.
CLOCK = time.thread_time


def _environment(scratch: Path) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'db.sqlite3'}")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        MEDIA_ROOT=str(scratch / "media"),
        RECOGNIZER_MODEL_CACHE=os.environ.get("RECOGNIZER_MODEL_CACHE", str(scratch / "cache")),
        THROTTLE_USER="1000000/minute",
        THROTTLE_ANON="1000000/minute",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    os.environ.pop("REDIS_URL", None)


def _bodies(count: int) -> list[bytes]:
    from PIL import Image

    from training.data import load_sample

    bodies = []
    for pixels in load_sample().x_test[:count]:
        buffer = io.BytesIO()
        Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR).save(buffer, format="PNG")
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="digit.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        bodies.append(head + buffer.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode())
    return bodies


def _environ(method: str, path: str, token: str | None, body: bytes = b"") -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    if body:
        environ["CONTENT_TYPE"] = f"multipart/form-data; boundary={BOUNDARY}"
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Token {token}"
    return environ


def _call(application, method: str, path: str, token: str | None, body: bytes = b"") -> float:
    """Answer one request; return the CPU time this thread spent on it, in ms (or wall time with --wall)."""
    statuses = []
    started = CLOCK()
    result = application(_environ(method, path, token, body), lambda status, headers, *a: statuses.append(status))
    b"".join(result)
    if hasattr(result, "close"):
        result.close()
    elapsed = (CLOCK() - started) * 1000
    if int(statuses[0].split()[0]) >= 300:
        raise RuntimeError(f"{method} {path} answered {statuses[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", choices=["page", "read", "stored", "preview"], help="cProfile one endpoint")
    parser.add_argument("--wall", action="store_true", help="elapsed time instead of this thread's CPU time")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.thread_time
    with tempfile.TemporaryDirectory(prefix="bench-wsgi-") as folder:
        _environment(Path(folder))
        import django

        django.setup()
        from django.core.management import call_command
        from django.core.wsgi import get_wsgi_application

        call_command("migrate", verbosity=0)
        call_command("ensure_model", verbosity=0)
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token

        user, _ = get_user_model().objects.get_or_create(username="bench-wsgi")
        token = Token.objects.get_or_create(user=user)[0].key
        application = get_wsgi_application()
        bodies = _bodies(10)
        targets = {
            "page": ("GET", "/accounts/login/", None, False),
            "read": ("GET", "/api/v1/models/active/", token, False),
            "stored": ("POST", "/api/v1/submissions/", token, True),
            "preview": ("POST", "/api/v1/predictions/", token, True),
        }
        samples = {name: [] for name in targets}
        for index in range(args.warmup + (0 if args.profile else args.rounds)):
            for name, (method, path, key, with_body) in targets.items():
                elapsed = _call(application, method, path, key, bodies[index % 10] if with_body else b"")
                if index >= args.warmup:
                    samples[name].append(elapsed)
        if args.profile:
            import cProfile
            import pstats

            method, path, key, with_body = targets[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            for index in range(args.rounds):
                _call(application, method, path, key, bodies[index % 10] if with_body else b"")
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(70)
            stats.sort_stats("tottime").print_stats(40)
            return
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        clock = "elapsed" if args.wall else "CPU"
        print(f"{args.rounds} rounds in process (WSGI, no HTTP), {clock} time per request; load {load}")
        for name, values in samples.items():
            print(f"{name:8} median {np.percentile(values, 50):6.3f} ms  p95 {np.percentile(values, 95):6.3f} ms")
        stored, read, preview = (np.percentile(samples[name], 50) for name in ("stored", "read", "preview"))
        print(f"stored / read {stored / read:.2f}x; stored - preview {stored - preview:.3f} ms")


if __name__ == "__main__":
    main()
