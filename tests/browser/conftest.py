"""Chromium (Debian's, through Playwright) against pytest-django's live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make next to it are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The first prediction loads TensorFlow and the model in the live server.
PREDICTION_TIMEOUT_MS = 180_000
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def chromium():
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"Chromium not found at {path}: apt-get install chromium, or set CHROMIUM_PATH.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context_options() -> dict:
    """Options for the browser context; tests override this fixture for phones."""
    return {"viewport": {"width": 1100, "height": 900}, "color_scheme": "light"}


# A drawing never stored is stored as its page closes (a keepalive POST): a test that draws ends by storing it
# (Predict, Clear), or that request would reach the live server while the database is being emptied.
@pytest.fixture
def page(chromium, context_options, live_server):
    context = chromium.new_context(base_url=live_server.url, **context_options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/draw/")


@pytest.fixture
def drawing_page(page, user, password):
    """A person logged in and looking at the draw page."""
    log_in(page, user.username, password)
    return page
