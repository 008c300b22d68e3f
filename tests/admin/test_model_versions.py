"""Model versions and retrain jobs in the admin: metrics, gate, activate and roll back, progress."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from recognizer.models import Correction, ModelVersion, RetrainJob
from tests.factories import CorrectionFactory

pytestmark = pytest.mark.django_db


def state_of(version: ModelVersion) -> str:
    return ModelVersion.objects.get(pk=version.pk).state


def test_version_page_shows_metrics_charts_gate_counts_and_parent(staff_client, versions):
    _, v2, _ = versions
    job = RetrainJob.objects.create(state=RetrainJob.State.SUCCEEDED, in_flight=None, result_version=v2)
    response = staff_client.get(reverse("admin:recognizer_modelversion_change", args=[v2.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "98.00%" in html and "95.00%" in html  # MNIST and held-out accuracy
    for which in ("mnist", "holdout"):
        assert reverse("dashboard:model_version_chart", args=[v2.pk, which]) in html
    assert "passed" in html and "held-out +3 points" in html
    assert "replay images" in html and "6000" in html
    assert reverse("admin:recognizer_modelversion_change", args=[v2.parent_id]) in html
    assert reverse("admin:recognizer_retrainjob_change", args=[job.pk]) in html
    assert 'name="_save"' not in html


def test_metrics_chart_is_a_png_drawn_from_the_confusion_matrix(staff_client, versions):
    response = staff_client.get(reverse("dashboard:model_version_chart", args=[versions[1].pk, "mnist"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size[0] > 500


def test_metrics_chart_is_404_without_metrics(staff_client, make_version, versions):
    bare = make_version(9, metrics={"mnist": {"accuracy": 0.99}})
    for version, which in ((bare, "mnist"), (versions[1], "nonsense")):
        response = staff_client.get(reverse("dashboard:model_version_chart", args=[version.pk, which]))
        assert response.status_code == 404
    page = staff_client.get(reverse("admin:recognizer_modelversion_change", args=[bare.pk]))
    assert "No per-class metrics" in page.content.decode()


def test_activate_asks_for_confirmation_then_serves_the_version(staff_client, versions, make_version):
    _, v2, _ = versions
    candidate = make_version(4, parent=v2, gate_passed=True)
    url = reverse("admin:recognizer_modelversion_activate", args=[candidate.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "Yes, activate v4" in page.content.decode()
    assert state_of(candidate) == ModelVersion.State.CANDIDATE

    response = staff_client.post(url)
    assert response.status_code == 302
    assert state_of(candidate) == ModelVersion.State.ACTIVE
    assert state_of(v2) == ModelVersion.State.RETIRED


def test_rollback_serves_the_version_that_served_before(staff_client, versions):
    v1, v2, _ = versions
    changelist = staff_client.get(reverse("admin:recognizer_modelversion_changelist")).content.decode()
    assert "Roll back to v1" in changelist
    url = reverse("admin:recognizer_modelversion_rollback")
    page = staff_client.get(url)
    assert "Roll back to v1?" in page.content.decode()
    assert state_of(v2) == ModelVersion.State.ACTIVE

    staff_client.post(url, {"version": v1.pk})
    assert state_of(v1) == ModelVersion.State.ACTIVE
    assert state_of(v2) == ModelVersion.State.RETIRED
    # Rolling back again returns to v2: the version active before v1 came back.
    staff_client.post(url, {"version": v2.pk})
    assert state_of(v2) == ModelVersion.State.ACTIVE


def test_a_rollback_confirmed_for_another_version_changes_nothing(staff_client, versions):
    v1, v2, _ = versions
    url = reverse("admin:recognizer_modelversion_rollback")

    answer = staff_client.post(url, {"version": v2.pk})  # confirmed when v2 was the target; now it is v1

    assert answer.status_code == 302 and answer["Location"] == url
    assert state_of(v2) == ModelVersion.State.ACTIVE and state_of(v1) == ModelVersion.State.RETIRED


def test_a_version_the_gate_rejected_needs_an_explicit_override(staff_client, versions):
    _, v2, v3 = versions
    url = reverse("admin:recognizer_modelversion_activate", args=[v3.pk])
    assert "although the gate rejected it" in staff_client.get(url).content.decode()
    staff_client.post(url)
    assert state_of(v3) == ModelVersion.State.REJECTED
    staff_client.post(url, {"allow_rejected": "yes"})
    assert state_of(v3) == ModelVersion.State.ACTIVE
    assert state_of(v2) == ModelVersion.State.RETIRED


def test_a_version_whose_file_is_missing_is_not_activated(staff_client, versions):
    v1, v2, _ = versions
    v1.artifact.storage.delete(v1.artifact.name)
    response = staff_client.post(reverse("admin:recognizer_modelversion_activate", args=[v1.pk]), follow=True)
    assert "was not activated" in response.content.decode()
    assert state_of(v2) == ModelVersion.State.ACTIVE


def test_versions_cannot_be_edited_added_or_deleted_by_hand(staff_client, versions):
    assert staff_client.get(reverse("admin:recognizer_modelversion_add")).status_code == 403
    assert staff_client.get(reverse("admin:recognizer_modelversion_delete", args=[versions[0].pk])).status_code == 403
    response = staff_client.post(reverse("admin:recognizer_modelversion_change", args=[versions[0].pk]), {})
    assert response.status_code == 403


def test_running_retrain_shows_progress_and_log_and_refreshes(staff_client, staff_user, versions):
    job = RetrainJob.objects.create(
        state=RetrainJob.State.RUNNING,
        trigger="admin",
        requested_by=staff_user,
        stage="training",
        progress={"stage": "training", "epoch": 2, "epochs": 3, "metrics": {"loss": 0.12}},
        log="03:10:00 Queued by admin\n03:10:05 epoch 1/3 loss 0.30\n",
    )
    listing = staff_client.get(reverse("admin:recognizer_retrainjob_changelist")).content.decode()
    assert "epoch 2" in listing
    page = staff_client.get(reverse("admin:recognizer_retrainjob_change", args=[job.pk])).content.decode()
    assert "epoch 1/3 loss 0.30" in page
    assert "&quot;loss&quot;: 0.12" in page
    assert 'http-equiv="refresh"' in page
    versions_page = staff_client.get(reverse("admin:recognizer_modelversion_changelist")).content.decode()
    assert "Retraining running: training" in versions_page


def test_retrain_button_starts_a_job(staff_client, staff_user, versions):
    CorrectionFactory.create_batch(30, review_state=Correction.Review.ACCEPTED)
    response = staff_client.post(reverse("admin:recognizer_retrainjob_start"))
    job = RetrainJob.objects.get()
    assert response["Location"] == reverse("admin:recognizer_retrainjob_change", args=[job.pk])
    assert (job.trigger, job.requested_by) == ("admin", staff_user)
    # A second one is refused while the first is queued.
    response = staff_client.post(reverse("admin:recognizer_retrainjob_start"), follow=True)
    assert "No retraining started" in response.content.decode()
    assert RetrainJob.objects.count() == 1


def test_a_version_with_measured_calibration_shows_its_reliability_diagram(staff_client, make_version):
    from training.calibration import reliability_bins

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10) * 0.2, size=500)
    bins = reliability_bins(probabilities, probabilities.argmax(1))
    version = make_version(40, metrics={"honesty": {"ece": 0.01, "parent_ece": 0.01, "reliability": bins}})
    plain = make_version(41)

    page = staff_client.get(reverse("admin:recognizer_modelversion_change", args=[version.pk])).content.decode()
    chart = staff_client.get(reverse("dashboard:model_version_chart", args=[version.pk, "reliability"]))

    assert reverse("dashboard:model_version_chart", args=[version.pk, "reliability"]) in page
    assert chart.status_code == 200 and chart["Content-Type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    assert staff_client.get(reverse("dashboard:model_version_chart", args=[plain.pk, "reliability"])).status_code == 404
