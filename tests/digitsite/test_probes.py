"""/healthz, /readyz and /metrics: who may call them, what they touch, and what they answer."""

from __future__ import annotations

import contextlib

import django
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections

from recognizer.inference import engine

pytestmark = pytest.mark.django_db
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"
TOKEN = "metrics-token-for-tests-0123456789"
REDIS_TEST_URL = "redis://127.0.0.1:6379/14"


def test_healthz_answers_without_login_and_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_lists_each_check_with_its_time(client, active_version):
    engine.clear()

    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    # Without a broker the process predicts itself, so the model is loaded here; no broker, no shared cache.
    assert set(body["checks"]) == {"database", "migrations", "model", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert isinstance(check["ms"], float) and check["ms"] >= 0
    assert engine._loaded, "the readiness check did not load the active version"


def with_redis(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.REDIS_URL = REDIS_TEST_URL
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_TEST_URL}
    settings.CACHES = {"default": redis_cache}


def test_readyz_checks_broker_and_cache_with_redis(client, active_version, settings, stored_copy):
    with_redis(settings)
    engine.clear()

    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert set(response.json()["checks"]) == {"database", "migrations", "model", "storage", "broker", "cache"}
    assert not engine._loaded, "with a broker the web process must not load the model"


def test_with_redis_readyz_needs_the_served_copy_in_storage_for_the_workers(
    client, active_version, settings, stored_copy
):
    with_redis(settings)
    kept = default_storage.open(stored_copy).read()
    default_storage.delete(stored_copy)
    try:
        response = client.get("/readyz")
    finally:
        default_storage.save(stored_copy, ContentFile(kept))

    assert response.status_code == 503
    model = response.json()["checks"]["model"]
    assert model["ok"] is False
    assert model["error"] == "Unavailable: The active version's served copy is not in storage"


def test_readyz_answers_503_naming_the_broker_when_it_is_down(client, active_version, settings, stored_copy):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = CLOSED_PORT_URL

    ready = client.get("/readyz")
    alive = client.get("/healthz")

    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert ready.json()["status"] == "unavailable"
    assert checks["broker"]["ok"] is False
    assert "Redis" in checks["broker"]["error"]
    assert [name for name, check in checks.items() if not check["ok"]] == ["broker"]
    assert alive.status_code == 200


@contextlib.contextmanager
def database_unreachable():
    """New connections (the checks open their own) go to a database that is not there; this one stays open."""
    config = connections.settings["default"]
    saved = dict(config)
    if config["ENGINE"].endswith("sqlite3"):
        config["NAME"] = "/nonexistent-folder/db.sqlite3"
    else:
        config.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        config.clear()
        config.update(saved)


def test_readyz_answers_503_naming_the_database_when_it_is_down(client, active_version):
    with database_unreachable():
        ready = client.get("/readyz")
        alive = client.get("/healthz")

    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is False
    assert checks["storage"]["ok"] is True
    assert alive.status_code == 200


def test_readyz_says_nothing_of_versions_or_paths(client, active_version, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = CLOSED_PORT_URL
    with database_unreachable():
        body = client.get("/readyz").content.decode()

    for secret in (str(django_settings.BASE_DIR), str(settings.MEDIA_ROOT), "/nonexistent", django.get_version()):
        assert secret not in body


def test_probes_answer_an_orchestrator_calling_by_address_over_plain_http(client, active_version, settings):
    # Production redirects to HTTPS and knows only its own host names; a probe comes by the pod's address.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["digits.example.com"]

    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # everything else is still refused
    assert client.get("/", HTTP_HOST="digits.example.com").status_code == 301


def test_probes_take_only_get_and_head(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200


def test_metrics_are_not_there_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Token {TOKEN}", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"]
)
def test_metrics_refuse_anything_but_the_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"digits_" not in response.content


def test_metrics_answer_the_prometheus_format_with_the_token(client, settings, active_version):
    settings.METRICS_TOKEN = TOKEN
    client.get("/healthz")

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert 'digits_http_requests_total{method="GET",status="200",view="healthz"}' in text
    assert "# TYPE digits_predictions_total counter" in text
    assert "digits_review_backlog 0.0" in text
    assert "digits_submissions_pending 0.0" in text
