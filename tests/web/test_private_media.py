"""People's drawings are personal data: no public media URL, only views that check the owner or staff."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import Resolver404, clear_url_caches, resolve, reverse

from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:recognizer_submission_changelist")


@pytest.fixture
def submission(user):
    return SubmissionFactory(owner=user)


@pytest.fixture
def stored_bytes(submission) -> bytes:
    with submission.image.open("rb") as handle:
        return handle.read()


@pytest.fixture
def load_urls(settings):
    """Run the root URL conf again with DEBUG as given: override_settings alone would not re-run urls.py."""

    def load(debug: bool):
        settings.DEBUG = debug
        module = importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
        clear_url_caches()
        return module

    debug = settings.DEBUG
    yield load
    load(debug)


def picture_urls(submission) -> dict[str, str]:
    return {
        "original": reverse("recognizer:submission_original", args=[submission.pk]),
        "input": reverse("recognizer:submission_input", args=[submission.pk]),
        "api image": reverse("api:submission-image", args=[submission.pk]),
    }


@pytest.mark.parametrize("debug", [False, True])
def test_media_is_not_served_with_debug_on_or_off(client, user, submission, load_urls, debug):
    urls = load_urls(debug)
    path = f"/{django_settings.MEDIA_URL.strip('/')}/{submission.image.name}"
    assert not any("media" in str(pattern.pattern) for pattern in urls.urlpatterns)
    with pytest.raises(Resolver404):
        resolve(path)
    assert client.get(path).status_code == 404
    # Not even its owner gets it as a public file.
    client.force_login(user)
    assert client.get(path).status_code == 404


def test_whitenoise_serves_static_files_only(settings):
    media = Path(settings.MEDIA_ROOT).resolve()
    assert getattr(settings, "WHITENOISE_ROOT", None) is None
    for static in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        static = Path(static).resolve()
        assert media != static and static not in media.parents and media not in static.parents


def test_visitors_are_asked_to_log_in(client, submission):
    urls = picture_urls(submission)
    for name in ("original", "input"):
        response = client.get(urls[name])
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name
    assert client.get(urls["api image"]).status_code in (401, 403)


def test_another_user_gets_404_for_every_picture(client, other_user, submission):
    client.force_login(other_user)
    for name, url in picture_urls(submission).items():
        assert client.get(url).status_code == 404, name


def test_the_owner_sees_the_original_through_the_page_view_and_the_api(user_client, submission, stored_bytes):
    urls = picture_urls(submission)
    for name in ("original", "api image"):
        response = user_client.get(urls[name])
        assert response.status_code == 200, name
        assert b"".join(response.streaming_content) == stored_bytes, name
        assert response["Content-Type"] == "image/png", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", name
        assert response["Cache-Control"].startswith("private"), name


def admin_image_sources(html: str) -> list[str]:
    """Every image the page loads from the site, the admin's own static icons aside."""
    static = f"/{django_settings.STATIC_URL.strip('/')}/"
    return [src for src in re.findall(r'<img\b[^>]*\ssrc="(/[^"]+)"', html) if not src.startswith(static)]


def test_staff_see_the_admin_thumbnails_through_the_checked_views(staff_client, submission, stored_bytes):
    listing = staff_client.get(CHANGELIST).content.decode()
    change = staff_client.get(reverse("admin:recognizer_submission_change", args=[submission.pk])).content.decode()
    urls = picture_urls(submission)
    sources = admin_image_sources(listing) + admin_image_sources(change)
    assert urls["original"] in sources
    assert urls["input"] + "?scale=8" in sources
    for source in sources:
        assert resolve(source.split("?")[0]).url_name in ("submission_original", "submission_input"), source
        response = staff_client.get(source)
        assert response.status_code == 200, source
        assert response["Cache-Control"].startswith("private"), source
    original = staff_client.get(urls["original"])
    assert b"".join(original.streaming_content) == stored_bytes


def test_no_page_or_answer_links_to_media(client, user, staff_user, submission):
    hidden = (f"/{django_settings.MEDIA_URL.strip('/')}/", submission.image.name)
    client.force_login(user)
    owner_pages = [reverse("recognizer:history"), reverse("recognizer:draw"), reverse("api:submission-list")]
    owner_pages.append(reverse("api:submission-detail", args=[submission.pk]))
    for url in owner_pages:
        body = client.get(url).content.decode()
        assert not any(text in body for text in hidden), url
    client.force_login(staff_user)
    for url in (CHANGELIST, reverse("admin:recognizer_submission_change", args=[submission.pk])):
        body = client.get(url).content.decode()
        assert not any(text in body for text in hidden), url
