"""Every answer under /api/ is JSON: unknown addresses and CSRF failures included."""

import json

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from recognizer.api.errors import csrf_failure
from tests.api.helpers import SUBMISSIONS, assert_error

pytestmark = pytest.mark.django_db

# 19 digits: longer than the id converter takes (1 to 18), so no route matches.
TOO_LONG_ID = "1000000000000000000"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_address_no_route_matches_is_a_json_404_whatever_the_method(method):
    # A browser-like client: the CSRF middleware is active and there is no token.
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(f"{SUBMISSIONS}{TOO_LONG_ID}/")

    assert_error(response, 404, "not_found")


def test_an_unknown_address_is_a_json_404_for_a_logged_in_browser_without_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert_error(client.delete(f"{SUBMISSIONS}{TOO_LONG_ID}/"), 404, "not_found")
    assert_error(client.post("/api/v2/anything/", {}), 404, "not_found")


def test_an_unknown_address_is_a_json_404_with_a_token(api):
    assert_error(api.delete(f"{SUBMISSIONS}{TOO_LONG_ID}/correction/"), 404, "not_found")


def test_a_session_write_without_the_csrf_token_is_a_json_403_csrf_failed(user):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)

    body = assert_error(browser.post(f"{SUBMISSIONS}?wait=0", {}, format="json"), 403, "csrf_failed")
    assert "CSRF" in body["detail"]
    assert_error(browser.delete(f"{SUBMISSIONS}1/"), 403, "csrf_failed")
    # Reading needs no token.
    assert browser.get(SUBMISSIONS).status_code == 200


def test_a_session_write_with_the_csrf_token_gets_past_the_check(user):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/accounts/login/")  # sets the csrftoken cookie, as the page does

    response = browser.delete(f"{SUBMISSIONS}999/", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)

    assert_error(response, 404, "not_found")


def test_the_csrf_failure_view_answers_json_under_api_and_the_html_page_elsewhere():
    factory = RequestFactory()

    api = csrf_failure(factory.post("/api/v1/submissions/"), reason="CSRF cookie not set.")
    assert api.status_code == 403
    assert api["Content-Type"] == "application/json"
    assert json.loads(api.content) == {"detail": "CSRF check failed: CSRF cookie not set.", "code": "csrf_failed"}

    page = csrf_failure(factory.post("/accounts/login/"), reason="CSRF cookie not set.")
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")


def test_a_page_form_without_the_csrf_token_still_gets_the_html_403(user, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "_auth_user_id" not in client.session
