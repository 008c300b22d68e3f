"""Content-Security-Policy: only the site's own scripts run, on every page, the API docs included."""

import re

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def assert_strict_scripts(response, *, inline_styles: bool = False):
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'self'" in policy["img-src"]
    assert policy["style-src"] == (["'self'", "'unsafe-inline'"] if inline_styles else ["'self'"])
    # Nothing else relaxes scripts: no inline, no eval, whatever the directive.
    for name, values in policy.items():
        if name.startswith(("script-src", "default-src")):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"} & set(values), name


def inline_styles(html: str) -> list[str]:
    """Style attributes and style elements: what a strict style-src would refuse."""
    return re.findall(r"<style\b[^>]*>|\sstyle=\"[^\"]*\"", html)


def inline_scripts(html: str) -> list[str]:
    """Script elements without a src: code that a strict script-src would block."""
    return [tag for tag in re.findall(r"<script\b[^>]*>", html) if "src=" not in tag]


@pytest.mark.parametrize("url", ["/", reverse("login"), reverse("signup"), reverse("password_reset")])
def test_pages_for_visitors_allow_only_the_sites_own_scripts(client, url):
    response = client.get(url)

    assert response.status_code == 200
    assert_strict_scripts(response)
    assert inline_scripts(response.content.decode()) == []
    assert inline_styles(response.content.decode()) == []


@pytest.mark.parametrize("name", ["recognizer:draw", "recognizer:history", "password_change"])
def test_pages_for_users_allow_only_the_sites_own_scripts(user_client, name):
    response = user_client.get(reverse(name))

    assert response.status_code == 200
    assert_strict_scripts(response)
    assert inline_scripts(response.content.decode()) == []
    assert inline_styles(response.content.decode()) == []


@pytest.mark.parametrize("url", ["/admin/", "/admin/recognizer/submission/", "/admin/dashboard/"])
def test_admin_pages_work_under_the_policy(staff_client, url, user):
    SubmissionFactory(owner=user)

    response = staff_client.get(url)

    assert response.status_code == 200
    assert_strict_scripts(response)
    assert inline_scripts(response.content.decode()) == []
    assert inline_styles(response.content.decode()) == []


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_the_lockout_page_and_the_api_have_the_header_too(client, user, api):
    for n in range(5):
        locked = client.post(reverse("login"), {"username": user.username, "password": f"guess-{n}"})
    assert locked.status_code == 429
    assert_strict_scripts(locked)
    assert_strict_scripts(client.get("/api/v1/submissions/"))
    assert_strict_scripts(api.get("/api/v1/submissions/"))


def test_the_api_docs_load_with_their_start_up_script_as_a_file(client):
    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert_strict_scripts(page, inline_styles=True)  # Swagger UI sets a style as it starts: that page only
    html = page.content.decode()
    assert "swagger-ui" in html
    assert inline_scripts(html) == []
    # The start-up script is served by the same view, from this site: script-src 'self' allows it.
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert b"/api/schema/" in script.content


def test_the_image_view_keeps_its_own_stricter_policy(api, user):
    submission = SubmissionFactory(owner=user)

    response = api.get(f"/api/v1/submissions/{submission.pk}/image/")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
