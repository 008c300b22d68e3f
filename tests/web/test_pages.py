"""The server side of the pages: who sees what, filters, pagination, the model-input image."""

import io

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from recognizer.models import Submission
from recognizer.selectors.submissions import submission_list
from recognizer.web.pages import HISTORY_PAGE_SIZE
from tests.factories import CorrectionFactory, SubmissionFactory
from training.preprocessing import bytes_to_pixels

pytestmark = pytest.mark.django_db

HISTORY = reverse("recognizer:history")
DRAW = reverse("recognizer:draw")


def input_url(submission) -> str:
    return reverse("recognizer:submission_input", args=[submission.pk])


def shown_ids(response) -> list[int]:
    return [s.pk for s in response.context["page"].object_list]


@pytest.mark.parametrize("url", [DRAW, HISTORY])
def test_pages_ask_visitors_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_input_image_asks_visitors_to_log_in(client, user):
    response = client.get(input_url(SubmissionFactory(owner=user)))
    assert response.status_code == 302


def test_draw_page_has_the_canvas_the_result_and_the_correction_row(user_client):
    response = user_client.get(DRAW)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="pad"' in html
    assert 'aria-live="polite"' in html
    assert "Wrong? It was:" in html
    for digit in range(10):
        assert f'data-label="{digit}"' in html
    assert 'type="file"' in html
    assert "csrfmiddlewaretoken" in html
    assert response.cookies.get("csrftoken")


def test_pages_load_no_asset_from_another_site(user_client, user):
    SubmissionFactory(owner=user)
    for url in (DRAW, HISTORY):
        html = user_client.get(url).content.decode()
        assert "//cdn" not in html
        assert 'src="http' not in html and 'href="http' not in html


def test_history_lists_own_submissions_newest_first(user_client, user, other_user):
    older = SubmissionFactory(owner=user)
    newer = SubmissionFactory(owner=user)
    SubmissionFactory(owner=other_user)
    response = user_client.get(HISTORY)
    assert response.status_code == 200
    assert shown_ids(response) == [newer.pk, older.pk]


def test_history_never_shows_someone_elses_submissions(user_client, user, other_user):
    theirs = SubmissionFactory(owner=other_user)
    response = user_client.get(HISTORY)
    assert shown_ids(response) == []
    assert f"submission-{theirs.pk}" not in response.content.decode()


def test_staff_history_is_their_own_too(staff_client, staff_user, user):
    mine = SubmissionFactory(owner=staff_user)
    SubmissionFactory(owner=user)
    assert shown_ids(staff_client.get(HISTORY)) == [mine.pk]


def test_history_shows_prediction_confidence_correction_and_source(user_client, user):
    correction = CorrectionFactory(submission__owner=user, submission__predicted_digit=3, label=8)
    SubmissionFactory(owner=user, source=Submission.Source.UPLOAD, predicted_digit=5, confidence=0.42)
    html = user_client.get(HISTORY).content.decode()
    assert "Corrected to <strong>8</strong>" in html
    assert "42% sure" in html
    assert "Upload" in html and "Canvas" in html
    assert input_url(correction.submission) in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"digit": "3"}, {"three"}),
        ({"corrected": "yes"}, {"corrected"}),
        ({"corrected": "no"}, {"three", "upload"}),
        ({"source": "upload"}, {"upload"}),
        ({"digit": "3", "corrected": "no"}, {"three"}),
        ({"digit": "nonsense", "source": "fax"}, {"three", "upload", "corrected"}),
        ({"digit": "12", "source": "upload"}, {"upload"}),
        ({}, {"three", "upload", "corrected"}),
    ],
)
def test_history_filters(user_client, user, query, expected):
    rows = {
        "three": SubmissionFactory(owner=user, predicted_digit=3),
        "upload": SubmissionFactory(owner=user, predicted_digit=4, source=Submission.Source.UPLOAD),
        "corrected": CorrectionFactory(submission__owner=user, submission__predicted_digit=5).submission,
    }
    response = user_client.get(HISTORY, query)
    assert response.status_code == 200
    assert set(shown_ids(response)) == {rows[name].pk for name in expected}


