"""Someone else's submission is missing, not forbidden, at every object address."""

import pytest

from recognizer.models import Correction, Submission
from tests.api.helpers import SUBMISSIONS, assert_error
from tests.factories import CorrectionFactory

pytestmark = pytest.mark.django_db

OBJECT_CALLS = [
    ("get", "{id}/", None),
    ("delete", "{id}/", None),
    ("get", "{id}/image/", None),
    ("put", "{id}/correction/", {"label": 1}),
    ("delete", "{id}/correction/", None),
]


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_CALLS)
def test_bobs_submission_is_404_for_alice_like_a_missing_one(api, other_user, method, path, body):
    bobs = CorrectionFactory(submission__owner=other_user, label=7).submission

    for submission_id in (bobs.pk, bobs.pk + 1000):
        response = getattr(api, method)(SUBMISSIONS + path.format(id=submission_id), body, format="json")
        assert_error(response, 404, "not_found")
        assert response.json()["detail"] == "Not found."

    bobs.refresh_from_db()
    assert bobs.is_corrected
    assert Correction.objects.get(submission=bobs).label == 7


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_CALLS)
def test_alice_reaches_her_own_submission(api, user, method, path, body):
    mine = CorrectionFactory(submission__owner=user).submission
    response = getattr(api, method)(SUBMISSIONS + path.format(id=mine.pk), body, format="json")
    assert response.status_code in (200, 204)


def test_bobs_submissions_never_appear_in_alices_list(api, other_api, user, other_user):
    CorrectionFactory(submission__owner=other_user)
    assert api.get(SUBMISSIONS).json()["count"] == 0
    assert other_api.get(SUBMISSIONS).json()["count"] == 1
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("path", ["0/", "1234567890123456789/", "abc/", "-1/", "1/nothing/", "../v2/"])
def test_addresses_that_are_no_id_are_a_json_404(api, path):
    assert_error(api.get(SUBMISSIONS + path), 404, "not_found")
