"""Measure the product over real HTTP, in one run: a page, an API read, a stored prediction, a preview, a seed server.

Starts gunicorn as the Procfile's `web` line runs it (2 sync workers, access
log included) on a scratch database and media folder, and the seed-style
Flask + `model.predict` server (`benchmarks/seed_flask.py`) beside it. A
Python client (requests, keep-alive) then asks each in turn, one request at a
time, round after round, so every figure shares the machine's load of the
moment; the same ten 280x280 PNGs go to every prediction endpoint.

    python -m benchmarks.serving_http                       # SQLite in a scratch folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench14 python -m benchmarks.serving_http
    python -m benchmarks.serving_http --before /tmp/old     # and an older checkout's server, alternating

With --before DIR (an export of an older commit, with its own .venv link), that
checkout's server runs beside this one on its own scratch database (with
DATABASE_URL, a database named after it with `_before`), and every round asks
both, endpoint by endpoint, so a machine shared with other work loads both alike.

Prints median and p95 per endpoint and the ratios the targets of issue 14 name.
Not part of the test suite; results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
WEB_PORT, SEED_PORT, BEFORE_PORT = 8791, 8792, 8793
TOKEN_SCRIPT = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="bench-http")
print(Token.objects.get_or_create(user=user)[0].key)
"""


def _pngs(count: int) -> list[bytes]:
    """`count` different MNIST test digits as 280x280 PNGs, dark ink on white, as the canvas sends them."""
    from PIL import Image

    from training.data import load_sample

    pngs = []
    for pixels in load_sample().x_test[:count]:
        buffer = io.BytesIO()
        Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    return pngs


def _environment(scratch: Path, *, port: int = WEB_PORT, database_suffix: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'db.sqlite3'}")
    if database_suffix and not env["DATABASE_URL"].startswith("sqlite"):
        env["DATABASE_URL"] += database_suffix
    env.update(
        DJANGO_SETTINGS_MODULE="digitsite.settings.local",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        MEDIA_ROOT=str(scratch / "media"),
        RECOGNIZER_MODEL_CACHE=env.get("RECOGNIZER_MODEL_CACHE", str(scratch / "cache")),
        THROTTLE_USER="1000000/minute",
        THROTTLE_ANON="1000000/minute",
        PORT=str(port),
        WEB_CONCURRENCY=env.get("WEB_CONCURRENCY", "2"),
    )
    env.pop("REDIS_URL", None)  # the embedded default; set BENCH_REDIS_URL to measure with workers
    if env.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = env["BENCH_REDIS_URL"]
    return env


def _procfile_web(env: dict[str, str], root: Path = ROOT) -> list[str]:
    """The Procfile's `web` command with its ${VAR:-default}s filled in from `env`."""
    line = next(line for line in (root / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {line.removeprefix('web:').strip()}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = [word for word in command.split("\0") if word]
    words[0] = str(root / ".venv" / "bin" / words[0])
    return words


def _prepare(env: dict[str, str], root: Path = ROOT) -> str:
    """Migrate the scratch database, make sure the model is served, and return an API token."""
    manage = [str(root / ".venv" / "bin" / "python"), "manage.py"]
    if not env["DATABASE_URL"].startswith("sqlite"):
        name = env["DATABASE_URL"].rsplit("/", 1)[-1]
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)  # may exist
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=root, check=True)
    subprocess.run([*manage, "ensure_model"], env=env, cwd=root, check=True, capture_output=True)
    shell = subprocess.run(
        [*manage, "shell", "-c", TOKEN_SCRIPT], env=env, cwd=root, check=True, capture_output=True, text=True
    )
    return shell.stdout.strip().splitlines()[-1]


