"""Small helpers for the REST API tests."""

from __future__ import annotations

SUBMISSIONS = "/api/v1/submissions/"


def assert_error(response, status: int, code: str) -> dict:
    """Check an error answer: its status, a JSON body with a sentence and the stable code."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body
