"""The OpenAPI schema, the docs page, and schemathesis fuzzing the API against the schema."""

import contextlib

import pytest
import schemathesis
import yaml
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode, checks

from tests.factories import CorrectionFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

CONTRACT = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/submissions/": {"get", "post"},
    "/api/v1/submissions/batch/": {"post"},
    "/api/v1/submissions/{submission_id}/": {"get", "delete"},
    "/api/v1/submissions/{submission_id}/correction/": {"put", "delete"},
    "/api/v1/submissions/{submission_id}/image/": {"get"},
    "/api/v1/models/": {"get"},
    "/api/v1/models/active/": {"get"},
}


def test_the_schema_documents_the_whole_contract(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    for path, methods in CONTRACT.items():
        assert methods <= set(schema["paths"][path]), path
    create = schema["paths"]["/api/v1/submissions/"]["post"]
    assert set(create["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {"201", "202", "400", "401", "413", "415", "429"} <= set(create["responses"])
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_schema_documents_the_verdict_and_not_a_digit_corrections(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]

    prediction = components["Prediction"]["properties"]
    assert prediction["is_digit"]["type"] == "boolean" and prediction["is_digit"]["nullable"]
    assert prediction["reason"]["nullable"]
    assert {"$ref": "#/components/schemas/ReasonEnum"} in prediction["reason"]["oneOf"]
    assert components["ReasonEnum"]["enum"] == ["not_a_digit", "several_digits"]
    for field in ("digit", "is_digit", "reason"):
        assert prediction[field]["description"], field
    assert components["Correction"]["properties"]["label"]["nullable"]

    listing = schema["paths"]["/api/v1/submissions/"]["get"]["parameters"]
    (is_digit,) = [p for p in listing if p["name"] == "is_digit"]
    assert is_digit["in"] == "query" and is_digit["schema"]["type"] == "boolean" and is_digit["description"]

    put = schema["paths"]["/api/v1/submissions/{submission_id}/correction/"]["put"]
    body = put["requestBody"]["content"]["application/json"]
    label = components[body["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]["label"]
    assert label["nullable"] and "not a digit" in label["description"]
    assert {"label": None} in [example["value"] for example in body["examples"].values()]


def test_every_operation_is_under_its_resource_tag(client):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    tags = {
        (path, method): operation["tags"] for path, methods in paths.items() for method, operation in methods.items()
    }
    # Retraining is about models: its operations sit with the model list, not under a catch-all "v1".
    assert tags[("/api/v1/models/retrain/", "post")] == ["models"]
    assert tags[("/api/v1/models/retrain/{job_id}/", "get")] == ["models"]
    assert tags[("/api/v1/models/", "get")] == ["models"]
    assert tags[("/api/v1/predictions/", "post")] == ["predictions"]
    assert {tag for operation_tags in tags.values() for tag in operation_tags} == {
        "auth",
        "predictions",
        "submissions",
        "models",
    }


def test_the_docs_page_is_served_by_the_app_itself(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


# --- schemathesis: a real client generating requests from the served schema ---

SCHEMA_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def fuzz_headers(transactional_db):
    """Alice's token, with a few objects so that some generated ids exist."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    for owner in (alice, bob):
        SubmissionFactory(owner=owner)
        CorrectionFactory(submission__owner=owner)
        # Answers with a verdict and a "not a digit" correction must fit the schema too.
        CorrectionFactory(submission__owner=owner, submission__several_digits=True, label=None)
    return {"Authorization": f"Token {Token.objects.create(user=alice).key}"}


def _fuzz(strategy, checks_to_run: list, headers: dict, examples: int) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=checks_to_run)

    run()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(fuzz_headers):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= sum(len(methods) for methods in CONTRACT.values())

    for operation in operations:
        # The documented examples (a real digit for the create endpoints) must answer as documented.
        for strategy in schema.get_strategies_from_examples(operation):
            _fuzz(strategy, SCHEMA_CHECKS, fuzz_headers, examples=1)
        # Valid requests: every answer documented, in the documented shape.
        _fuzz(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), SCHEMA_CHECKS, fuzz_headers, examples=20)
        # Invalid requests: refused with a 4xx, never a 5xx. Some operations have nothing that
        # can be made invalid (only optional query integers).
        with contextlib.suppress(Unsatisfiable):
            negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
            _fuzz(negative, [checks.not_a_server_error], fuzz_headers, examples=10)


def test_the_schema_documents_numbers(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    prediction = components["Prediction"]["properties"]
    assert prediction["number"]["nullable"] and "leading zeros" in prediction["number"]["description"]
    assert prediction["digits"]["nullable"] and prediction["digits"]["items"]["$ref"].endswith("/Digit")
    assert prediction["probabilities"]["nullable"] and prediction["digit"]["nullable"]
    digit = components["Digit"]["properties"]
    assert {"digit", "confidence", "probabilities", "is_digit", "reason", "box", "position"} <= set(digit)
    assert digit["box"]["minItems"] == digit["box"]["maxItems"] == 4
    assert components["Submission"]["properties"]["kind"]
    for path, schema_name in (("/api/v1/submissions/", "SubmissionUpload"), ("/api/v1/predictions/", None)):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert "kind" in components[body["$ref"].rsplit("/", 1)[-1]]["properties"], (path, schema_name)
    batch = schema["paths"]["/api/v1/submissions/batch/"]["post"]["requestBody"]["content"]["application/json"]
    assert "kind" in components[batch["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    listing = schema["paths"]["/api/v1/submissions/"]["get"]["parameters"]
    assert [p["schema"]["enum"] for p in listing if p["name"] == "kind"] == [["digit", "number"]]
    put = schema["paths"]["/api/v1/submissions/{submission_id}/correction/"]["put"]
    correction_input = components[put["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]]
    assert {"label", "number", "position"} <= set(correction_input["properties"])
    assert components["Correction"]["properties"]["number"]["nullable"]
