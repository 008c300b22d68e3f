#!/usr/bin/env bash
# Load test: POST /api/v1/submissions/ (280x280 PNG, in-process prediction) and the preview that stores nothing,
# POST /api/v1/predictions/, under gunicorn as the Procfile runs it, with wrk, next to the login page of the same
# server as the framework's floor. Not part of the test suite.
#
#   benchmarks/api_load.sh                      # SQLite in a scratch folder
#   DATABASE_URL=postgres://... benchmarks/api_load.sh
#
# Needs wrk (apt-get install wrk). Prints wrk's figures for each URL; record them in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
scratch=$(mktemp -d /tmp/digits-load-XXXXXX)
export DATABASE_URL="${DATABASE_URL:-sqlite:///$scratch/db.sqlite3}"
export MEDIA_ROOT="$scratch/media" RECOGNIZER_MODEL_CACHE="$scratch/cache"
export DJANGO_SETTINGS_MODULE=digitsite.settings.local THROTTLE_USER=1000000/minute DEBUG=false
export SECRET_KEY=load-test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
workers="${WEB_CONCURRENCY:-2}" connections="${CONNECTIONS:-4}" seconds="${SECONDS_EACH:-20}"

$PY manage.py migrate --noinput -v0
$PY manage.py ensure_model >/dev/null 2>&1
token=$($PY manage.py shell -c "
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username='load')
print(Token.objects.get_or_create(user=user)[0].key)" | tail -n1)
$PY - "$scratch" <<'PY'
import sys
from pathlib import Path
from tests.images import digit_png
png = digit_png(0)
boundary = "digitsloadboundary"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
        f"Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
Path(sys.argv[1], "body.bin").write_bytes(body)
PY
cat > "$scratch/post.lua" <<LUA
local f = io.open("$scratch/body.bin", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=digitsloadboundary"
wrk.headers["Authorization"] = "Token $token"
LUA

.venv/bin/gunicorn digitsite.wsgi --bind 127.0.0.1:8799 --workers "$workers" --timeout 60 --access-logfile /dev/null \
  --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 1 60); do curl -sf -o /dev/null http://127.0.0.1:8799/accounts/login/ && break; sleep 0.5; done
# Warm every worker: each loads the served copy on its first prediction.
wrk -t2 -c"$connections" -d3s -s "$scratch/post.lua" http://127.0.0.1:8799/api/v1/submissions/ >/dev/null

echo "== $workers gunicorn workers, $connections connections, ${seconds}s each, $(nproc) CPUs, db ${DATABASE_URL%%:*}"
echo "== POST /api/v1/submissions/ (280x280 PNG, stored and predicted)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$scratch/post.lua" http://127.0.0.1:8799/api/v1/submissions/
echo "== POST /api/v1/predictions/ (the same PNG, predicted, nothing stored)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$scratch/post.lua" http://127.0.0.1:8799/api/v1/predictions/
echo "== baseline: GET /accounts/login/ (a plain Django page, same server)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency http://127.0.0.1:8799/accounts/login/
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
