import base64

import pytest
from django.core.files.storage import default_storage

from recognizer.models import Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.factories import CorrectionFactory, NumberSubmissionFactory, SubmissionFactory
from tests.images import digit_image, digit_png, encode, number_png, sample_digit

# Predictions run at commit (in-process tasks), so these tests commit for real.
predicting = pytest.mark.django_db(transaction=True)


def _upload(png: bytes, name: str = "digit.png") -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {"image": SimpleUploadedFile(name, png, content_type="image/png")}


@predicting
def test_post_pngs_answers_201_with_the_right_digits(api):
    for index in range(6):
        response = api.post(SUBMISSIONS, _upload(digit_png(index)), format="multipart")

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {
            "id",
            "status",
            "kind",
            "source",
            "created_at",
            "image_url",
            "prediction",
            "correction",
            "error",
        }
        assert body["status"] == "done" and body["kind"] == "digit"
        assert body["prediction"]["number"] is None and body["prediction"]["digits"] is None
        assert body["source"] == "api"
        assert body["correction"] is None
        assert body["prediction"]["digit"] == sample_digit(index)[1]
        assert len(body["prediction"]["probabilities"]) == 10
        assert body["prediction"]["confidence"] == max(body["prediction"]["probabilities"])
        assert body["prediction"]["model_version"] == 1
        assert body["prediction"]["inference_ms"] > 0
        assert response["Location"] == f"http://testserver{SUBMISSIONS}{body['id']}/"
        assert api.get(response["Location"]).json() == body


@predicting
def test_post_json_data_url_from_the_canvas_or_plain_base64(api):
    data_url = "data:image/png;base64," + base64.b64encode(digit_png(7)).decode()
    # Hand-made base64 is often unpadded and wrapped.
    plain = base64.b64encode(digit_png(8)).decode().rstrip("=")
    plain = "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76))

    canvas = api.post(SUBMISSIONS, {"image": data_url, "source": "canvas"}, format="json")
    script = api.post(SUBMISSIONS, {"image": plain}, format="json")

    assert canvas.status_code == 201, canvas.content
    assert canvas.json()["source"] == "canvas"
    assert canvas.json()["prediction"]["digit"] == sample_digit(7)[1]
    assert script.status_code == 201, script.content
    assert script.json()["source"] == "api"
    assert script.json()["prediction"]["digit"] == sample_digit(8)[1]


@predicting
def test_post_every_accepted_format(api):
    pixels, label = sample_digit(11)
    transparent = encode(digit_image(pixels, transparent=True))
    formats = [("JPEG", {"quality": 90}), ("WEBP", {}), ("GIF", {}), ("BMP", {}), ("TIFF", {})]
    images = [(encode(digit_image(pixels), fmt, **options), fmt.lower()) for fmt, options in formats]

    for data, suffix in [*images, (transparent, "png")]:
        response = api.post(SUBMISSIONS, {**_upload(data, f"x.{suffix}"), "source": "upload"}, format="multipart")

        assert response.status_code == 201, (suffix, response.content)
        assert response.json()["source"] == "upload"
        assert response.json()["prediction"]["digit"] == label, suffix


def test_unknown_source_is_400(api):
    response = api.post(SUBMISSIONS, {**_upload(digit_png(5)), "source": "fax"}, format="multipart")
    assert_error(response, 400, "invalid_choice")
    assert not Submission.objects.exists()


def test_missing_image_is_400(api):
    assert_error(api.post(SUBMISSIONS, {"source": "api"}, format="json"), 400, "required")


def test_prediction_not_ready_in_time_answers_202_pending_with_location(api, with_workers):
    # With workers and none running, the submission stays pending.
    response = api.post(f"{SUBMISSIONS}?wait=0", _upload(digit_png(0)), format="multipart")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["prediction"] is None
    assert response["Location"] == f"http://testserver{SUBMISSIONS}{body['id']}/"
    polled = api.get(response["Location"])
    assert polled.status_code == 200
    assert polled.json()["status"] == "pending"


