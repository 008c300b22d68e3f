"""Request ids and the one log line per request."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from digitsite.observability import HTTP_REQUESTS, REQUEST_ID_HEADER

pytestmark = pytest.mark.django_db


def request_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "digitsite.requests"]


def test_a_sane_request_id_is_kept_returned_and_logged_with_user_view_status_and_time(user_client, user, caplog):
    caplog.set_level(logging.INFO)

    response = user_client.get("/history/", HTTP_X_REQUEST_ID="lb-7f3a.42:9")

    assert response.status_code == 200
    assert response[REQUEST_ID_HEADER] == "lb-7f3a.42:9"
    [line] = request_lines(caplog)
    assert line.request_id == "lb-7f3a.42:9"
    assert (line.user_id, line.view, line.status, line.method, line.path) == (
        user.pk,
        "recognizer:history",
        200,
        "GET",
        "/history/",
    )
    assert line.duration_ms > 0
    # Every other line the request logs carries the id too.
    assert {record.request_id for record in caplog.records if record.name != "digitsite.requests"} <= {"lb-7f3a.42:9"}


@pytest.mark.parametrize("offered", ["", "has space", "x" * 200, 'quote"d', "new\nline", "-starts-with-dash"])
def test_anything_else_gets_a_new_id(client, offered, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/", HTTP_X_REQUEST_ID=offered)

    generated = response[REQUEST_ID_HEADER]
    assert generated != offered and len(generated) == 32
    [line] = request_lines(caplog)
    assert line.request_id == generated
    assert line.user_id is None


def test_each_request_has_its_own_id(client):
    assert client.get("/")[REQUEST_ID_HEADER] != client.get("/")[REQUEST_ID_HEADER]


def test_an_unknown_address_is_counted_under_one_name_not_its_path(client):
    def not_found() -> float:
        return (
            REGISTRY.get_sample_value(
                "digits_http_requests_total", {"view": "<none>", "method": "GET", "status": "404"}
            )
            or 0.0
        )

    before = not_found()
    client.get("/no-such-page-1/")
    client.get("/no-such-page-2/")

    assert not_found() == before + 2
    assert not any("no-such-page" in str(labels) for labels in HTTP_REQUESTS._metrics)


def test_probes_are_logged_quietly(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz")

    assert request_lines(caplog) == []