def _start(
    stack: ExitStack, command: list[str], env: dict[str, str], log: Path, ready_url: str, root: Path = ROOT
) -> None:
    with open(log, "wb") as sink:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, env=env, cwd=root, stdout=sink, stderr=subprocess.STDOUT)
    stack.callback(process.wait, 30)
    stack.callback(process.terminate)
    for _ in range(240):
        if process.poll() is not None:
            sys.exit(f"{shlex.join(command)} stopped; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(ready_url, timeout=10).status_code < 500:
                return
        except requests.RequestException:  # not listening yet, or still starting up
            pass
        time.sleep(0.5)
    sys.exit(f"{shlex.join(command)} never answered {ready_url}")


def _targets(token: str, pngs: list[bytes], port: int = WEB_PORT) -> dict[str, tuple[str, str, dict]]:
    """Name -> (method, URL, requests keyword arguments); `{png}` in files is the round's image."""
    web, seed = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{SEED_PORT}"
    auth = {"Authorization": f"Token {token}"}
    return {
        "GET /accounts/login/ (plain page)": ("GET", f"{web}/accounts/login/", {}),
        "GET /api/v1/models/active/ (token)": ("GET", f"{web}/api/v1/models/active/", {"headers": auth}),
        "POST /api/v1/submissions/ (stored)": ("POST", f"{web}/api/v1/submissions/", {"headers": auth, "png": 1}),
        "POST /api/v1/predictions/ (preview)": ("POST", f"{web}/api/v1/predictions/", {"headers": auth, "png": 1}),
        "POST seed Flask model.predict": ("POST", f"{seed}/predict", {"png": 1}),
    }


def _call(session: requests.Session, method: str, url: str, options: dict, png: bytes) -> float:
    kwargs = {"headers": options.get("headers", {})}
    if options.get("png"):
        kwargs["files"] = {"image": ("digit.png", png, "image/png")}
    started = time.perf_counter()
    response = session.request(method, url, timeout=60, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def _measure(targets: dict, pngs: list[bytes], *, rounds: int, warmup: int) -> dict[str, list[float]]:
    session = requests.Session()
    available = {}
    for name, (method, url, options) in targets.items():
        try:  # a server without the preview endpoint (before issue 14) is measured without it
            _call(session, method, url, options, pngs[0])
            available[name] = (method, url, options)
        except RuntimeError as error:
            print(f"skipped {name}: {error}")
    samples = {name: [] for name in available}
    for index in range(warmup + rounds):
        png = pngs[index % len(pngs)]
        for name, (method, url, options) in available.items():
            elapsed = _call(session, method, url, options, png)
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def _report(samples: dict[str, list[float]], *, rounds: int, database: str, title: str = "") -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{title}{rounds} rounds, one request to each per round; {os.cpu_count()} CPUs; db {database}; load {load}")
    print(f"{'':40} {'median':>9} {'p95':>9}")
    medians = {}
    for name, values in samples.items():
        medians[name] = float(np.percentile(values, 50))
        print(f"{name:40} {medians[name]:7.2f}ms {float(np.percentile(values, 95)):7.2f}ms")
    names = list(samples)
    stored = next((name for name in names if "(stored)" in name), None)
    read = next((name for name in names if "(token)" in name), None)
    page = next((name for name in names if "(plain page)" in name), None)
    seed = next((name for name in names if "seed" in name), None)
    preview = next((name for name in names if "(preview)" in name), None)
    if stored and read:
        print(f"stored prediction / authenticated API read at the median: {medians[stored] / medians[read]:.2f}x")
    if stored and page:
        print(f"stored prediction / plain page at the median: {medians[stored] / medians[page]:.2f}x")
    if preview and read:
        print(f"preview / authenticated API read at the median: {medians[preview] / medians[read]:.2f}x")
    if stored and seed:
        print(f"seed Flask server / stored prediction at the median: {medians[seed] / medians[stored]:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="timed rounds (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed rounds first (default 30)")
    parser.add_argument("--no-seed", action="store_true", help="leave the Flask server out")
    parser.add_argument("--before", type=Path, help="an older checkout whose server is measured alongside")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder, ExitStack() as stack:
        scratch = Path(folder)
        env = _environment(scratch)
        token = _prepare(env)
        web_ready = f"http://127.0.0.1:{WEB_PORT}/accounts/login/"
        _start(stack, _procfile_web(env), env, scratch / "gunicorn.log", web_ready)
        pngs = _pngs(10)
        targets = _targets(token, pngs)
        if args.no_seed:
            targets = {name: target for name, target in targets.items() if "seed" not in name}
        else:
            seed_command = [PYTHON, "-m", "benchmarks.seed_flask", str(SEED_PORT)]
            _start(stack, seed_command, env, scratch / "seed.log", f"http://127.0.0.1:{SEED_PORT}/ready")
        if args.before:
            targets = _before_started(stack, args.before.resolve(), scratch, pngs, targets)
        samples = _measure(targets, pngs, rounds=args.rounds, warmup=args.warmup)
        database = env["DATABASE_URL"].split(":")[0]
        if not args.before:
            _report(samples, rounds=args.rounds, database=database)
            return
        for side in ("before: ", "after: "):
            seed = {name: values for name, values in samples.items() if "seed" in name}
            own = {name.removeprefix(side): v for name, v in samples.items() if name.startswith(side)}
            _report(own | seed, rounds=args.rounds, database=database, title=f"== {side}")


def _before_started(stack: ExitStack, before: Path, scratch: Path, pngs: list[bytes], targets: dict) -> dict:
    """Start the older checkout's server too; return both servers' targets, alternating, and the seed's."""
    (scratch / "before").mkdir()
    env = _environment(scratch / "before", port=BEFORE_PORT, database_suffix="_before")
    token = _prepare(env, before)
    ready = f"http://127.0.0.1:{BEFORE_PORT}/accounts/login/"
    _start(stack, _procfile_web(env, before), env, scratch / "before" / "gunicorn.log", ready, before)
    theirs = _targets(token, pngs, port=BEFORE_PORT)
    both = {}
    for name, target in targets.items():
        if "seed" in name:
            both[name] = target
        else:
            both[f"before: {name}"], both[f"after: {name}"] = theirs[name], target
    return both


if __name__ == "__main__":
    main()