def test_history_paginates_without_counting(user_client, user):
    SubmissionFactory.create_batch(HISTORY_PAGE_SIZE * 2 + 1, owner=user)
    everything = list(Submission.objects.filter(owner=user).order_by("-created_at", "-id").values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        first = user_client.get(HISTORY)
    # The per-digit stats group and count; the list itself is never counted.
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"] and "GROUP BY" not in q["sql"]]
    assert counts == []
    assert shown_ids(first) == everything[:HISTORY_PAGE_SIZE]
    assert first.context["page"].has_next()
    assert "page=2" in first.content.decode()
    third = user_client.get(HISTORY, {"page": 3})
    assert shown_ids(third) == everything[HISTORY_PAGE_SIZE * 2 :]
    assert not third.context["page"].has_next()
    assert "page=2" in third.content.decode()


def test_history_pages_keep_the_filters(user_client, user):
    SubmissionFactory.create_batch(HISTORY_PAGE_SIZE + 1, owner=user, predicted_digit=2)
    html = user_client.get(HISTORY, {"digit": "2"}).content.decode()
    assert "digit=2&amp;page=2" in html


@pytest.mark.parametrize("page", ["2", "0", "x", "-1", "99999999999999999999999"])
def test_history_pages_past_the_end_or_invalid_are_404(user_client, user, page):
    SubmissionFactory(owner=user)
    assert user_client.get(HISTORY, {"page": page}).status_code == 404


def test_history_list_query_reads_one_page_from_the_owner_index(user_client, user):
    """The list query is bounded (LIMIT page + 1) and ordered by the indexed columns."""
    SubmissionFactory.create_batch(3, owner=user)
    with CaptureQueriesContext(connection) as queries:
        user_client.get(HISTORY)
    sqls = [q["sql"] for q in queries.captured_queries]
    listing = [sql for sql in sqls if "ORDER BY" in sql and "recognizer_submission" in sql]
    assert listing, "no list query"
    assert f"LIMIT {HISTORY_PAGE_SIZE + 1}" in listing[0]
    assert '"pixels"' not in listing[0].split("FROM")[0]


def test_history_shows_how_often_the_model_was_right(user_client, user, other_user):
    SubmissionFactory.create_batch(3, owner=user, predicted_digit=1)
    CorrectionFactory(submission__owner=user, submission__predicted_digit=1, label=7)
    # Confirming the predicted digit is not a mistake; pending and other people's rows do not count.
    CorrectionFactory(submission__owner=user, submission__predicted_digit=5, label=5)
    SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None, confidence=None)
    CorrectionFactory(submission__owner=other_user, submission__predicted_digit=1, label=2)
    response = user_client.get(HISTORY)
    stats = response.context["stats"]
    assert (stats["total"], stats["right"]) == (5, 4)
    per_digit = {row["digit"]: (row["right"], row["total"]) for row in stats["per_digit"]}
    assert per_digit[1] == (3, 4)
    assert per_digit[5] == (1, 1)
    assert per_digit[0] == (0, 0)
    html = response.content.decode()
    assert "Right <strong>4</strong> of 5 times" in html
    assert "3/4" in html


def test_history_with_nothing_yet_invites_drawing(user_client):
    html = user_client.get(HISTORY).content.decode()
    assert "Nothing yet" in html


def test_input_image_is_the_28x28_model_input(user_client, user):
    submission = SubmissionFactory(owner=user)
    response = user_client.get(input_url(submission))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (28, 28)
    # Dark ink on white: the stored input (ink bright) inverted for display.
    assert np.array_equal(255 - np.asarray(image), bytes_to_pixels(bytes(submission.pixels)))


def test_input_image_of_someone_else_is_404(user_client, other_user):
    theirs = SubmissionFactory(owner=other_user)
    assert user_client.get(input_url(theirs)).status_code == 404


def test_input_image_of_a_missing_submission_is_404(user_client):
    assert user_client.get(reverse("recognizer:submission_input", args=[999999])).status_code == 404


def test_draw_page_offers_not_a_digit_beside_the_digits_and_a_place_for_the_verdict(user_client):
    html = user_client.get(DRAW).content.decode()
    assert 'data-label="none"' in html
    assert 'aria-label="It was not a digit"' in html
    assert 'id="result-verdict"' in html and 'id="result-closest"' in html


def _row(html: str, submission) -> str:
    """The history row of one submission, as rendered."""
    start = html.index(f'id="submission-{submission.pk}"')
    return html[start : html.index("</li>", start)]


