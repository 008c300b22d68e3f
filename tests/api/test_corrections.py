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
        ({"position": 0, "label": 10}, "max_value"),
        ({"position": 0, "label": True}, "invalid"),
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


# A number's pieces that are not digits.


def _put(api, submission, body):
    return api.put(f"{SUBMISSIONS}{submission.pk}/correction/", body, format="json")


def test_put_one_piece_of_a_number_as_not_a_digit(api, user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    response = _put(api, submission, {"position": 2, "label": None})
    assert response.status_code == 200, response.content
    correction = response.json()["correction"]
    assert correction["number"] == "2026" and correction["not_digits"] == [2] and correction["label"] is None
    assert correction["rejected_digits"] == [] and correction["review_state"] == "pending"
    assert Correction.objects.get(submission=submission).digit_labels == [2, 0, None, 2, 6]
    # Typing the number afterwards keeps the mark while it fits.
    correction = _put(api, submission, {"number": "2027"}).json()["correction"]
    assert (correction["number"], correction["not_digits"]) == ("2027", [2])


def test_put_the_number_with_its_marks_and_read_back_what_was_sent(api, user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    body = {"number": "206", "not_digits": [1, 3]}
    correction = _put(api, submission, body).json()["correction"]
    assert {key: correction[key] for key in body} == body
    # The same body again changes nothing; an empty list drops the marks.
    assert _put(api, submission, body).json()["correction"]["updated_at"] == correction["updated_at"]
    correction = _put(api, submission, {"number": "20126", "not_digits": []}).json()["correction"]
    assert correction["not_digits"] == [] and correction["number"] == "20126"


def test_a_number_of_no_digits_is_an_empty_number_with_every_piece_marked(api, user):
    submission = NumberSubmissionFactory(owner=user, number="71")
    response = _put(api, submission, {"number": "", "not_digits": [0, 1]})
    assert response.status_code == 200, response.content
    assert response.json()["correction"]["number"] == ""


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"not_digits": [2]}, "required"),
        ({"position": 2, "label": None, "not_digits": [2]}, "required"),
        ({"number": "2026", "not_digits": [5]}, "invalid_position"),
        ({"number": "202", "not_digits": [1, 1]}, "invalid_position"),
        ({"number": "2026", "not_digits": [16]}, "max_value"),
        ({"number": "2026", "not_digits": 2}, "not_a_list"),
        ({"number": "2026", "not_digits": ["x"]}, "invalid"),
        ({"number": "202", "not_digits": [2]}, "number_length_mismatch"),
        ({"number": "", "not_digits": [2]}, "number_length_mismatch"),
        ({"position": 5, "label": None}, "invalid_position"),
    ],
)
def test_a_bad_not_a_digit_piece_is_400(api, user, body, code):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    assert_error(_put(api, submission, body), 400, code)
    assert not Correction.objects.exists()


def test_a_digit_has_no_pieces_to_mark_and_its_correction_none_to_show(api, user):
    submission = SubmissionFactory(owner=user)
    assert_error(_put(api, submission, {"position": 0, "label": None}), 400, "not_a_number")
    assert_error(_put(api, submission, {"number": "7", "not_digits": []}), 400, "not_a_number")
    correction = _put(api, submission, {"label": None}).json()["correction"]
    assert correction["not_digits"] is None and correction["rejected_digits"] is None and correction["number"] is None


def test_someone_elses_number_is_404_for_a_piece_too(api, user, other_user):
    submission = NumberSubmissionFactory(owner=other_user, number="20126")
    assert_error(_put(api, submission, {"position": 2, "label": None}), 404, "not_found")
    assert_error(_put(api, submission, {"number": "2026", "not_digits": [2]}), 404, "not_found")
    assert not Correction.objects.exists()


def test_the_owner_reads_which_digits_an_admin_rejected(api, user, staff_user):
    from recognizer.services.corrections import correction_digits_review

    submission = NumberSubmissionFactory(owner=user, number="2028")
    assert _put(api, submission, {"number": "2026"}).status_code == 200
    correction_digits_review(correction_id=Correction.objects.get().pk, rejected_digits=[3], reviewer=staff_user)
    correction = api.get(f"{SUBMISSIONS}{submission.pk}/").json()["correction"]
    assert correction["review_state"] == "accepted" and correction["rejected_digits"] == [3]
