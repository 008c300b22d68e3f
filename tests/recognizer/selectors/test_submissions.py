"""Submission selectors: waiting for predictions, the review queue, the list's filters, the statistics."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recognizer.models import Correction, Submission
from recognizer.selectors.submissions import (
    submission_list,
    submission_review_queue,
    submission_stats,
    submission_wait,
    submissions_wait,
)
from recognizer.services.submissions import submissions_predict
from tests.celery.conftest import REDIS_TEST_URL
from tests.factories import CorrectionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def _pending(count: int) -> list[Submission]:
    return SubmissionFactory.create_batch(
        count, status=Submission.Status.PENDING, predicted_digit=None, confidence=None
    )


def _predict_later(ids: list[int], after: float) -> threading.Thread:
    """Store predictions for `ids` from another connection, `after` seconds from now, as a worker would."""

    def work() -> None:
        try:
            time.sleep(after)
            done = {"status": Submission.Status.DONE, "predicted_digit": 3, "confidence": 0.9}
            Submission.objects.filter(pk__in=ids).update(**done)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_waiting_for_a_batch_sees_predictions_stored_after_it_started():
    ids = [s.pk for s in _pending(3)]
    Submission.objects.filter(pk=ids[0]).update(status=Submission.Status.DONE, predicted_digit=1, confidence=0.5)
    worker = _predict_later(ids[1:], after=0.3)

    waited = submissions_wait(submission_ids=ids, timeout=30)

    worker.join()
    assert [s.pk for s in waited] == ids
    assert [s.status for s in waited] == ["done"] * 3
    assert [s.predicted_digit for s in waited] == [1, 3, 3]


@pytest.mark.django_db(transaction=True)
def test_waiting_for_one_sees_its_prediction_stored_after_it_started():
    submission = _pending(1)[0]
    worker = _predict_later([submission.pk], after=0.3)

    waited = submission_wait(submission_id=submission.pk, timeout=30)

    worker.join()
    assert waited.status == "done" and waited.predicted_digit == 3


@pytest.mark.django_db(transaction=True)
def test_with_a_redis_broker_the_wait_is_woken_by_the_prediction_not_polling(settings, active_version):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_TEST_URL
    submission = _pending(1)[0]
    first_read = threading.Event()

    def note_first_read(execute, sql, params, many, context):
        first_read.set()
        return execute(sql, params, many, context)

    def predict() -> None:
        try:
            first_read.wait()
            time.sleep(0.3)  # long enough for a poll to ask several times
            submissions_predict(submission_ids=[submission.pk])  # the worker's service: stores, then wakes
        finally:
            connection.close()

    worker = threading.Thread(target=predict)
    worker.start()
    with connection.execute_wrapper(note_first_read), CaptureQueriesContext(connection) as queries:
        waited = submission_wait(submission_id=submission.pk, timeout=60)
    worker.join()

    assert waited.status == "done" and waited.model_version == active_version
    # One read before waiting, one after being woken: no polling in between.
    assert len(queries) == 2, queries.captured_queries


@pytest.mark.django_db
def test_waiting_gives_up_after_the_timeout_and_returns_what_is_there():
    ids = [s.pk for s in _pending(2)]
    waited = submissions_wait(submission_ids=ids, timeout=0.05)
    assert [s.status for s in waited] == ["pending", "pending"]


def test_the_review_queue_puts_waiting_corrections_first_then_the_least_sure(staff_user):

    sure = SubmissionFactory(confidence=0.99)
    unsure = SubmissionFactory(confidence=0.41)
    pending = SubmissionFactory(status=Submission.Status.PENDING, confidence=None, predicted_digit=None)
    accepted = CorrectionFactory(submission__confidence=0.2, review_state=Correction.Review.ACCEPTED).submission
    waiting = CorrectionFactory(submission__confidence=0.95).submission
    order = list(submission_review_queue().values_list("pk", flat=True))
    assert order == [waiting.pk, accepted.pk, unsure.pk, sure.pk, pending.pk]


def test_the_list_filters_on_the_detectors_verdict_exactly(user):
    digit = SubmissionFactory(owner=user, checked_digit=True)
    not_a_digit = SubmissionFactory(owner=user, not_a_digit=True)
    several = SubmissionFactory(owner=user, several_digits=True)
    unchecked = SubmissionFactory(owner=user)
    SubmissionFactory(not_a_digit=True)  # someone else's

    def listed(**filters) -> set[int]:
        return set(submission_list(user=user, **filters).values_list("pk", flat=True))

    assert listed(is_digit=True) == {digit.pk}
    assert listed(is_digit=False) == {not_a_digit.pk, several.pk}
    assert listed() == {digit.pk, not_a_digit.pk, several.pk, unchecked.pk}


def test_stats_count_a_correction_that_disagrees_with_the_answer_as_wrong(user):
    CorrectionFactory(label=None, submission__owner=user, submission__predicted_digit=4)  # wrong
    CorrectionFactory(
        label=4, submission__owner=user, submission__predicted_digit=4, submission__not_a_digit=True
    )  # wrong
    CorrectionFactory(label=None, submission__owner=user, submission__predicted_digit=4, submission__not_a_digit=True)
    CorrectionFactory(label=4, submission__owner=user, submission__predicted_digit=4)
    SubmissionFactory(owner=user, predicted_digit=4, several_digits=True)

    stats = submission_stats(user=user)

    assert (stats["total"], stats["right"]) == (5, 3)
    assert stats["per_digit"][4] == {"digit": 4, "total": 5, "right": 3, "accuracy": pytest.approx(0.6)}
