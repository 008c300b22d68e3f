import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.helpers import SUBMISSIONS, assert_error
from tests.images import digit_png

TOKEN_URL = "/api/v1/auth/token/"

pytestmark = pytest.mark.django_db


def test_username_and_password_give_a_token_that_authenticates(anonymous, user, password):
    response = anonymous.post(TOKEN_URL, {"username": user.username, "password": password}, format="json")

    assert response.status_code == 200
    key = response.json()["token"]
    assert key == Token.objects.get(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(SUBMISSIONS).status_code == 200


def test_asking_twice_gives_the_same_token(anonymous, user, password):
    first = anonymous.post(TOKEN_URL, {"username": user.username, "password": password}).json()["token"]
    second = anonymous.post(TOKEN_URL, {"username": user.username, "password": password}).json()["token"]
    assert first == second


def test_a_stale_token_header_does_not_block_getting_a_new_one(user, password):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = client.post(TOKEN_URL, {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [{"username": "alice", "password": "wrong"}, {"username": "nobody", "password": "correct horse battery"}],
)
def test_wrong_credentials_are_400(anonymous, user, credentials):
    assert_error(anonymous.post(TOKEN_URL, credentials, format="json"), 400, "invalid_credentials")


def test_an_inactive_account_gets_no_token(anonymous, user, password):
    user.is_active = False
    user.save()
    assert_error(
        anonymous.post(TOKEN_URL, {"username": user.username, "password": password}), 400, "invalid_credentials"
    )


def test_missing_fields_are_400(anonymous):
    body = assert_error(anonymous.post(TOKEN_URL, {"username": "alice"}, format="json"), 400, "required")
    assert body["fields"] == {"password": ["This field is required."]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", SUBMISSIONS),
        ("post", SUBMISSIONS),
        ("post", f"{SUBMISSIONS}batch/"),
        ("get", f"{SUBMISSIONS}1/"),
        ("delete", f"{SUBMISSIONS}1/"),
        ("get", f"{SUBMISSIONS}1/image/"),
        ("put", f"{SUBMISSIONS}1/correction/"),
        ("delete", f"{SUBMISSIONS}1/correction/"),
        ("get", "/api/v1/models/"),
        ("get", "/api/v1/models/active/"),
    ],
)
def test_unauthenticated_calls_get_401_with_www_authenticate(anonymous, method, path):
    response = getattr(anonymous, method)(path)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = anonymous.get(SUBMISSIONS)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Token"


def test_session_auth_needs_the_csrf_token_for_writes(user, password):
    # The web pages call the API with the session cookie and an X-CSRFToken header.
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username=user.username, password=password)
    data_url = "data:image/png;base64," + base64.b64encode(digit_png(0)[:100]).decode()  # truncated

    without = browser.post(f"{SUBMISSIONS}?wait=0", {"image": data_url}, format="json")
    assert_error(without, 403, "csrf_failed")

    browser.get("/accounts/login/")  # sets the csrftoken cookie, as the page does
    csrf = browser.cookies["csrftoken"].value
    with_token = browser.post(f"{SUBMISSIONS}?wait=0", {"image": data_url}, format="json", HTTP_X_CSRFTOKEN=csrf)
    # Past authentication and CSRF: the image itself is what gets judged.
    assert_error(with_token, 400, "invalid_image")
    assert browser.get(SUBMISSIONS).status_code == 200


def test_session_auth_with_csrf_creates_corrects_and_deletes(user, password):
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username=user.username, password=password)
    browser.get("/accounts/login/")
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    upload = {"image": SimpleUploadedFile("digit.png", digit_png(0), content_type="image/png"), "source": "upload"}

    created = browser.post(f"{SUBMISSIONS}?wait=0", upload, format="multipart", **csrf)
    # The embedded default predicts before it stores: done at once, whatever the wait.
    assert created.status_code == 201, created.content
    url = f"{SUBMISSIONS}{created.json()['id']}/"
    assert browser.put(f"{url}correction/", {"label": 4}, format="json", **csrf).status_code == 200
    assert browser.delete(f"{url}correction/", **csrf).status_code == 204
    assert browser.delete(url, **csrf).status_code == 204


def test_a_token_costs_no_query_once_warm(api, active_version):
    assert api.get("/api/v1/models/active/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/models/active/").status_code == 200
    # Only the endpoint's own read: authentication and throttling add none.
    assert len(queries) == 1 and "recognizer_modelversion" in queries[0]["sql"], queries.captured_queries


@pytest.mark.parametrize("change", ["delete", "rotate", "deactivate", "delete-user"])
def test_a_revoked_token_is_refused_at_once_though_it_was_cached(api, user, change):
    assert api.get(SUBMISSIONS).status_code == 200
    token = Token.objects.get(user=user)
    if change == "delete":
        token.delete()
    elif change == "rotate":
        token.delete()
        fresh = Token.objects.create(user=user)
    elif change == "deactivate":
        user.is_active = False
        user.save()
    else:
        user.delete()
    assert_error(api.get(SUBMISSIONS), 401, "authentication_failed")
    if change == "rotate":
        api.credentials(HTTP_AUTHORIZATION=f"Token {fresh.key}")
        assert api.get(SUBMISSIONS).status_code == 200
