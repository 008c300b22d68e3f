import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api.helpers import SUBMISSIONS, assert_error

TOKEN_URL = "/api/v1/auth/token/"
ADDRESSES = ("10.0.0.1", "10.0.0.2")

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_rates(settings, user, other_user):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }
    # Only this test's callers: the cache may be the shared Redis, so it is never flushed whole.
    keys = [f"throttle_user_{person.pk}" for person in (user, other_user)]
    keys += [f"throttle_anon_{address}" for address in ADDRESSES]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_each_user_has_their_own_budget_then_429_with_retry_after(api, other_api, tiny_rates):
    for _ in range(3):
        assert api.get(SUBMISSIONS).status_code == 200

    response = api.get(SUBMISSIONS)

    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert other_api.get(SUBMISSIONS).status_code == 200


def test_anonymous_callers_are_throttled_per_address(tiny_rates):
    # Logging in is what anonymous callers can do, so that is what their budget guards.
    here, there = (APIClient(REMOTE_ADDR=address) for address in ADDRESSES)
    guess = {"username": "alice", "password": "guess"}
    for _ in range(2):
        assert here.post(TOKEN_URL, guess, format="json").status_code == 400

    response = here.post(TOKEN_URL, guess, format="json")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert there.post(TOKEN_URL, guess, format="json").status_code == 400


def test_a_history_stored_by_drfs_own_throttle_still_counts(api, user, tiny_rates):
    # A process of the previous release, sharing the cache, stored the times as a list.
    now = time.time()
    cache.set(f"throttle_user_{user.pk}", [now - 1, now - 2], 60)

    assert api.get(SUBMISSIONS).status_code == 200
    response = api.get(SUBMISSIONS)

    assert_error(response, 429, "throttled")
    assert list(cache.get(f"throttle_user_{user.pk}"))[1:] == [now - 1, now - 2]
