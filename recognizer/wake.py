"""Wake a request that waits for predictions made elsewhere: a Redis list per submission.

With workers, the web process stores a submission and a worker predicts it.
The request that wants the answer blocks on the submission's list (BLPOP)
instead of asking the database again and again; the predicting process pushes
to it once the prediction is committed. A list, not a pub/sub message: a push
made before the request starts waiting is still there (for `KEY_TTL_SECONDS`).
Keys carry a hash of the database's name, so sites or test runs that share one
Redis never wake each other.

Waking is an optimisation: without a Redis broker, or when Redis cannot be
reached, `predictions_await` answers None and the caller polls the database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import redis
from django.db import DEFAULT_DB_ALIAS, connections

from recognizer import conf

logger = logging.getLogger(__name__)

KEY_TTL_SECONDS = 120
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _client() -> redis.Redis | None:
    url = conf.wake_url()
    if not url:
        return None
    with _clients_lock:
        if url not in _clients:
            # Blocking reads last up to the longest wait a request may ask for.
            _clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=2, socket_timeout=conf.max_wait_seconds() + 5
            )
        return _clients[url]


def _key(submission_id: int) -> str:
    database = connections[DEFAULT_DB_ALIAS].settings_dict
    scope = hashlib.sha256(f"{database['ENGINE']}|{database['NAME']}".encode()).hexdigest()[:16]
    return f"digits:predicted:{scope}:{submission_id}"


def predictions_announce(*, submission_ids: list[int]) -> None:
    """Wake whoever waits for these submissions: their predictions (or failures) are committed."""
    client = _client()
    if client is None or not submission_ids:
        return
    try:
        pipeline = client.pipeline(transaction=False)
        for submission_id in submission_ids:
            key = _key(submission_id)
            pipeline.rpush(key, 1)
            pipeline.expire(key, KEY_TTL_SECONDS)
        pipeline.execute()
    except redis.RedisError as error:  # the waiting request falls back to reading the database
        logger.warning("Could not announce predictions of %s: %s", submission_ids, error)


def predictions_await(*, submission_ids: list[int], timeout: float) -> bool | None:
    """Block until every submission has been announced (True) or `timeout` seconds pass (False).

    None when there is no channel to wait on (no Redis broker, or Redis unreachable): poll instead.
    """
    client = _client()
    if client is None:
        return None
    waiting = {_key(submission_id) for submission_id in submission_ids}
    deadline = time.monotonic() + timeout
    try:
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # BLPOP's timeout has a resolution of a millisecond; 0 would mean "forever".
            popped = client.blpop(sorted(waiting), timeout=max(0.001, remaining))
            if popped is None:
                return False
            waiting.discard(popped[0].decode())
    except redis.RedisError as error:
        logger.warning("Could not wait on Redis for %s (%s); reading the database instead.", submission_ids, error)
        return None
    return True
