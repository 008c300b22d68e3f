import pytest

from recognizer.models import Correction, Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.factories import CorrectionFactory, NumberSubmissionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def test_put_a_correction(api, user):
    submission = SubmissionFactory(owner=user, predicted_digit=3)

    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"label": 8}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == submission.pk
    assert body["correction"]["label"] == 8
    assert body["correction"]["review_state"] == "pending"
    assert body["prediction"]["digit"] == 3
    assert Correction.objects.get(submission=submission).label == 8
    assert Submission.objects.get(pk=submission.pk).is_corrected


def test_put_again_replaces_the_label_and_keeps_history(api, user):
    correction = CorrectionFactory(submission__owner=user, label=1)

    response = api.put(f"{SUBMISSIONS}{correction.submission.pk}/correction/", {"label": 2}, format="json")

    assert response.json()["correction"]["label"] == 2
    correction.refresh_from_db()
    assert [entry["label"] for entry in correction.history] == [1]


def test_put_as_a_form_works_too(api, user):
    submission = SubmissionFactory(owner=user)
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"label": "5"}, format="multipart")
    assert response.json()["correction"]["label"] == 5


@pytest.mark.parametrize(
    ("body", "code"),
    [({"label": 10}, "max_value"), ({"label": -1}, "min_value"), ({"label": "seven"}, "invalid"), ({}, "required")],
)
def test_a_label_that_is_not_a_digit_is_400(api, user, body, code):
    submission = SubmissionFactory(owner=user)
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", body, format="json")
    assert assert_error(response, 400, code)["detail"].startswith("label: ")
    assert not Correction.objects.exists()


def test_delete_withdraws_the_correction(api, user):
    correction = CorrectionFactory(submission__owner=user)
    url = f"{SUBMISSIONS}{correction.submission.pk}/correction/"

    response = api.delete(url)

    assert response.status_code == 204
    assert not Correction.objects.exists()
    assert api.get(f"{SUBMISSIONS}{correction.submission.pk}/").json()["correction"] is None
    assert api.delete(url).status_code == 204  # nothing left to withdraw is fine


def test_correcting_a_missing_submission_is_404(api):
    assert_error(api.put(f"{SUBMISSIONS}999999/correction/", {"label": 1}, format="json"), 404, "not_found")


def test_put_null_says_it_is_not_a_digit(api, user):
    submission = SubmissionFactory(owner=user, predicted_digit=3)

    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"label": None}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["correction"]["label"] is None
    assert body["correction"]["review_state"] == "pending"
    assert body["prediction"]["digit"] == 3
    correction = Correction.objects.get(submission=submission)
    assert correction.label is None
    assert Submission.objects.get(pk=submission.pk).needs_review
    assert api.get(f"{SUBMISSIONS}{submission.pk}/").json()["correction"]["label"] is None


def test_not_a_digit_and_a_digit_replace_each_other(api, user):
    submission = SubmissionFactory(owner=user, not_a_digit=True)
    url = f"{SUBMISSIONS}{submission.pk}/correction/"

    api.put(url, {"label": None}, format="json")
    response = api.put(url, {"label": 7}, format="json")

    assert response.json()["correction"]["label"] == 7
    assert [entry["label"] for entry in Correction.objects.get().history] == [None]


@pytest.mark.parametrize(
    ("body", "form", "code"),
    [
        # Only an explicit JSON null says "not a digit"; a blank form field stays the error it was.
        ({"label": ""}, "multipart", "invalid"),
        ({"label": ""}, "json", "invalid"),
        # `label` is the one field: `is_digit` is no way to say it.
        ({"is_digit": False}, "json", "required"),
    ],
)
def test_not_a_digit_needs_an_explicit_null_label(api, user, body, form, code):
    submission = SubmissionFactory(owner=user)
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", body, format=form)
    assert_error(response, 400, code)
    assert not Correction.objects.exists()


# Numbers: the whole number, or one digit.


def test_put_a_whole_number(api, user):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"number": "2026"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["correction"]["number"] == "2026" and body["correction"]["label"] is None
    assert body["prediction"]["number"] == "2028"
    assert Correction.objects.get(submission=submission).digit_labels == [2, 0, 2, 6]


def test_put_one_digit_of_a_number(api, user):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"position": 3, "label": 6}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["correction"]["number"] == "2026"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"number": "202"}, "number_length_mismatch"),
        ({"number": "20x6"}, "invalid_number"),
        ({"number": ""}, "blank"),
        ({"number": 2026}, "invalid"),
        ({"position": 4, "label": 1}, "invalid_position"),
        ({"position": 0}, "required"),
        ({"position": 0, "label": None}, "invalid_label"),
        ({"position": "first", "label": 1}, "invalid"),
        ({"number": "2026", "label": 1}, "invalid"),
        ({"label": 3}, "number_needs_number"),
        ({}, "required"),
    ],
)
def test_a_bad_number_correction_is_400(api, user, body, code):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    assert_error(api.put(f"{SUBMISSIONS}{submission.pk}/correction/", body, format="json"), 400, code)
    assert not Correction.objects.exists()


def test_a_digit_is_not_corrected_with_a_number(api, user):
    submission = SubmissionFactory(owner=user)
    response = api.put(f"{SUBMISSIONS}{submission.pk}/correction/", {"number": "7"}, format="json")
    assert_error(response, 400, "not_a_number")
