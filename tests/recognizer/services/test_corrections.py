"""Correction services: owners correct, staff review, relabel and withdraw."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from recognizer.models import Correction, Submission
from recognizer.selectors.corrections import (
    correction_not_a_digit_samples,
    correction_samples,
    corrections_for_training,
    corrections_not_a_digit,
    corrections_split_counts,
    corrections_waiting_count,
)
from recognizer.selectors.submissions import submission_review_queue
from recognizer.services.corrections import (
    correction_digit_set,
    correction_digits_review,
    correction_held_out,
    correction_number_set,
    correction_set,
    correction_withdraw,
    corrections_relabel,
    corrections_review,
    corrections_withdraw,
)
from recognizer.services.retraining import _training_data
from tests.factories import CorrectionFactory, ModelVersionFactory, NumberSubmissionFactory, SubmissionFactory
from training.preprocessing import bytes_to_pixels

pytestmark = pytest.mark.django_db


def test_correction_set_records_the_label_for_review(user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    correction = correction_set(submission=submission, label=9, user=user)
    submission.refresh_from_db()
    assert correction.label == 9
    assert correction.review_state == Correction.Review.PENDING
    assert submission.is_corrected


def test_changing_a_correction_keeps_history_and_goes_back_to_review(user, staff_user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    first = correction_set(submission=submission, label=9)
    corrections_review(correction_ids=[first.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    changed = correction_set(submission=submission, label=7)
    assert changed.pk == first.pk
    assert changed.label == 7
    assert changed.review_state == Correction.Review.PENDING
    assert changed.reviewed_by is None
    assert [entry["label"] for entry in changed.history] == [9]
    assert Correction.objects.count() == 1


def test_setting_the_same_label_again_changes_nothing(user):
    submission = SubmissionFactory(owner=user)
    correction_set(submission=submission, label=2)
    again = correction_set(submission=submission, label=2)
    assert again.history == []


@pytest.mark.parametrize("label", [-1, 10, "3", 2.0, True, False, "none"])
def test_correction_labels_must_be_digits(user, label):
    submission = SubmissionFactory(owner=user)
    with pytest.raises(ValidationError):
        correction_set(submission=submission, label=label)
    assert not Correction.objects.exists()


def test_corrections_can_be_accepted_automatically(user, settings):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "AUTO_ACCEPT_CORRECTIONS": True, "RETRAIN_AFTER_ACCEPTED": 0}
    correction = correction_set(submission=SubmissionFactory(owner=user), label=1)
    assert correction.review_state == Correction.Review.ACCEPTED


def test_withdrawing_a_correction(user):
    correction = CorrectionFactory(submission__owner=user)
    submission = correction.submission
    correction_withdraw(submission=submission)
    submission.refresh_from_db()
    assert not submission.is_corrected
    assert not Correction.objects.exists()


def _waiting_for_review() -> set[int]:
    """Submissions whose flag says their correction waits, checked against the corrections themselves."""
    flagged = set(Submission.objects.filter(needs_review=True).values_list("pk", flat=True))
    pending = Correction.objects.filter(review_state=Correction.Review.PENDING)
    assert flagged == set(pending.values_list("submission_id", flat=True))
    return flagged


def test_the_review_flag_follows_every_change_of_a_correction(user, staff_user, settings):
    first, second, third = SubmissionFactory.create_batch(3, owner=user, predicted_digit=4)
    correction_set(submission=first, label=9)
    correction = correction_set(submission=second, label=8)
    assert _waiting_for_review() == {first.pk, second.pk}
    assert first.needs_review

    corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    assert _waiting_for_review() == {first.pk}
    correction_set(submission=second, label=8)  # the same label: still accepted
    assert _waiting_for_review() == {first.pk}
    correction_set(submission=second, label=3)  # a new label goes back to review
    assert _waiting_for_review() == {first.pk, second.pk}
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.REJECTED, reviewer=staff_user)
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.PENDING, reviewer=staff_user)
    assert _waiting_for_review() == {first.pk, second.pk}

    correction_withdraw(submission=first)
    assert _waiting_for_review() == {second.pk}
    correction_set(submission=third, label=1)
    corrections_relabel(submission_ids=[second.pk, first.pk], label=5, reviewer=staff_user)
    assert _waiting_for_review() == {third.pk}
    corrections_withdraw(submission_ids=[third.pk], by=staff_user)
    assert _waiting_for_review() == set()

    settings.RECOGNIZER = {**settings.RECOGNIZER, "AUTO_ACCEPT_CORRECTIONS": True, "RETRAIN_AFTER_ACCEPTED": 0}
    correction_set(submission=third, label=2)
    assert _waiting_for_review() == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("staff_change", ["review", "reopen"])
def test_staff_changes_and_an_owners_correction_at_once_do_not_deadlock(staff_change):
    from tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    correction = CorrectionFactory()
    submission = correction.submission
    errors: list[Exception] = []

    def staff_acts() -> None:
        try:
            if staff_change == "review":
                corrections_review(correction_ids=[correction.pk], state="accepted", reviewer=staff)
            else:
                corrections_withdraw(submission_ids=[submission.pk], by=staff)
        except Exception as error:  # the assertion below shows it
            errors.append(error)
        finally:
            connection.close()

    # The owner's correction_set holds the submission and is about to change the correction, as staff act.
    with transaction.atomic():
        Submission.objects.select_for_update().get(pk=submission.pk)
        acting = threading.Thread(target=staff_acts)
        acting.start()
        acting.join(timeout=1.0)
        Correction.objects.filter(pk=correction.pk).update(label=(correction.label + 1) % 10)
    acting.join(timeout=60)
    assert not errors, errors


@pytest.mark.parametrize("service", ["review", "relabel", "reopen"])
def test_staff_services_lock_submissions_in_ascending_id_order(service, staff_user):
    from django.test.utils import CaptureQueriesContext

    corrections = CorrectionFactory.create_batch(3)
    submission_ids = [c.submission_id for c in reversed(corrections)]
    with CaptureQueriesContext(connection) as queries:
        if service == "review":
            corrections_review(correction_ids=[c.pk for c in corrections], state="accepted", reviewer=staff_user)
        elif service == "relabel":
            corrections_relabel(submission_ids=submission_ids, label=4, reviewer=staff_user)
        else:
            corrections_withdraw(submission_ids=submission_ids, by=staff_user)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "recognizer_submission"."id"')]
    # Two staff actions on overlapping rows must take them in the same order, or PostgreSQL deadlocks.
    assert reads and re.search(r'ORDER BY (1|"recognizer_submission"\."id") ASC( FOR UPDATE)?$', reads[0]), reads


def test_review_accepts_or_rejects_and_records_the_reviewer(staff_user):
    corrections = CorrectionFactory.create_batch(3)
    ids = [c.pk for c in corrections]
    assert corrections_review(correction_ids=ids[:2], state="accepted", reviewer=staff_user) == 2
    assert corrections_review(correction_ids=ids, state="accepted", reviewer=staff_user) == 1
    accepted = Correction.objects.filter(review_state=Correction.Review.ACCEPTED)
    assert accepted.count() == 3
    assert all(c.reviewed_by == staff_user and c.reviewed_at for c in accepted)
    with pytest.raises(ValidationError):
        corrections_review(correction_ids=ids, state="maybe", reviewer=staff_user)


def test_relabel_counts_only_what_changed(staff_user):
    trained_in = ModelVersionFactory()
    accepted = CorrectionFactory(review_state=Correction.Review.ACCEPTED, trained_in=trained_in)
    ids = [accepted.submission_id]
    assert corrections_relabel(submission_ids=ids, label=accepted.label, reviewer=staff_user) == 0
    accepted.refresh_from_db()
    assert accepted.trained_in == trained_in  # same label: still counts as trained
    new_label = (accepted.label + 1) % 10
    assert corrections_relabel(submission_ids=ids, label=new_label, reviewer=staff_user) == 1
    accepted.refresh_from_db()
    assert accepted.trained_in is None
    assert [entry["label"] for entry in accepted.history] == [(new_label - 1) % 10]


@pytest.mark.parametrize("label", [-1, 10, "3", True, "none"])
def test_relabel_refuses_anything_but_a_digit(staff_user, label):
    submission = SubmissionFactory()
    with pytest.raises(ValidationError):
        corrections_relabel(submission_ids=[submission.pk], label=label, reviewer=staff_user)
    assert not Correction.objects.exists()


def test_reopen_returns_what_it_withdrew_and_skips_uncorrected(staff_user):
    correction = CorrectionFactory(review_state=Correction.Review.REJECTED)
    plain = SubmissionFactory()
    withdrawn = corrections_withdraw(submission_ids=[correction.submission_id, plain.pk], by=staff_user)
    assert withdrawn == [
        {"submission_id": correction.submission_id, "label": correction.label, "review_state": "rejected"}
    ]
    assert not Submission.objects.get(pk=correction.submission_id).is_corrected
    assert corrections_withdraw(submission_ids=[correction.submission_id], by=staff_user) == []


def test_whether_a_correction_is_held_out_is_stored_once_for_good(user, settings):
    submissions = SubmissionFactory.create_batch(40, owner=user)
    for submission in submissions:
        correction_set(submission=submission, label=3)
    stored = dict(Correction.objects.values_list("submission_id", "held_out"))
    assert stored == {s.pk: correction_held_out(submission_id=s.pk) for s in submissions}
    assert 0 < sum(stored.values()) < len(stored)  # about a fifth

    settings.RECOGNIZER = {**settings.RECOGNIZER, "RETRAIN_HOLDOUT_FRACTION": 1.0}
    for submission in submissions:
        correction_set(submission=submission, label=4)  # a changed label keeps its place in the split
    assert dict(Correction.objects.values_list("submission_id", "held_out")) == stored


def test_the_waiting_count_and_the_split_read_the_stored_column(staff_user):
    accepted = CorrectionFactory.create_batch(5, review_state=Correction.Review.ACCEPTED, held_out=False)
    Correction.objects.filter(pk__in=[accepted[0].pk, accepted[1].pk]).update(held_out=True)
    CorrectionFactory(review_state=Correction.Review.PENDING, held_out=False)

    assert corrections_waiting_count() == 3
    assert corrections_split_counts() == (3, 2)


# "Not a digit": a correction whose label is None.


def test_a_correction_can_say_not_a_digit_and_waits_for_review_like_any(user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    correction = correction_set(submission=submission, label=None, user=user)
    correction.refresh_from_db()
    submission.refresh_from_db()
    assert correction.label is None
    assert correction.label_text == "not a digit"
    assert correction.review_state == Correction.Review.PENDING
    assert submission.is_corrected and submission.needs_review
    # It heads the review queue, as every correction waiting for review does.
    SubmissionFactory(confidence=0.1)
    assert submission_review_queue().first() == submission


def test_not_a_digit_and_digits_replace_each_other_keeping_history(user, staff_user):
    submission = SubmissionFactory(owner=user, predicted_digit=4)
    correction_set(submission=submission, label=7)
    first = correction_set(submission=submission, label=None)
    corrections_review(correction_ids=[first.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    assert correction_set(submission=submission, label=None).review_state == Correction.Review.ACCEPTED  # the same
    again = correction_set(submission=submission, label=5)
    assert again.label == 5
    assert again.review_state == Correction.Review.PENDING
    assert [entry["label"] for entry in again.history] == [7, None]
    assert Correction.objects.count() == 1


def test_staff_can_relabel_as_not_a_digit(staff_user):
    trained_in = ModelVersionFactory()
    corrected = CorrectionFactory(label=3, review_state=Correction.Review.ACCEPTED, trained_in=trained_in)
    plain = SubmissionFactory()

    assert corrections_relabel(submission_ids=[corrected.submission_id, plain.pk], label=None, reviewer=staff_user) == 2

    relabelled = Correction.objects.filter(submission_id__in=[corrected.submission_id, plain.pk])
    assert {(c.label, c.review_state, c.reviewed_by_id) for c in relabelled} == {(None, "accepted", staff_user.pk)}
    corrected.refresh_from_db()
    assert corrected.trained_in is None  # the detector learns from it next time
    assert [entry["label"] for entry in corrected.history] == [3]
    assert Submission.objects.get(pk=plain.pk).is_corrected
    assert corrections_relabel(submission_ids=[plain.pk], label=None, reviewer=staff_user) == 0


def test_withdrawing_a_not_a_digit_correction_reports_its_none_label(staff_user):
    correction = CorrectionFactory(label=None)
    withdrawn = corrections_withdraw(submission_ids=[correction.submission_id], by=staff_user)
    assert withdrawn == [{"submission_id": correction.submission_id, "label": None, "review_state": "pending"}]


def test_an_accepted_not_a_digit_correction_teaches_the_detector_not_the_classifier(staff_user):
    digits = CorrectionFactory.create_batch(4, review_state=Correction.Review.ACCEPTED)
    Correction.objects.filter(pk=digits[0].pk).update(held_out=True)
    Correction.objects.filter(pk__in=[c.pk for c in digits[1:]]).update(held_out=False)
    not_a_digit = correction_set(submission=SubmissionFactory(), label=None)
    corrections_review(correction_ids=[not_a_digit.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)

    assert list(corrections_not_a_digit()) == [not_a_digit]
    assert not_a_digit.pk not in {c.pk for c in corrections_for_training()}
    data, trained_ids = _training_data()
    assert data.counts == (3, 1)
    assert not_a_digit.pk not in trained_ids
    assert set(data.train_y.tolist()) | set(data.holdout_y.tolist()) <= set(range(10))
    # It does not split the classifier's data, and counts towards a retraining only where a detector learns it.
    assert corrections_split_counts() == (3, 1)
    Correction.objects.filter(pk=not_a_digit.pk).update(held_out=False)
    assert corrections_waiting_count() == 3
    assert corrections_waiting_count(with_not_a_digit=True) == 4


def test_the_database_refuses_labels_above_9_but_takes_not_a_digit():
    submission = SubmissionFactory()
    Correction.objects.create(submission=submission, label=None)
    Correction.objects.filter(submission=submission).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(submission=submission, label=10)


# Numbers: the whole number, or one digit; each digit ends up with its label.


def test_a_number_is_corrected_whole_and_each_digit_gets_its_label(user):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    correction = correction_number_set(submission=submission, number="2026", user=user)
    submission.refresh_from_db()
    assert correction.number == "2026" and correction.label is None
    assert correction.digit_labels == [2, 0, 2, 6]
    assert correction.review_state == Correction.Review.PENDING
    assert submission.is_corrected and submission.needs_review
    assert correction.label_text == "2026"


def test_correcting_one_digit_keeps_the_others_as_read(user):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    correction = correction_digit_set(submission=submission, position=3, label=6, user=user)
    assert correction.number == "2026"
    # A second digit builds on the first correction, and the old number stays in the history.
    correction = correction_digit_set(submission=submission, position=0, label=1, user=user)
    assert correction.number == "1026"
    assert correction.history[-1]["number"] == "2026"
    assert Correction.objects.count() == 1


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("202", "number_length_mismatch"),
        ("20260", "number_length_mismatch"),
        ("20a6", "invalid_number"),
        ("", "invalid_number"),
        ("２０２６", "invalid_number"),
        (2026, "invalid_number"),
    ],
)
def test_a_corrected_number_must_be_digits_one_per_digit_found(user, number, code):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    with pytest.raises(ValidationError) as caught:
        correction_number_set(submission=submission, number=number, user=user)
    assert caught.value.code == code
    assert not Correction.objects.exists()


@pytest.mark.parametrize(
    ("position", "label", "code"),
    [(4, 1, "invalid_position"), (-1, 1, "invalid_position"), (0, True, "invalid_label"), (0, 10, "invalid_label")],
)
def test_one_digit_is_corrected_at_a_position_with_a_digit_or_not_a_digit(user, position, label, code):
    submission = NumberSubmissionFactory(owner=user, number="2028")
    with pytest.raises(ValidationError) as caught:
        correction_digit_set(submission=submission, position=position, label=label, user=user)
    assert caught.value.code == code


def test_a_number_is_not_corrected_with_one_label_nor_a_digit_with_a_number(user):
    with pytest.raises(ValidationError) as caught:
        correction_set(submission=NumberSubmissionFactory(owner=user), label=3)
    assert caught.value.code == "number_needs_number"
    with pytest.raises(ValidationError) as caught:
        correction_number_set(submission=SubmissionFactory(owner=user), number="3")
    assert caught.value.code == "not_a_number"


def test_accepted_numbers_reach_the_training_data_one_sample_per_digit(user, staff_user):
    from training.preprocessing import bytes_to_pixels

    plain = [
        CorrectionFactory(submission__owner=user, label=4, review_state=Correction.Review.ACCEPTED, held_out=held)
        for held in (False, True)
    ]
    submission = NumberSubmissionFactory(owner=user, number="2028")
    correction = correction_digit_set(submission=submission, position=3, label=6, user=user)
    # Waiting for review, it teaches nothing yet.
    assert correction.pk not in {c.pk for c in corrections_for_training()}
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    Correction.objects.filter(pk=correction.pk).update(held_out=False)
    assert correction.pk in {c.pk for c in corrections_for_training()}
    assert corrections_waiting_count() == 2 and corrections_split_counts() == (2, 1)
    assert correction.pk not in {c.pk for c in corrections_not_a_digit()}

    data, trained_ids = _training_data()
    assert set(trained_ids) == {plain[0].pk, correction.pk}
    assert data.counts == (5, 1)  # one digit, and the four digits of the number
    # Oldest first: the single digit, then the number's digits left to right, each input with its own label.
    assert data.train_y.tolist() == [4, 2, 0, 2, 6]
    for row, pixels in zip(submission.digits.order_by("position"), data.train_x[1:], strict=True):
        assert (bytes_to_pixels(row.pixels) == pixels).all()


def test_staff_relabelling_leaves_numbers_alone(user, staff_user):
    number = NumberSubmissionFactory(owner=user)
    digit = SubmissionFactory(owner=user)
    assert corrections_relabel(submission_ids=[number.pk, digit.pk], label=3, reviewer=staff_user) == 1
    assert not Correction.objects.filter(submission=number).exists()


def test_the_database_keeps_a_correction_to_a_label_or_a_number():
    with pytest.raises(IntegrityError), transaction.atomic():
        Correction.objects.create(submission=NumberSubmissionFactory(), label=3, number="2026")


# A number's pieces marked "not a digit": a stray mark, or half of a digit the segmenter split in two.


def _pixels(row) -> np.ndarray:
    return bytes_to_pixels(row.pixels)


def test_one_piece_of_a_number_is_marked_not_a_digit_and_the_number_is_the_rest(user):
    submission = NumberSubmissionFactory(owner=user, number="20126")  # a stray mark read as a 1
    correction = correction_digit_set(submission=submission, position=2, label=None, user=user)
    submission.refresh_from_db()
    assert correction.number == "2026" and correction.not_digits == [2] and correction.label is None
    assert correction.digit_labels == [2, 0, None, 2, 6]
    assert correction.label_text == "2026 (not a digit at 2)"
    assert correction.review_state == Correction.Review.PENDING
    assert submission.is_corrected and submission.needs_review
    # A second piece builds on the first; the earlier number and its marks stay in the history.
    correction = correction_digit_set(submission=submission, position=4, label=None, user=user)
    assert (correction.number, correction.not_digits) == ("202", [2, 4])
    assert correction.history[-1]["number"] == "2026" and correction.history[-1]["not_digits"] == [2]
    assert Correction.objects.count() == 1


def test_a_marked_piece_is_a_digit_again_once_given_one(user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    correction_digit_set(submission=submission, position=2, label=None, user=user)
    correction = correction_digit_set(submission=submission, position=2, label=7, user=user)
    assert (correction.number, correction.not_digits) == ("20726", [])
    assert correction.label_text == "20726"


def test_marking_the_same_piece_again_changes_nothing(user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    first = correction_digit_set(submission=submission, position=2, label=None, user=user)
    again = correction_digit_set(submission=submission, position=2, label=None, user=user)
    assert again.history == [] and again.updated_at == first.updated_at


def test_typing_the_number_keeps_the_marks_it_fits_and_drops_them_with_a_digit_for_every_piece(user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    correction_digit_set(submission=submission, position=2, label=None, user=user)
    # Four digits for five pieces, one marked: the mark stays and the digits label the others.
    correction = correction_number_set(submission=submission, number="2027", user=user)
    assert (correction.number, correction.not_digits, correction.digit_labels) == ("2027", [2], [2, 0, None, 2, 7])
    # Five digits: every piece is a digit.
    correction = correction_number_set(submission=submission, number="20127", user=user)
    assert (correction.number, correction.not_digits) == ("20127", [])
    # Without marks, four digits for five pieces is no number.
    with pytest.raises(ValidationError) as caught:
        correction_number_set(submission=submission, number="2027", user=user)
    assert caught.value.code == "number_length_mismatch"
    assert "5 digits" in caught.value.messages[0]


def test_the_whole_number_and_its_marks_are_set_in_one_call(user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    correction = correction_number_set(submission=submission, number="206", not_digits=[3, 1], user=user)
    assert (correction.number, correction.not_digits, correction.digit_labels) == ("206", [1, 3], [2, None, 0, None, 6])
    # An explicit empty list drops the marks.
    correction = correction_number_set(submission=submission, number="20126", not_digits=[], user=user)
    assert correction.not_digits == [] and correction.number == "20126"


@pytest.mark.parametrize(
    ("number", "not_digits", "code"),
    [
        ("2026", [5], "invalid_position"),
        ("2026", [-1], "invalid_position"),
        ("202", [1, 1], "invalid_position"),
        ("2026", [True], "invalid_position"),
        ("2026", "2", "invalid_position"),
        ("2026", [2.0], "invalid_position"),
        ("202", [2], "number_length_mismatch"),
        ("20126", [2], "number_length_mismatch"),
        ("", [2], "number_length_mismatch"),
        ("", [], "invalid_number"),
        ("20a6", [2], "invalid_number"),
    ],
)
def test_marks_must_be_distinct_places_and_the_number_one_digit_per_other_piece(user, number, not_digits, code):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    with pytest.raises(ValidationError) as caught:
        correction_number_set(submission=submission, number=number, not_digits=not_digits, user=user)
    assert caught.value.code == code
    assert not Correction.objects.exists()


def test_every_piece_can_be_marked_not_a_digit_and_the_number_is_then_empty(user):
    submission = NumberSubmissionFactory(owner=user, number="71")  # a smiley in number mode, say
    correction_digit_set(submission=submission, position=0, label=None, user=user)
    correction = correction_digit_set(submission=submission, position=1, label=None, user=user)
    assert (correction.number, correction.not_digits, correction.digit_labels) == ("", [0, 1], [None, None])
    assert correction.label_text == "no digits (not a digit at 0, 1)"


def test_a_digit_submission_has_no_pieces_to_mark(user):
    submission = SubmissionFactory(owner=user)
    for label in (None, 3):
        with pytest.raises(ValidationError) as caught:
            correction_digit_set(submission=submission, position=0, label=label, user=user)
        assert caught.value.code == "not_a_number"
    with pytest.raises(ValidationError) as caught:
        correction_number_set(submission=submission, number="3", not_digits=[], user=user)
    assert caught.value.code == "not_a_number"


def test_accepted_marked_pieces_teach_the_detector_and_the_others_the_classifier(user, staff_user):
    submission = NumberSubmissionFactory(owner=user, number="20126")
    rows = list(submission.digits.order_by("position"))
    correction = correction_number_set(submission=submission, number="206", not_digits=[1, 3], user=user)
    # Waiting for review, it teaches nothing yet.
    assert not corrections_not_a_digit().exists()
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    Correction.objects.filter(pk=correction.pk).update(held_out=False)

    assert list(corrections_not_a_digit()) == [correction]
    loaded = corrections_not_a_digit().get()
    pictures = correction_not_a_digit_samples(correction=loaded)
    assert pictures.shape == (2, 28, 28) and pictures.dtype == np.uint8
    assert (pictures[0] == _pixels(rows[1])).all() and (pictures[1] == _pixels(rows[3])).all()
    inputs, labels = correction_samples(correction=corrections_for_training().get())
    assert labels.tolist() == [2, 0, 6]
    for index, row in enumerate((rows[0], rows[2], rows[4])):
        assert (inputs[index] == _pixels(row)).all()


def test_a_number_without_marks_says_nothing_to_the_detector(user, staff_user):
    correction = correction_number_set(submission=NumberSubmissionFactory(owner=user), number="2027", user=user)
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    assert not corrections_not_a_digit().exists()
    assert correction_not_a_digit_samples(correction=correction).shape == (0, 28, 28)


def test_a_number_of_no_digits_gives_the_classifier_nothing_and_the_training_data_counts_digits(user, staff_user):
    plain = [
        CorrectionFactory(submission__owner=user, label=4, review_state=Correction.Review.ACCEPTED, held_out=held)
        for held in (False, True)
    ]
    submission = NumberSubmissionFactory(owner=user, number="71")
    correction = correction_number_set(submission=submission, number="", not_digits=[0, 1], user=user)
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.ACCEPTED, reviewer=staff_user)
    Correction.objects.filter(pk=correction.pk).update(held_out=True)
    inputs, labels = correction_samples(correction=correction)
    assert inputs.shape == (0, 28, 28) and labels.shape == (0,)
    data, trained_ids = _training_data()
    assert data.counts == (1, 1) and trained_ids == [plain[0].pk]
    # Held out but with no digit in it, it does not make a held-out set on its own.
    Correction.objects.filter(pk=plain[1].pk).delete()
    with pytest.raises(ValueError, match="0 held out"):
        _training_data()


# Reviewing a number digit by digit.


def _corrected_number(user, staff_user, *, number="2028", not_digits=None):
    submission = NumberSubmissionFactory(owner=user, number=number)
    correction = correction_number_set(submission=submission, number="2026", not_digits=not_digits, user=user)
    Correction.objects.filter(pk=correction.pk).update(held_out=False)
    return submission, correction


def test_an_admin_rejects_one_digit_and_accepts_the_rest(user, staff_user):
    submission, correction = _corrected_number(user, staff_user)
    reviewed = correction_digits_review(correction_id=correction.pk, rejected_digits=[3], reviewer=staff_user)
    submission.refresh_from_db()
    assert reviewed.review_state == Correction.Review.ACCEPTED and reviewed.rejected_digits == [3]
    assert reviewed.reviewed_by == staff_user and reviewed.reviewed_at is not None
    assert [reviewed.digit_review_state(p) for p in range(4)] == ["accepted"] * 3 + ["rejected"]
    assert not submission.needs_review and submission.is_corrected
    inputs, labels = correction_samples(correction=corrections_for_training().get())
    assert labels.tolist() == [2, 0, 2] and len(inputs) == 3
    rows = list(submission.digits.order_by("position"))
    assert all((inputs[i] == _pixels(rows[i])).all() for i in range(3))


def test_a_rejected_not_a_digit_piece_teaches_the_detector_nothing(user, staff_user):
    submission, correction = _corrected_number(user, staff_user, number="20126", not_digits=[2])
    correction_digits_review(correction_id=correction.pk, rejected_digits=[2], reviewer=staff_user)
    # Still an accepted correction with a mark, but the marked piece was rejected: no picture for the detector.
    loaded = corrections_not_a_digit().get()
    assert correction_not_a_digit_samples(correction=loaded).shape == (0, 28, 28)
    assert correction_samples(correction=loaded)[1].tolist() == [2, 0, 2, 6]


def test_rejecting_every_digit_rejects_the_correction(user, staff_user):
    _submission, correction = _corrected_number(user, staff_user)
    reviewed = correction_digits_review(correction_id=correction.pk, rejected_digits=[0, 1, 2, 3], reviewer=staff_user)
    assert reviewed.review_state == Correction.Review.REJECTED and reviewed.rejected_digits == []
    assert not corrections_for_training().exists()


def test_digits_are_reviewed_only_at_places_of_a_number(user, staff_user):
    _submission, correction = _corrected_number(user, staff_user)
    for rejected in ([4], [1, 1], [-1], "1"):
        with pytest.raises(ValidationError) as caught:
            correction_digits_review(correction_id=correction.pk, rejected_digits=rejected, reviewer=staff_user)
        assert caught.value.code == "invalid_position"
    digit = correction_set(submission=SubmissionFactory(owner=user), label=3)
    with pytest.raises(ValidationError) as caught:
        correction_digits_review(correction_id=digit.pk, rejected_digits=[], reviewer=staff_user)
    assert caught.value.code == "not_a_number"
    with pytest.raises(Correction.DoesNotExist):
        correction_digits_review(correction_id=10**9, rejected_digits=[], reviewer=staff_user)
    correction.refresh_from_db()
    assert correction.review_state == Correction.Review.PENDING and correction.rejected_digits == []


def test_a_new_label_or_a_whole_review_decides_every_digit_again(user, staff_user):
    submission, correction = _corrected_number(user, staff_user)
    correction_digits_review(correction_id=correction.pk, rejected_digits=[3], reviewer=staff_user)
    corrections_review(correction_ids=[correction.pk], state=Correction.Review.REJECTED, reviewer=staff_user)
    correction.refresh_from_db()
    assert correction.review_state == Correction.Review.REJECTED and correction.rejected_digits == []
    correction_digits_review(correction_id=correction.pk, rejected_digits=[3], reviewer=staff_user)
    # The owner changes the number: it waits for review again, all of it.
    correction = correction_digit_set(submission=submission, position=3, label=8, user=user)
    assert correction.review_state == Correction.Review.PENDING and correction.rejected_digits == []
    assert _waiting_for_review() == {submission.pk}


def test_a_digit_accepted_again_after_training_is_learned_again(user, staff_user):
    _submission, correction = _corrected_number(user, staff_user)
    correction_digits_review(correction_id=correction.pk, rejected_digits=[2, 3], reviewer=staff_user)
    version = ModelVersionFactory()
    Correction.objects.filter(pk=correction.pk).update(trained_in=version)
    # Rejecting one more digit leaves nothing new to learn.
    reviewed = correction_digits_review(correction_id=correction.pk, rejected_digits=[1, 2, 3], reviewer=staff_user)
    assert reviewed.trained_in == version
    # Accepting one it never learned does.
    reviewed = correction_digits_review(correction_id=correction.pk, rejected_digits=[1, 2], reviewer=staff_user)
    assert reviewed.trained_in is None
    assert corrections_waiting_count() == 1
