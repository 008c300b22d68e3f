"""The submission admin as a review queue: columns, order, filters, and the query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recognizer.admin.submissions import SubmissionAdmin
from recognizer.models import Correction, Submission
from tests.factories import CorrectionFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:recognizer_submission_changelist")


def listed_ids(response) -> list[int]:
    return [row.pk for row in response.context["cl"].result_list]


def test_queue_puts_unreviewed_corrections_first_then_least_confident(staff_client, queue):
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    expected = ["pending", "rejected", "accepted", "unsure", "middling", "confident"]
    ids = {name: (row.submission.pk if hasattr(row, "submission") else row.pk) for name, row in queue.items()}
    assert listed_ids(response) == [ids[name] for name in expected]


def test_queue_rows_show_both_thumbnails_prediction_correction_and_review(staff_client, queue):
    response = staff_client.get(CHANGELIST)
    html = response.content.decode()
    pending = queue["pending"]
    assert html.count('src="data:image/png;base64,') == len(queue)
    # The original through the view that checks owner or staff, never a public media address.
    assert reverse("recognizer:submission_original", args=[pending.submission.pk]) in html
    assert pending.submission.image.name not in html
    assert f"<b>{pending.submission.predicted_digit}</b> (90.0%)" in html
    assert f"<b>{pending.label}</b>" in html
    assert "Pending review" in html and "Accepted for training" in html
    assert "carol" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=done", ["pending", "rejected", "accepted", "unsure", "middling", "confident"]),
        ("has_correction=yes", ["pending", "rejected", "accepted"]),
        ("has_correction=no", ["unsure", "middling", "confident"]),
        ("review=pending", ["pending"]),
        ("review=accepted", ["accepted"]),
        ("review=none", ["unsure", "middling", "confident"]),
        ("confidence=lt50", ["rejected", "accepted", "unsure"]),
        ("confidence=50-80", ["middling"]),
        ("confidence=80-95", ["pending"]),
        ("confidence=ge95", ["confident"]),
    ],
)
def test_queue_filters(staff_client, queue, query, expected):
    ids = {name: getattr(row, "submission", row).pk for name, row in queue.items()}
    response = staff_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert listed_ids(response) == [ids[name] for name in expected]


def test_queue_filters_by_digits_model_version_and_date(staff_client, queue, versions):
    accepted = queue["accepted"]
    response = staff_client.get(f"{CHANGELIST}?corrected_to={accepted.label}&review=accepted")
    assert listed_ids(response) == [accepted.submission.pk]
    unsure = queue["unsure"]
    response = staff_client.get(f"{CHANGELIST}?predicted={unsure.predicted_digit}")
    assert unsure.pk in listed_ids(response)
    assert all(row.predicted_digit == unsure.predicted_digit for row in response.context["cl"].result_list)
    response = staff_client.get(f"{CHANGELIST}?model_version__id__exact={versions[0].pk}")
    assert listed_ids(response) == [queue["middling"].pk]
    old_day = "created_at__gte=2000-01-01+00:00:00%2B00:00&created_at__lt=2000-01-02+00:00:00%2B00:00"
    response = staff_client.get(f"{CHANGELIST}?{old_day}")
    assert listed_ids(response) == []


def test_queue_search_by_owner(staff_client, queue):
    SubmissionFactory(owner=UserFactory(username="dave"))
    response = staff_client.get(f"{CHANGELIST}?q=carol")
    assert len(listed_ids(response)) == len(queue)


def fill_queue(count: int, versions) -> None:
    """`count` submissions by 5 owners and 3 versions, a third of them corrected."""
    owners = [UserFactory() for _ in range(5)]
    for index in range(count):
        fields = {"owner": owners[index % 5], "model_version": versions[index % 3], "confidence": (index % 97) / 100}
        if index % 3:
            SubmissionFactory(**fields)
        else:
            state = list(Correction.Review.values)[index % 3 and 1]
            CorrectionFactory(review_state=state, **{f"submission__{k}": v for k, v in fields.items()})


def test_changelist_makes_the_same_few_queries_for_10_or_100_rows(
    staff_client, versions, django_assert_max_num_queries
):
    fill_queue(10, versions)
    staff_client.get(CHANGELIST)  # warm the session and content types
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(CHANGELIST).status_code == 200
    fill_queue(100, versions)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = staff_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 100
    # Session, user, the model version filter's choices, count, rows: no query per row.
    assert len(small.captured_queries) <= 6, [q["sql"][:80] for q in small.captured_queries]


def test_change_page_shows_the_input_large_and_the_correction(staff_client, queue):
    correction = queue["pending"]
    response = staff_client.get(reverse("admin:recognizer_submission_change", args=[correction.submission.pk]))
    html = response.content.decode()
    assert reverse("recognizer:submission_input", args=[correction.submission.pk]) + "?scale=8" in html
    assert reverse("recognizer:submission_original", args=[correction.submission.pk]) in html
    assert "Pending review" in html
    assert 'name="_save"' not in html  # read-only: changes go through the actions


@pytest.mark.parametrize("column", range(2, len(SubmissionAdmin.list_display) + 1))
def test_queue_sorts_by_every_sortable_column(staff_client, queue, column):
    for order in (str(column), f"-{column}"):
        assert staff_client.get(f"{CHANGELIST}?o={order}").status_code == 200


def test_review_column_sorts_waiting_corrections_first(staff_client, queue):
    review_column = list(SubmissionAdmin.list_display).index("review_state") + 1
    response = staff_client.get(f"{CHANGELIST}?o={review_column}")
    assert listed_ids(response)[0] == queue["pending"].submission.pk


@pytest.mark.parametrize("status", [Submission.Status.PENDING, Submission.Status.FAILED])
def test_change_page_of_a_submission_without_prediction(staff_client, status):
    submission = SubmissionFactory(status=status, predicted_digit=None, confidence=None, probabilities=None)
    response = staff_client.get(reverse("admin:recognizer_submission_change", args=[submission.pk]))
    assert response.status_code == 200
    listing = staff_client.get(CHANGELIST).content.decode()
    assert submission.get_status_display() in listing


# The detector's verdict and "not a digit" corrections.


@pytest.fixture
def verdicts(db):
    """One submission per verdict, and "not a digit" corrections of a digit answer and of a flagged one."""
    return {
        "digit": SubmissionFactory(checked_digit=True, predicted_digit=2, confidence=0.99),
        "not_a_digit": SubmissionFactory(not_a_digit=True, predicted_digit=4, confidence=0.6),
        "several": SubmissionFactory(several_digits=True, predicted_digit=1, confidence=0.5),
        "unchecked": SubmissionFactory(predicted_digit=8, confidence=0.98),
        "said_not_a_digit": CorrectionFactory(label=None, submission__predicted_digit=3, submission__confidence=0.9),
        "confirmed_flag": CorrectionFactory(
            label=None, submission__not_a_digit=True, submission__predicted_digit=5, submission__confidence=0.4
        ),
    }


def _ids(verdicts: dict, *names: str) -> set[int]:
    return {getattr(verdicts[name], "submission", verdicts[name]).pk for name in names}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("is_digit=true", {"digit"}),
        ("is_digit=false", {"not_a_digit", "several", "confirmed_flag"}),
        ("is_digit=not_a_digit", {"not_a_digit", "confirmed_flag"}),
        ("is_digit=several_digits", {"several"}),
        ("is_digit=unknown", {"unchecked", "said_not_a_digit"}),
        ("corrected_to=none", {"said_not_a_digit", "confirmed_flag"}),
        ("corrected_to=none&is_digit=unknown", {"said_not_a_digit"}),
    ],
)
def test_queue_filters_on_the_verdict_and_on_not_a_digit_corrections(staff_client, verdicts, query, expected):
    response = staff_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert set(listed_ids(response)) == _ids(verdicts, *expected)


def _cell(html: str, submission, column: str) -> str:
    """The text of one column's cell in one submission's row of the list."""
    row = html[html.index(f'value="{submission.pk}"') :]
    start = row.index(f'class="field-{column}"')
    return row[row.index(">", start) + 1 : row.index("</td>", start)]


def test_queue_shows_the_verdict_and_not_a_digit_corrections(staff_client, verdicts):
    html = staff_client.get(CHANGELIST).content.decode()
    assert _cell(html, verdicts["digit"], "verdict") == "✓ digit"
    assert _cell(html, verdicts["not_a_digit"], "verdict") == "not a digit"
    assert _cell(html, verdicts["several"], "verdict") == "several digits"
    assert _cell(html, verdicts["unchecked"], "verdict") == "–"
    # A "not a digit" correction disagrees with a digit answer and confirms a flagged one.
    assert _cell(html, verdicts["said_not_a_digit"].submission, "correction_label") == "<b>not a digit</b>"
    assert _cell(html, verdicts["confirmed_flag"].submission, "correction_label") == "<b>not a digit</b> (confirms)"


def test_not_a_digit_corrections_wait_at_the_head_of_the_queue(staff_client, verdicts):
    first_two = listed_ids(staff_client.get(CHANGELIST))[:2]
    assert set(first_two) == _ids(verdicts, "said_not_a_digit", "confirmed_flag")


def test_change_page_shows_the_verdict_and_earlier_labels_as_words(staff_client, staff_user):
    correction = CorrectionFactory(label=None, submission__several_digits=True)
    Correction.objects.filter(pk=correction.pk).update(
        history=[{"label": None, "until": "x"}, {"label": 4, "until": "y"}]
    )
    response = staff_client.get(reverse("admin:recognizer_submission_change", args=[correction.submission.pk]))
    html = response.content.decode()
    assert "several digits" in html
    assert "earlier labels: not a digit, 4" in html
    assert ">not a digit</a>; Pending review" in html


def test_the_correction_list_says_not_a_digit_and_filters_it(staff_client):
    not_a_digit = CorrectionFactory(label=None)
    seven = CorrectionFactory(label=7)
    url = reverse("admin:recognizer_correction_changelist")
    html = staff_client.get(url).content.decode()
    assert '<td class="field-label_column">not a digit</td>' in html
    assert '<td class="field-label_column">7</td>' in html
    assert [c.pk for c in staff_client.get(f"{url}?label=none").context["cl"].result_list] == [not_a_digit.pk]
    assert [c.pk for c in staff_client.get(f"{url}?label=7").context["cl"].result_list] == [seven.pk]
    page = staff_client.get(reverse("admin:recognizer_correction_change", args=[not_a_digit.pk]))
    assert page.status_code == 200 and "not a digit" in page.content.decode()


# Numbers: their digits with boxes, inputs and labels, the changed ones marked.


@pytest.fixture
def corrected_number(user):
    from django.core.files.base import ContentFile

    from recognizer.services.corrections import correction_digit_set
    from tests.factories import NumberSubmissionFactory
    from tests.images import number_png

    submission = NumberSubmissionFactory(
        owner=user, number="2028", image=ContentFile(number_png("2026"), name="number.png")
    )
    correction_digit_set(submission=submission, position=3, label=6)
    return submission


def test_queue_shows_a_number_with_each_digit_and_its_correction(staff_client, corrected_number):
    html = staff_client.get(CHANGELIST + "?kind=number").content.decode()
    assert "<b>2028</b>" in html and "<b>2026</b>" in html
    assert html.count("number-thumb") == 4 and html.count("number-thumb changed") == 1


def test_change_page_of_a_number_draws_its_boxes_and_marks_the_changed_digit(staff_client, corrected_number):
    url = reverse("admin:recognizer_submission_change", args=[corrected_number.pk])
    html = staff_client.get(url).content.decode()
    assert html.count('<rect class="digit-box') == 4 and html.count('<rect class="digit-box changed"') == 1
    assert '<svg class="number-original" viewBox="0 0 ' in html
    assert "6 (changed)" in html and html.count("(confirms)") == 3
    first = corrected_number.digits.get(position=0)
    assert f'x="{first.x}" y="{first.y}" width="{first.width}" height="{first.height}"' in html
    assert reverse("recognizer:submission_input", args=[corrected_number.pk]) + "?scale=4" in html
    # The strip of the digits' inputs is served too.
    strip = staff_client.get(reverse("recognizer:submission_input", args=[corrected_number.pk]) + "?scale=2")
    assert strip.status_code == 200 and strip["Content-Type"] == "image/png"


# A number's pieces marked not a digit, and its correction reviewed digit by digit.


@pytest.fixture
def marked_number(user):
    from django.core.files.base import ContentFile

    from recognizer.services.corrections import correction_digit_set
    from tests.factories import NumberSubmissionFactory
    from tests.images import number_png

    submission = NumberSubmissionFactory(
        owner=user, number="20126", image=ContentFile(number_png("2026"), name="number.png")
    )
    correction_digit_set(submission=submission, position=2, label=None)
    return submission


def test_the_queue_and_the_page_show_a_piece_marked_not_a_digit(staff_client, marked_number):
    html = staff_client.get(CHANGELIST + "?kind=number").content.decode()
    assert "<b>2026 (not a digit at 2)</b>" in html
    assert html.count("number-thumb changed not-digit") == 1 and html.count("number-thumb") == 5
    assert reverse("admin:recognizer_submission_review_digits", args=[marked_number.pk]) in html

    html = staff_client.get(reverse("admin:recognizer_submission_change", args=[marked_number.pk])).content.decode()
    assert html.count('<rect class="digit-box changed not-digit"') == 1
    assert '<text class="digit-box-label" x="130" y="12">×</text>' in html
    assert '<tr class="changed not-digit"><td>2</td>' in html and "<td>not a digit</td>" in html
    assert html.count("(confirms)") == 4 and "Review digit by digit" in html


def _review_url(submission) -> str:
    return reverse("admin:recognizer_submission_review_digits", args=[submission.pk])


def test_an_admin_rejects_one_digit_and_accepts_the_rest_from_the_page(staff_client, staff_user, corrected_number):
    from django.contrib.admin.models import LogEntry

    page = staff_client.get(_review_url(corrected_number))
    html = page.content.decode()
    assert page.status_code == 200 and html.count('name="reject"') == 4 and " checked" not in html

    response = staff_client.post(_review_url(corrected_number), {"reject": ["3"]}, follow=True)

    correction = Correction.objects.get(submission=corrected_number)
    assert correction.review_state == Correction.Review.ACCEPTED and correction.rejected_digits == [3]
    assert correction.reviewed_by == staff_user
    assert response.redirect_chain[-1][0] == reverse("admin:recognizer_submission_change", args=[corrected_number.pk])
    html = response.content.decode()
    assert "accepted for training, rejected digits: 3" in html
    assert '<tr class="changed rejected"><td>3</td>' in html and html.count("<td>Accepted for training</td>") == 3
    assert LogEntry.objects.get(object_id=str(corrected_number.pk)).change_message.startswith("Reviewed digit by digit")
    # The form shows what is decided, and the queue says which digit was rejected.
    assert staff_client.get(_review_url(corrected_number)).content.decode().count(" checked") == 1
    assert "rejected at 3" in staff_client.get(CHANGELIST + "?kind=number").content.decode()


def test_rejecting_every_digit_from_the_page_rejects_the_correction(staff_client, corrected_number):
    staff_client.post(_review_url(corrected_number), {"reject": ["0", "1", "2", "3"]})
    correction = Correction.objects.get(submission=corrected_number)
    assert correction.review_state == Correction.Review.REJECTED and correction.rejected_digits == []


@pytest.mark.parametrize("reject", [["x"], ["4"], ["1", "1"]])
def test_a_bad_digit_review_changes_nothing_and_says_why(staff_client, corrected_number, reject):
    response = staff_client.post(_review_url(corrected_number), {"reject": reject}, follow=True)
    assert response.redirect_chain[-1][0] == _review_url(corrected_number)
    assert "Not reviewed" in response.content.decode()
    assert Correction.objects.get(submission=corrected_number).review_state == Correction.Review.PENDING


def test_only_a_corrected_number_is_reviewed_digit_by_digit(staff_client, user):
    from tests.factories import NumberSubmissionFactory

    digit = CorrectionFactory(submission__owner=user, label=3).submission
    uncorrected = NumberSubmissionFactory(owner=user)
    for submission in (digit, uncorrected):
        assert staff_client.get(_review_url(submission)).status_code == 404
        assert staff_client.post(_review_url(submission), {"reject": ["0"]}).status_code == 404


def test_the_digit_review_needs_the_change_permission(client, user, corrected_number):
    from django.contrib.auth.models import Permission

    assert client.get(_review_url(corrected_number)).status_code == 302  # anyone else: the admin login
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__startswith="view_", content_type__app_label="recognizer")
    )
    client.force_login(viewer)
    assert client.post(_review_url(corrected_number), {"reject": ["3"]}).status_code == 403
    assert Correction.objects.get(submission=corrected_number).review_state == Correction.Review.PENDING


def test_the_not_a_digit_filters_leave_corrected_numbers_out(staff_client, marked_number):
    said = CorrectionFactory(label=None)
    queue = staff_client.get(CHANGELIST + "?corrected_to=none").context["cl"].result_list
    assert [s.pk for s in queue] == [said.submission_id]
    corrections = reverse("admin:recognizer_correction_changelist") + "?label=none"
    assert [c.pk for c in staff_client.get(corrections).context["cl"].result_list] == [said.pk]
