"""POST /api/v1/predictions/: a submission's answer, checks and limits, with nothing stored."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recognizer.models import Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.images import blank_png, digit_png, sample_digit

pytestmark = pytest.mark.django_db

PREDICTIONS = "/api/v1/predictions/"


def _upload(data: bytes) -> dict:
    return {"image": SimpleUploadedFile("digit.png", data, content_type="image/png")}


def test_a_preview_answers_like_a_submission_without_what_is_stored(api, active_version):
    stored = api.post(SUBMISSIONS, _upload(digit_png(0)), format="multipart").json()
    Submission.objects.all().delete()

    response = api.post(PREDICTIONS, _upload(digit_png(0)), format="multipart")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "kind", "source", "prediction", "error"}
    assert body == {key: stored[key] for key in body} | {"prediction": body["prediction"]}
    prediction = dict(body["prediction"], inference_ms=None)
    assert prediction == dict(stored["prediction"], inference_ms=None)
    assert body["prediction"]["digit"] == sample_digit(0)[1]
    assert not Submission.objects.exists()


def test_a_preview_writes_nothing_to_the_database(api, active_version):
    api.post(PREDICTIONS, _upload(digit_png(1)), format="multipart")  # warm: token and version cached
    with CaptureQueriesContext(connection) as queries:
        response = api.post(PREDICTIONS, _upload(digit_png(1)), format="multipart")
    assert response.status_code == 200
    # Once warm, not even a read: the token and the active version are in the process's memory.
    assert [query["sql"] for query in queries] == []


def test_a_canvas_data_url_in_json(api, active_version):
    data_url = "data:image/png;base64," + base64.b64encode(digit_png(2)).decode()
    response = api.post(PREDICTIONS, {"image": data_url, "source": "canvas"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["source"] == "canvas"
    assert response.json()["prediction"]["digit"] == sample_digit(2)[1]


def test_a_preview_refuses_what_a_submission_refuses(api, active_version, settings):
    assert_error(api.post(PREDICTIONS, _upload(blank_png()), format="multipart"), 400, "empty_image")
    assert_error(api.post(PREDICTIONS, _upload(digit_png(0)[:300]), format="multipart"), 400, "invalid_image")
    assert_error(api.post(PREDICTIONS, {"source": "canvas"}, format="json"), 400, "required")
    assert_error(
        api.post(PREDICTIONS, {**_upload(digit_png(0)), "source": "fax"}, format="multipart"), 400, "invalid_choice"
    )
    assert_error(api.post(PREDICTIONS, _upload(b"<svg></svg>"), format="multipart"), 415, "unsupported_format")
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_UPLOAD_BYTES": 100}
    assert_error(api.post(PREDICTIONS, _upload(digit_png(0)), format="multipart"), 413, "image_too_large")
    assert not Submission.objects.exists()


def test_a_preview_needs_authentication(anonymous):
    assert_error(anonymous.post(PREDICTIONS, _upload(digit_png(0)), format="multipart"), 401, "not_authenticated")


def test_a_preview_is_throttled_like_every_call(api, active_version, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "5/minute", "user": "2/minute"},
    }
    from django.core.cache import cache

    cache.clear()
    statuses = [api.post(PREDICTIONS, _upload(digit_png(0)), format="multipart").status_code for _ in range(3)]
    cache.clear()
    assert statuses == [200, 200, 429]


def test_a_number_preview_reads_it_and_stores_nothing(api, active_version):
    from tests.images import number_png

    image = base64.b64encode(number_png("2026")).decode()
    response = api.post(PREDICTIONS, {"image": image, "kind": "number"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "number"
    assert body["prediction"]["number"] == "2026"
    assert [digit["digit"] for digit in body["prediction"]["digits"]] == [2, 0, 2, 6]
    assert not Submission.objects.exists()
