"""Waking a request that waits for a worker's prediction, on the real Redis."""

from __future__ import annotations

import uuid

import pytest

from recognizer.wake import predictions_announce, predictions_await
from tests.celery.conftest import REDIS_TEST_URL


@pytest.fixture
def redis_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_TEST_URL


def _ids(count: int) -> list[int]:
    # Ids no other test run waits for: several runs share the test Redis.
    base = uuid.uuid4().int % 10**15
    return [base + index for index in range(count)]


def test_an_announcement_wakes_the_wait_even_if_it_came_first(redis_broker, db):
    ids = _ids(2)
    predictions_announce(submission_ids=ids)
    assert predictions_await(submission_ids=ids, timeout=30) is True


def test_without_an_announcement_the_wait_ends_at_its_timeout(redis_broker, db):
    ids = _ids(2)
    predictions_announce(submission_ids=ids[:1])
    assert predictions_await(submission_ids=ids, timeout=0.05) is False


def test_without_a_redis_broker_there_is_nothing_to_wait_on(db):
    assert predictions_await(submission_ids=_ids(1), timeout=1) is None


def test_an_unreachable_redis_means_reading_the_database_instead(settings, db):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    predictions_announce(submission_ids=_ids(1))  # logged, not raised
    assert predictions_await(submission_ids=_ids(1), timeout=1) is None
