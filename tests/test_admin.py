import pytest
from django.urls import reverse

from tests.factories import CorrectionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

MODELS = ["submission", "correction", "modelversion", "retrainjob"]


@pytest.mark.parametrize("model", MODELS)
def test_staff_can_open_every_admin_list_and_change_page(staff_client, model, active_version):
    correction = CorrectionFactory()
    SubmissionFactory()
    response = staff_client.get(reverse(f"admin:recognizer_{model}_changelist"))
    assert response.status_code == 200
    objects = {"submission": correction.submission, "correction": correction, "modelversion": active_version}
    if model in objects:
        response = staff_client.get(reverse(f"admin:recognizer_{model}_change", args=[objects[model].pk]))
        assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_admin_is_refused_to_people_who_are_not_staff(user_client, model):
    response = user_client.get(reverse(f"admin:recognizer_{model}_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_is_refused_to_visitors(client):
    response = client.get(reverse("admin:recognizer_submission_changelist"))
    assert response.status_code == 302
