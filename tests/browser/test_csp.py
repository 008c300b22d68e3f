"""The Content-Security-Policy as Chromium applies it: no page of ours trips it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.factories import CorrectionFactory, SubmissionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_PAGES = [
    "/draw/",
    "/history/",
    "/admin/",
    "/admin/dashboard/",
    "/admin/recognizer/submission/",
    "/admin/recognizer/modelversion/",
    "/admin/recognizer/retrainjob/",
    "/api/docs/",
]


def _violations(page) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return messages


def test_no_page_breaks_the_policy(page, staff_user, password, active_version):
    submission = SubmissionFactory(owner=staff_user)
    CorrectionFactory(submission=SubmissionFactory(owner=staff_user))
    # Flagged answers and a "not a digit" correction bring their own markup: badges, the admin's columns.
    SubmissionFactory(owner=staff_user, several_digits=True)
    CorrectionFactory(submission=SubmissionFactory(owner=staff_user, not_a_digit=True), label=None)
    violations = _violations(page)
    log_in(page, staff_user.username, password)
    for url in [
        *STAFF_PAGES,
        f"/admin/recognizer/submission/{submission.pk}/change/",
        f"/admin/recognizer/modelversion/{active_version.pk}/change/",
    ]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert violations == [], f"{url}: {violations}"
