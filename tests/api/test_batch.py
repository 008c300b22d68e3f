import base64
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from recognizer.models import Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.images import blank_png, digit_png, sample_digit

BATCH = f"{SUBMISSIONS}batch/"


def _stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT) / "submissions"
    return {str(path) for path in root.rglob("*") if path.is_file()}


def _files(images: list[bytes]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"d{i}.png", data, content_type="image/png") for i, data in enumerate(images)]


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_predicted_and_answered_in_order(api):
    indices = list(range(20, 36))

    response = api.post(BATCH, {"images": _files([digit_png(i) for i in indices])}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["prediction"]["digit"] for item in body] == [sample_digit(i)[1] for i in indices]
    assert [item["id"] for item in body] == sorted(item["id"] for item in body)
    assert {item["status"] for item in body} == {"done"}
    assert {item["source"] for item in body} == {"api"}
    assert Submission.objects.filter(owner__username="alice").count() == len(indices)


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_data_urls_in_json(api):
    images = ["data:image/png;base64," + base64.b64encode(digit_png(i)).decode() for i in (40, 41)]

    response = api.post(BATCH, {"images": images, "source": "canvas"}, format="json")

    assert response.status_code == 201, response.content
    assert [item["prediction"]["digit"] for item in response.json()] == [sample_digit(i)[1] for i in (40, 41)]
    assert {item["source"] for item in response.json()} == {"canvas"}


def test_a_batch_still_predicting_answers_202_pending(api, with_workers):
    response = api.post(f"{BATCH}?wait=0", {"images": _files([digit_png(0), digit_png(1)])}, format="multipart")
    assert response.status_code == 202
    assert [item["status"] for item in response.json()] == ["pending", "pending"]


def test_64_images_are_accepted_and_65_refused(api):
    accepted = api.post(f"{BATCH}?wait=0", {"images": _files([digit_png(0)] * 64)}, format="multipart")
    refused = api.post(f"{BATCH}?wait=0", {"images": _files([digit_png(0)] * 65)}, format="multipart")

    assert accepted.status_code == 201, accepted.content
    assert len(accepted.json()) == 64
    assert_error(refused, 400, "batch_too_large")
    assert Submission.objects.count() == 64


def test_one_bad_image_refuses_the_whole_batch_and_says_which(api):
    images = [digit_png(0), digit_png(1), blank_png(), digit_png(2)]
    files_before = _stored_files()

    body = assert_error(api.post(BATCH, {"images": _files(images)}, format="multipart"), 400, "empty_image")

    assert body["index"] == 2
    assert not Submission.objects.exists()
    assert _stored_files() == files_before


def test_an_unsupported_file_in_a_batch_is_415(api):
    images = [digit_png(0), b"<svg xmlns='http://www.w3.org/2000/svg'/>"]
    body = assert_error(api.post(BATCH, {"images": _files(images)}, format="multipart"), 415, "unsupported_format")
    assert body["index"] == 1


@pytest.mark.parametrize("body", [{}, {"images": []}])
def test_an_empty_batch_is_400(api, body):
    response = api.post(BATCH, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"required", "empty_batch"}


def test_a_batch_body_over_its_limit_is_413_before_reading(api, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_BATCH_UPLOAD_BYTES": 10_000}
    response = api.post(BATCH, {"images": _files([digit_png(0)] * 4)}, format="multipart")
    body = assert_error(response, 413, "request_too_large")
    assert body["detail"] == "The batch is larger than 9.77 KB."


def test_more_files_than_django_parses_is_a_json_400(api, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MAX_BATCH": 1000}
    files = _files([b"x"] * (settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1))
    assert_error(api.post(BATCH, {"images": files}, format="multipart"), 400, "bad_request")


@pytest.mark.django_db(transaction=True)
def test_every_prediction_of_a_batch_carries_the_verdict_fields(api):
    response = api.post(BATCH, {"images": _files([digit_png(50), digit_png(51)])}, format="multipart")

    assert response.status_code == 201, response.content
    stored = {s.pk: s for s in Submission.objects.all()}
    for item in response.json():
        assert item["prediction"]["is_digit"] is stored[item["id"]].is_digit
        assert item["prediction"]["reason"] == (stored[item["id"]].reason or None)


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_numbers(api):
    from tests.images import number_png

    response = api.post(
        BATCH, {"images": _files([number_png("58"), number_png("2026")]), "kind": "number"}, format="multipart"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["prediction"]["number"] for item in body] == ["58", "2026"]
    assert {item["kind"] for item in body} == {"number"}


def test_a_batch_with_too_many_digits_in_one_number_names_it(api, active_version):
    from tests.images import number_png

    images = [base64.b64encode(number_png(n)).decode() for n in ("58", "23456789023456789")]
    body = assert_error(api.post(BATCH, {"images": images, "kind": "number"}, format="json"), 400, "too_many_digits")
    assert body["index"] == 1
    assert not Submission.objects.exists()