def test_history_shows_the_verdict_never_a_flagged_digit_as_the_answer(user_client, user):
    flagged = SubmissionFactory(owner=user, not_a_digit=True, predicted_digit=4, confidence=0.37)
    several = SubmissionFactory(owner=user, several_digits=True, predicted_digit=2)
    digit = SubmissionFactory(owner=user, checked_digit=True, predicted_digit=6)
    unchecked = SubmissionFactory(owner=user, predicted_digit=9)
    html = user_client.get(HISTORY).content.decode()

    row = _row(html, flagged)
    assert 'data-is-digit="false"' in row
    assert '<span class="badge flagged">Not a digit</span>' in row
    assert "closest digit: 4, 37%" in row
    assert "submission-digit" not in row and "% sure" not in row
    assert '<span class="badge flagged">Several digits</span>' in _row(html, several)
    assert 'data-is-digit="true"' in _row(html, digit)
    assert 'class="badge digit"' in _row(html, digit)
    assert 'data-is-digit=""' in _row(html, unchecked)
    assert "badge" not in _row(html, unchecked)
    assert '<span class="submission-digit" title="Predicted digit">9</span>' in _row(html, unchecked)


def test_history_shows_a_not_a_digit_correction_and_offers_it(user_client, user):
    marked = CorrectionFactory(submission__owner=user, label=None).submission
    plain = SubmissionFactory(owner=user)
    html = user_client.get(HISTORY).content.decode()

    row = _row(html, marked)
    assert 'data-correction="none"' in row
    assert "Marked <strong>not a digit</strong>" in row
    assert '<option value="none" selected>Not a digit</option>' in row
    assert '<option value="none">Not a digit</option>' in _row(html, plain)


def test_history_shows_a_number_with_pieces_marked_not_a_digit(user_client, user):
    from recognizer.services.corrections import correction_number_set
    from tests.factories import NumberSubmissionFactory

    marked = NumberSubmissionFactory(owner=user, number="20126")
    correction_number_set(submission=marked, number="2026", not_digits=[2])
    nothing = NumberSubmissionFactory(owner=user, number="71")
    correction_number_set(submission=nothing, number="", not_digits=[0, 1])
    html = user_client.get(HISTORY).content.decode()

    assert "Corrected to <strong>2026</strong> (1 piece not a digit)" in _row(html, marked)
    assert 'value="2026"' in _row(html, marked)  # typing over it keeps the mark while it fits
    assert "Corrected to <strong>no digits</strong> (2 pieces not a digit)" in _row(html, nothing)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"is_digit": "true"}, {"digit"}),
        ({"is_digit": "false"}, {"not_a_digit", "several"}),
        ({"is_digit": "false", "corrected": "yes"}, {"several"}),
        ({"is_digit": "perhaps"}, {"digit", "not_a_digit", "several", "unchecked"}),
        ({}, {"digit", "not_a_digit", "several", "unchecked"}),
    ],
)
def test_history_filters_digits_and_not_digits(user_client, user, query, expected):
    rows = {
        "digit": SubmissionFactory(owner=user, checked_digit=True),
        "not_a_digit": SubmissionFactory(owner=user, not_a_digit=True),
        "several": CorrectionFactory(submission__owner=user, submission__several_digits=True, label=None).submission,
        "unchecked": SubmissionFactory(owner=user),
    }
    response = user_client.get(HISTORY, query)
    assert set(shown_ids(response)) == {rows[name].pk for name in expected}
    html = response.content.decode()
    assert '<option value="false"' in html and ">Not digits</option>" in html


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_the_digits_filter_reads_the_owner_verdict_index(user):
    SubmissionFactory.create_batch(3, owner=user, not_a_digit=True)
    # The page's first query: one page of ids, plus one, through the filters.
    ids = submission_list(user=user, owner_id=user.pk, is_digit=False).values_list("pk", flat=True)
    plan = ids[: HISTORY_PAGE_SIZE + 1].explain()
    assert "submission_owner_is_digit" in plan, plan


def test_history_counts_not_a_digit_corrections_against_a_digit_answer(user_client, user):
    CorrectionFactory(submission__owner=user, submission__predicted_digit=1, label=None)
    CorrectionFactory(submission__owner=user, submission__predicted_digit=2, submission__not_a_digit=True, label=None)
    stats = user_client.get(HISTORY).context["stats"]
    assert (stats["total"], stats["right"]) == (2, 1)
