"""Staff only, everywhere: the admin pages, the dashboard and its charts.

The pictures of submissions are the owner's or staff's: tests/web/test_private_media.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recognizer.models import ModelVersion, RetrainJob
from tests.factories import SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(versions):
    submission = SubmissionFactory()
    v1, v2, v3 = versions
    job = RetrainJob.objects.create()
    return [
        reverse("dashboard:index"),
        reverse("dashboard:chart", args=["daily"]),
        reverse("dashboard:chart", args=["accuracy"]),
        reverse("dashboard:chart", args=["confused"]),
        reverse("dashboard:model_version_chart", args=[v2.pk, "mnist"]),
        reverse("admin:recognizer_submission_changelist"),
        reverse("admin:recognizer_submission_change", args=[submission.pk]),
        reverse("admin:recognizer_modelversion_changelist"),
        reverse("admin:recognizer_modelversion_change", args=[v2.pk]),
        reverse("admin:recognizer_modelversion_activate", args=[v3.pk]),
        reverse("admin:recognizer_modelversion_rollback"),
        reverse("admin:recognizer_retrainjob_changelist"),
        reverse("admin:recognizer_retrainjob_change", args=[job.pk]),
        reverse("admin:recognizer_correction_changelist"),
    ]


def test_staff_can_open_every_page(staff_client, urls):
    for url in urls:
        assert staff_client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["visitor", "user"])
def test_everyone_else_is_sent_to_the_admin_login(client, user, urls, who):
    if who == "user":
        client.force_login(user)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.parametrize("who", ["visitor", "user"])
def test_writes_are_refused_to_everyone_else(client, user, versions, who):
    if who == "user":
        client.force_login(user)
    v1, v2, _ = versions
    for url in (
        reverse("admin:recognizer_modelversion_activate", args=[v1.pk]),
        reverse("admin:recognizer_modelversion_rollback"),
        reverse("admin:recognizer_retrainjob_start"),
    ):
        assert client.post(url).status_code == 302
    assert ModelVersion.objects.get(pk=v2.pk).state == ModelVersion.State.ACTIVE
    assert not RetrainJob.objects.exists()


def test_staff_without_change_permission_can_look_but_not_activate(client, versions):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__startswith="view_", content_type__app_label="recognizer")
    )
    client.force_login(viewer)
    v1, v2, _ = versions
    assert client.get(reverse("admin:recognizer_modelversion_change", args=[v2.pk])).status_code == 200
    assert client.post(reverse("admin:recognizer_modelversion_rollback")).status_code == 403
    assert client.post(reverse("admin:recognizer_retrainjob_start")).status_code == 403
    assert ModelVersion.objects.get(pk=v2.pk).state == ModelVersion.State.ACTIVE
