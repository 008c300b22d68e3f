import pytest

from recognizer.models import ModelVersion
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_models_lists_versions_newest_first_with_metrics(api, active_version):
    ModelVersion.objects.create(
        number=2,
        name="retrained",
        artifact="models/v2.keras",
        parent=active_version,
        mnist_accuracy=0.9961,
        holdout_accuracy=0.93,
        metrics={"mnist": {"accuracy": 0.9961}},
        gate_passed=True,
    )

    response = api.get("/api/v1/models/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    newest, shipped = body["results"]
    assert newest["number"] == 2
    assert newest["state"] == "candidate"
    assert newest["parent"] == active_version.number
    assert newest["mnist_accuracy"] == 0.9961
    assert newest["metrics"] == {"mnist": {"accuracy": 0.9961}}
    assert newest["gate_passed"] is True
    assert shipped["number"] == active_version.number
    assert shipped["state"] == "active"
    assert shipped["parent"] is None


def test_models_active_is_the_one_answering(api, active_version):
    response = api.get("/api/v1/models/active/")
    assert response.status_code == 200
    assert response.json()["number"] == active_version.number
    assert response.json()["state"] == "active"


def test_models_active_is_404_when_none_is_active(api, active_version):
    ModelVersion.objects.update(state=ModelVersion.State.RETIRED)
    assert_error(api.get("/api/v1/models/active/"), 404, "not_found")
