"""Corrections: people's true labels, and staff's review of them.

A label is a digit, 0 to 9, or None: "this is not a digit". Not-a-digit
corrections go through the same review; accepted ones teach the detector,
digit ones the classifier.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recognizer import conf, metrics
from recognizer.models import Correction, Submission
from recognizer.retraining.holdout import is_held_out
from recognizer.services.retraining import retrain_start_if_due
from recognizer.services.submissions import id_chunks, submissions_lock

logger = logging.getLogger(__name__)

REVIEW_STATES = (Correction.Review.ACCEPTED, Correction.Review.REJECTED, Correction.Review.PENDING)


def _label_check(label: object) -> int | None:
    """Return `label` if it is a digit 0-9 or None (not a digit); refuse anything else."""
    if label is None:
        return None
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise ValidationError("The label must be a digit from 0 to 9, or None for not a digit.", code="invalid_label")
    return label


def correction_held_out(*, submission_id: int) -> bool:
    """Return whether a new correction of this submission is held out of training, to judge retrained models."""
    return is_held_out(submission_id, fraction=conf.retrain_holdout_fraction(), salt="submission")


def _correction_new(*, submission_id: int, label: int | None, **fields) -> Correction:
    """An unsaved correction; whether it is held out for the gate is decided now, for good."""
    held_out = correction_held_out(submission_id=submission_id)
    return Correction(submission_id=submission_id, label=label, held_out=held_out, **fields)


def _relabel(
    correction: Correction,
    label: int | None,
    *,
    now: datetime,
    number: str | None = None,
    not_digits: list[int] | None = None,
) -> None:
    """Give `correction` a new label (or number), keeping the old one in its history; it will be trained on again."""
    if correction.number is not None:
        old = {"number": correction.number, **({"not_digits": correction.not_digits} if correction.not_digits else {})}
    else:
        old = {"label": correction.label}
    correction.history = [*correction.history, {**old, "until": now.isoformat()}]
    correction.label = label
    correction.number = number
    correction.not_digits = not_digits or []
    # A new label is reviewed afresh, every digit of it.
    correction.rejected_digits = []
    correction.trained_in = None


def correction_set(*, submission: Submission, label: int | None, user: AbstractBaseUser | None = None) -> Correction:
    """Record the true label for a submission (None: it is not a digit), replacing any earlier one.

    A changed label goes back to review (or straight to accepted when
    corrections are accepted automatically); the old label stays in history.
    A number is corrected with `correction_number_set` or `correction_digit_set`.
    """
    _label_check(label)
    if submission.is_number:
        raise ValidationError(
            "This submission is a number: send the whole `number`, or one digit's `position` and `label`.",
            code="number_needs_number",
        )
    return _correction_write(submission=submission, label=label, number=None)


def _positions_check(positions: object, *, found: int) -> list[int]:
    """Return `positions` sorted if they are distinct places of a number of `found` pieces; refuse anything else."""
    if not isinstance(positions, (list, tuple)) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 <= p < found for p in positions
    ):
        raise ValidationError(
            f"Positions must be from 0 to {found - 1}: the number has {found} pieces.", code="invalid_position"
        )
    if len(set(positions)) != len(positions):
        raise ValidationError("Each position may be given once.", code="invalid_position")
    return sorted(positions)


def _number_check(*, submission: Submission, number: object, not_digits: object) -> tuple[str, list[int]]:
    """Return `number` and the positions marked not a digit, if they can be the truth of `submission`.

    Digits only, one for each piece found that is not marked. `not_digits=None` keeps the marks of
    the current correction when the number fits them, and drops them when it has a digit for every piece.
    """
    if not submission.is_number:
        raise ValidationError("This submission is one digit: send its `label`.", code="not_a_number")
    found = submission.digits.count()
    if not_digits is None:
        current = Correction.objects.filter(submission=submission).values_list("not_digits", flat=True).first()
        kept = current or []
        not_digits = kept if isinstance(number, str) and len(number) == found - len(kept) else []
    marks = _positions_check(not_digits, found=found)
    # An empty number says every piece is not a digit, and only that.
    if not isinstance(number, str) or not number.isascii() or not (number.isdigit() or number == "" and marks):
        raise ValidationError('The number must be digits 0-9 only, such as "0427".', code="invalid_number")
    if len(number) != found - len(marks):
        unmarked = f" ({found - len(marks)} with {len(marks)} marked not a digit)" if marks else ""
        raise ValidationError(
            f"The number must have {found} digits{unmarked}, one for each digit found in the picture; "
            f"it has {len(number)}.",
            code="number_length_mismatch",
        )
    return number, marks


def correction_number_set(
    *,
    submission: Submission,
    number: str,
    not_digits: list[int] | None = None,
    user: AbstractBaseUser | None = None,
) -> Correction:
    """Record the true number of a number submission: the digits of its pieces, left to right.

    `not_digits` lists the positions of pieces that are not digits (a stray mark, half of a split digit);
    `number` has one digit for each other piece (`number_length_mismatch` otherwise), in order, and those
    labels are training data like single digits' once accepted; the marked pieces teach the detector.
    Without `not_digits`, the current marks stay if `number` fits them (see `_number_check`).
    """
    number, marks = _number_check(submission=submission, number=number, not_digits=not_digits)
    return _correction_write(submission=submission, label=None, number=number, not_digits=marks)


def _current_digit_labels(submission: Submission) -> list[int | None]:
    """A number's labels as they stand: an earlier correction's, else what was read (None: not a digit)."""
    correction = Correction.objects.filter(submission=submission).first()
    if correction is not None and correction.number is not None:
        return correction.digit_labels
    return [int(char) for char in submission.number or ""]


def correction_digit_set(
    *, submission: Submission, position: int, label: int | None, user: AbstractBaseUser | None = None
) -> Correction:
    """Correct one piece of a number submission: a digit, or None for "not a digit"; the others keep theirs.

    Their current label is the one an earlier correction gave them, else the
    prediction: correcting one digit says the others were read right. A
    piece marked not a digit is a digit again once given one.
    """
    _label_check(label)
    if not submission.is_number:
        raise ValidationError("This submission is one digit: send its `label` alone.", code="not_a_number")
    labels = _current_digit_labels(submission)
    if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < len(labels):
        raise ValidationError(
            f"The position must be from 0 to {len(labels) - 1}: the number has {len(labels)} digits.",
            code="invalid_position",
        )
    labels[position] = label
    number = "".join(str(digit) for digit in labels if digit is not None)
    not_digits = [place for place, digit in enumerate(labels) if digit is None]
    return correction_number_set(submission=submission, number=number, not_digits=not_digits, user=user)


def _correction_write(
    *, submission: Submission, label: int | None, number: str | None, not_digits: list[int] | None = None
) -> Correction:
    """Create or change the one correction of `submission`, under its row lock, and mirror it on the row."""
    auto_accept = conf.auto_accept_corrections()
    review = Correction.Review.ACCEPTED if auto_accept else Correction.Review.PENDING
    now = timezone.now()
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        correction = Correction.objects.filter(submission=locked).first()
        if correction is None:
            correction = _correction_new(
                submission_id=locked.pk,
                label=label,
                number=number,
                not_digits=not_digits or [],
                review_state=review,
                reviewed_at=now if auto_accept else None,
            )
            correction.save()
            transaction.on_commit(lambda: metrics.correction_record(submission=submission))
        elif correction.label != label or correction.number != number or correction.not_digits != (not_digits or []):
            _relabel(correction, label, now=now, number=number, not_digits=not_digits)
            correction.review_state = review
            correction.reviewed_by = None
            correction.reviewed_at = now if auto_accept else None
            correction.save()
        waits = correction.review_state == Correction.Review.PENDING
        if not locked.is_corrected or locked.needs_review != waits:
            Submission.objects.filter(pk=locked.pk).update(is_corrected=True, needs_review=waits, updated_at=now)
        if auto_accept:
            transaction.on_commit(retrain_start_if_due)
    submission.is_corrected = True
    submission.needs_review = waits
    submission.correction = correction
    return correction


def correction_withdraw(*, submission: Submission) -> None:
    """Remove the correction of a submission, if it has one."""
    corrections_withdraw(submission_ids=[submission.pk])
    submission.is_corrected = False
    submission.needs_review = False


def corrections_withdraw(*, submission_ids: list[int], by: AbstractBaseUser | None = None) -> list[dict]:
    """Withdraw the corrections of these submissions in one transaction.

    Each submission is uncorrected again, so it leaves every training set
    and its owner's history asks for the true digit once more. Returns the
    withdrawn corrections ({"submission_id", "label", "review_state"}) for the record.
    """
    withdrawn = []
    now = timezone.now()
    with transaction.atomic():
        for ids in id_chunks(submissions_lock(submission_ids=submission_ids)):
            corrections = Correction.objects.filter(submission_id__in=ids).order_by("submission_id")
            withdrawn.extend(corrections.values("submission_id", "label", "review_state"))
            corrections.delete()
            Submission.objects.filter(pk__in=ids).filter(is_corrected=True).update(
                is_corrected=False, needs_review=False, updated_at=now
            )
    if withdrawn and by is not None:
        logger.info("%s withdrew %d corrections: %s", by, len(withdrawn), withdrawn)
    return withdrawn


def corrections_review(*, correction_ids: list[int], state: str, reviewer: AbstractBaseUser) -> int:
    """Accept or reject corrections for training, or send them back to review; return how many changed.

    A decision on a whole correction is one on every digit of a number: any digits rejected one by one
    (`correction_digits_review`) are decided again with the rest.
    """
    if state not in REVIEW_STATES:
        raise ValidationError(f"Unknown review state {state!r}.", code="invalid_review_state")
    now = timezone.now()
    decided = state != Correction.Review.PENDING
    with transaction.atomic():
        owners = Correction.objects.filter(pk__in=correction_ids).values_list("submission_id", flat=True)
        submissions_lock(submission_ids=list(owners))
        changed = Correction.objects.filter(pk__in=correction_ids).exclude(review_state=state)
        submission_ids = list(changed.values_list("submission_id", flat=True))
        count = changed.update(
            review_state=state,
            rejected_digits=[],
            reviewed_by=reviewer if decided else None,
            reviewed_at=now if decided else None,
            updated_at=now,
        )
        for ids in id_chunks(submission_ids):
            Submission.objects.filter(pk__in=ids).update(needs_review=not decided)
        if state == Correction.Review.ACCEPTED and count:
            transaction.on_commit(retrain_start_if_due)
    return count


def correction_digits_review(
    *, correction_id: int, rejected_digits: list[int], reviewer: AbstractBaseUser
) -> Correction:
    """Review a number's correction digit by digit: accept it, all but the pieces at `rejected_digits`.

    The rejected pieces teach nothing (neither their digit nor their "not a digit"); the rest are training
    data as in any accepted correction. Rejecting every piece rejects the correction. A digit accepted
    again after a retraining learned the correction is learned at the next one.
    """
    with transaction.atomic():
        owner = Correction.objects.filter(pk=correction_id).values_list("submission_id", flat=True).get()
        submissions_lock(submission_ids=[owner])
        correction = Correction.objects.get(pk=correction_id)
        if correction.number is None:
            raise ValidationError("Only a number's correction is reviewed digit by digit.", code="not_a_number")
        rejected = _positions_check(rejected_digits, found=correction.digit_count)
        everything = len(rejected) == correction.digit_count
        was_accepted = correction.review_state == Correction.Review.ACCEPTED
        if was_accepted and set(correction.rejected_digits) - set(rejected):
            correction.trained_in = None  # a digit it did not learn is accepted now
        correction.review_state = Correction.Review.REJECTED if everything else Correction.Review.ACCEPTED
        correction.rejected_digits = [] if everything else rejected
        correction.reviewed_by = reviewer
        correction.reviewed_at = timezone.now()
        correction.save()
        Submission.objects.filter(pk=owner, needs_review=True).update(needs_review=False)
        if not everything:
            transaction.on_commit(retrain_start_if_due)
    return correction


def corrections_relabel(*, submission_ids: list[int], label: int | None, reviewer: AbstractBaseUser) -> int:
    """Give submissions a label decided by staff (None: not a digit), accepted for training at once.

    Number submissions among them are left as they are: one label cannot be a whole number's.

    A submission without a correction gets one; a correction with another
    label keeps the old one in `history` and will be trained on again.
    Returns how many submissions changed label or review state.
    """
    _label_check(label)
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        for ids in id_chunks(submissions_lock(submission_ids=submission_ids)):
            changed += _relabel_locked(ids, label=label, reviewer=reviewer, now=now)
        if changed:
            transaction.on_commit(retrain_start_if_due)
    return changed


def _relabel_locked(ids: list[int], *, label: int | None, reviewer: AbstractBaseUser, now: datetime) -> int:
    # One label is for one digit: numbers among the selection keep their own corrections.
    ids = list(Submission.objects.filter(pk__in=ids, kind=Submission.Kind.DIGIT).values_list("pk", flat=True))
    accepted = Correction.Review.ACCEPTED
    existing = list(Correction.objects.filter(submission_id__in=ids))
    updates = [c for c in existing if c.label != label or c.review_state != accepted]
    for correction in updates:
        if correction.label != label:
            _relabel(correction, label, now=now)
        correction.review_state = accepted
        correction.reviewed_by = reviewer
        correction.reviewed_at = now
        correction.updated_at = now
    Correction.objects.bulk_update(
        updates, ["label", "history", "trained_in", "review_state", "reviewed_by", "reviewed_at", "updated_at"]
    )
    missing = sorted(set(ids) - {c.submission_id for c in existing})
    Correction.objects.bulk_create(
        _correction_new(submission_id=pk, label=label, review_state=accepted, reviewed_by=reviewer, reviewed_at=now)
        for pk in missing
    )
    Submission.objects.filter(pk__in=missing).update(is_corrected=True, updated_at=now)
    Submission.objects.filter(pk__in=ids, needs_review=True).update(needs_review=False)
    return len(updates) + len(missing)