@pytest.mark.parametrize("wait", ["-1", "30.5", "soon", "nan", "inf"])
def test_wait_outside_0_to_30_seconds_is_400(api, wait):
    response = api.post(f"{SUBMISSIONS}?wait={wait}", _upload(digit_png(0)), format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("wait: ")
    assert not Submission.objects.exists()


@pytest.mark.django_db
def test_get_a_submission(api, user):
    submission = SubmissionFactory(owner=user)

    response = api.get(f"{SUBMISSIONS}{submission.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == submission.pk
    assert body["prediction"]["digit"] == submission.predicted_digit
    assert body["image_url"] == f"http://testserver{SUBMISSIONS}{submission.pk}/image/"


@pytest.mark.django_db
def test_a_corrected_submission_shows_its_correction(api, user):
    correction = CorrectionFactory(submission__owner=user, label=3)

    body = api.get(f"{SUBMISSIONS}{correction.submission.pk}/").json()

    assert body["correction"]["label"] == 3
    assert body["correction"]["review_state"] == "pending"


@pytest.mark.django_db
def test_a_failed_submission_says_why(api, user):
    submission = SubmissionFactory(owner=user, status=Submission.Status.FAILED, error="Prediction failed: boom")

    body = api.get(f"{SUBMISSIONS}{submission.pk}/").json()

    assert body["status"] == "failed"
    assert body["prediction"] is None
    assert body["error"] == "Prediction failed: boom"


@pytest.mark.django_db
def test_delete_removes_the_submission_and_its_file(api, user, django_capture_on_commit_callbacks):
    submission = SubmissionFactory(owner=user)
    assert default_storage.exists(submission.image.name)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"{SUBMISSIONS}{submission.pk}/")

    assert response.status_code == 204
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not default_storage.exists(submission.image.name)
    assert_error(api.get(f"{SUBMISSIONS}{submission.pk}/"), 404, "not_found")


@pytest.mark.django_db
def test_the_original_image_is_served_as_a_passive_file(api, user):
    submission = SubmissionFactory(owner=user)

    response = api.get(f"{SUBMISSIONS}{submission.pk}/image/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="submission-{submission.pk}.png"'
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == b"\x89PNG not really"


@pytest.mark.django_db
def test_an_image_with_an_unexpected_stored_type_is_served_as_bytes(api, user):
    submission = SubmissionFactory(owner=user, image_content_type="text/html")

    response = api.get(f"{SUBMISSIONS}{submission.pk}/image/")

    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_an_image_gone_from_storage_is_404(api, user):
    submission = SubmissionFactory(owner=user)
    default_storage.delete(submission.image.name)

    assert_error(api.get(f"{SUBMISSIONS}{submission.pk}/image/"), 404, "not_found")


@pytest.mark.django_db
def test_list_shows_only_my_submissions_newest_first(api, user, other_user):
    mine = [SubmissionFactory(owner=user) for _ in range(3)]
    SubmissionFactory(owner=other_user)

    body = api.get(SUBMISSIONS).json()

    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [s.pk for s in reversed(mine)]


@pytest.mark.django_db
def test_list_is_paginated(api, user):
    for _ in range(5):
        SubmissionFactory(owner=user)

    first = api.get(f"{SUBMISSIONS}?page_size=2").json()
    last = api.get(f"{SUBMISSIONS}?page_size=2&page=3").json()

    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["next"].endswith("page=2&page_size=2")
    assert first["previous"] is None
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert_error(api.get(f"{SUBMISSIONS}?page=9"), 404, "not_found")


@pytest.mark.django_db
def test_list_filters_by_digit_correction_source_and_date(api, user):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    three = SubmissionFactory(owner=user, predicted_digit=3, source="api", created_at=now - timedelta(days=2))
    seven = SubmissionFactory(owner=user, predicted_digit=7, source="canvas", created_at=now - timedelta(hours=1))
    corrected = CorrectionFactory(submission__owner=user, submission__predicted_digit=7, submission__created_at=now)

    def ids(query: str) -> list[int]:
        response = api.get(f"{SUBMISSIONS}?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("digit=3") == [three.pk]
    assert ids("digit=7") == [corrected.submission.pk, seven.pk]
    assert ids("corrected=true") == [corrected.submission.pk]
    assert ids("corrected=false") == [seven.pk, three.pk]
    assert ids("source=api") == [three.pk]
    after = (now - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"created_after={after}") == [corrected.submission.pk, seven.pk]
    assert ids(f"created_before={after}") == [three.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["digit=10", "digit=x", "corrected=maybe", "source=fax", "created_after=yesterday"])
def test_list_rejects_bad_filters(api, query):
    response = api.get(f"{SUBMISSIONS}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in {"max_value", "invalid", "invalid_choice"}


@pytest.mark.django_db
def test_staff_see_everyone_and_may_filter_by_user(staff_api, user, other_user):
    alice = SubmissionFactory(owner=user)
    bob = SubmissionFactory(owner=other_user)

    everyone = staff_api.get(SUBMISSIONS).json()
    only_bob = staff_api.get(f"{SUBMISSIONS}?user={other_user.pk}").json()

    assert {item["id"] for item in everyone["results"]} == {alice.pk, bob.pk}
    assert [item["id"] for item in only_bob["results"]] == [bob.pk]
    assert staff_api.get(f"{SUBMISSIONS}{bob.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_user_filter_does_not_widen_what_others_see(api, user, other_user):
    SubmissionFactory(owner=other_user)
    assert api.get(f"{SUBMISSIONS}?user={other_user.pk}").json()["count"] == 0


@pytest.mark.django_db
def test_staff_may_not_delete_or_correct_someone_elses_submission(staff_api, other_user):
    bob = SubmissionFactory(owner=other_user)

    assert_error(staff_api.delete(f"{SUBMISSIONS}{bob.pk}/"), 404, "not_found")
    assert_error(staff_api.put(f"{SUBMISSIONS}{bob.pk}/correction/", {"label": 1}, format="json"), 404, "not_found")
    assert Submission.objects.filter(pk=bob.pk, is_corrected=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("verdict", "is_digit", "reason"),
    [
        ({}, None, None),
        ({"checked_digit": True}, True, None),
        ({"not_a_digit": True}, False, "not_a_digit"),
        ({"several_digits": True}, False, "several_digits"),
    ],
    ids=["not-checked", "digit", "not-a-digit", "several-digits"],
)
def test_the_prediction_says_whether_it_is_a_digit(api, user, verdict, is_digit, reason):
    submission = SubmissionFactory(owner=user, predicted_digit=4, **verdict)

    for body in (api.get(f"{SUBMISSIONS}{submission.pk}/").json(), api.get(SUBMISSIONS).json()["results"][0]):
        prediction = body["prediction"]
        assert (prediction["is_digit"], prediction["reason"]) == (is_digit, reason)
        # Flagged or not, the closest digit and the ten probabilities stay.
        assert prediction["digit"] == 4
        assert len(prediction["probabilities"]) == 10


@predicting
def test_a_new_prediction_carries_the_verdict_fields(api):
    body = api.post(SUBMISSIONS, _upload(digit_png(3)), format="multipart").json()
    stored = Submission.objects.get(pk=body["id"])
    # Whatever the active version's detector says (nothing, without one), the answer says what is stored.
    assert body["prediction"]["is_digit"] is stored.is_digit
    assert body["prediction"]["reason"] == (stored.reason or None)


@pytest.mark.django_db
def test_list_filters_by_the_detectors_verdict(api, user):
    digit = SubmissionFactory(owner=user, checked_digit=True)
    several = SubmissionFactory(owner=user, several_digits=True, predicted_digit=4)
    not_a_digit = SubmissionFactory(owner=user, not_a_digit=True, predicted_digit=2)
    unchecked = SubmissionFactory(owner=user)

    def ids(query: str) -> list[int]:
        response = api.get(f"{SUBMISSIONS}?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("is_digit=true") == [digit.pk]
    assert ids("is_digit=false") == [not_a_digit.pk, several.pk]
    assert ids("is_digit=false&digit=4") == [several.pk]
    assert ids("") == [unchecked.pk, not_a_digit.pk, several.pk, digit.pk]
    assert_error(api.get(f"{SUBMISSIONS}?is_digit=perhaps"), 400, "invalid")


# Numbers.


@predicting
def test_post_a_number_answers_it_with_its_digits_and_boxes(api):
    response = api.post(SUBMISSIONS, {**_upload(number_png("2026")), "kind": "number"}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "number" and body["status"] == "done"
    prediction = body["prediction"]
    assert prediction["number"] == "2026"
    assert prediction["digit"] is None and prediction["probabilities"] is None
    assert [d["digit"] for d in prediction["digits"]] == [2, 0, 2, 6]
    assert [d["position"] for d in prediction["digits"]] == [0, 1, 2, 3]
    for digit in prediction["digits"]:
        assert set(digit) == {"digit", "confidence", "probabilities", "is_digit", "reason", "box", "position"}
        assert len(digit["probabilities"]) == 10 and len(digit["box"]) == 4
        assert digit["confidence"] == max(digit["probabilities"])
    product = 1.0
    for digit in prediction["digits"]:
        product *= digit["confidence"]
    assert prediction["confidence"] == pytest.approx(product)
    assert api.get(response["Location"]).json() == body


@predicting
def test_post_a_number_as_json(api):
    data_url = "data:image/png;base64," + base64.b64encode(number_png("0427")).decode()
    response = api.post(SUBMISSIONS, {"image": data_url, "kind": "number", "source": "canvas"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["prediction"]["number"] == "0427"


def test_more_than_16_digits_is_400_too_many_digits(api, active_version):
    response = api.post(SUBMISSIONS, {**_upload(number_png("23456789023456789")), "kind": "number"}, format="multipart")
    assert_error(response, 400, "too_many_digits")
    assert not Submission.objects.exists()


@pytest.mark.parametrize("kind", ["word", "", None, 1, "NUMBER"])
def test_an_unknown_kind_is_400(api, active_version, kind):
    image = base64.b64encode(digit_png(0)).decode()
    response = api.post(SUBMISSIONS, {"image": image, "kind": kind}, format="json")
    assert_error(response, 400, "null" if kind is None else "invalid_choice")
    assert_error(
        api.post(SUBMISSIONS, {**_upload(digit_png(0)), "kind": "word"}, format="multipart"), 400, "invalid_choice"
    )


def test_a_blank_number_is_400_empty_image(api, active_version):
    from tests.images import blank_png

    response = api.post(SUBMISSIONS, {**_upload(blank_png()), "kind": "number"}, format="multipart")
    assert_error(response, 400, "empty_image")


def test_lists_filter_by_kind(api, user):
    digit = SubmissionFactory(owner=user)
    number = NumberSubmissionFactory(owner=user, number="58")
    numbers = api.get(SUBMISSIONS, {"kind": "number"}).json()["results"]
    assert [s["id"] for s in numbers] == [number.pk]
    assert numbers[0]["prediction"]["number"] == "58"
    assert [d["digit"] for d in numbers[0]["prediction"]["digits"]] == [5, 8]
    assert [s["id"] for s in api.get(SUBMISSIONS, {"kind": "digit"}).json()["results"]] == [digit.pk]
    assert_error(api.get(SUBMISSIONS, {"kind": "words"}), 400, "invalid_choice")


def test_a_list_of_numbers_reads_their_digits_in_one_query(api, user, django_assert_max_num_queries):
    for _ in range(5):
        NumberSubmissionFactory(owner=user)
    with django_assert_max_num_queries(6):
        results = api.get(SUBMISSIONS, {"kind": "number"}).json()["results"]
    assert [len(s["prediction"]["digits"]) for s in results] == [4] * 5
