"""Per-process caches of rows read on every request, dropped in every process when those rows change.

The API token of a call and the active model version are read by nearly every
request and change rarely. Each process keeps them in memory and checks, per
use, one *generation* of the kind of row: a file's identity on this machine
when Django's cache is per process (the embedded default), a key in Django's
cache when it is shared (Redis, so every machine sees it). A change bumps the
generation at once and again when its transaction commits
(`generation_bump_on_commit`); a process that sees a new generation forgets
every value of that kind. Bumping only before the commit would let another
process read the old row again and keep it under the new generation; bumping
only after it would let this process (and a test, whose transaction never
commits) use the old value until then.

Values are also forgotten after `MAX_AGE_SECONDS`, in case a change was made
where no signal fires (raw SQL, a queryset `update()` on users).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from recognizer import conf

MAX_AGE_SECONDS = 300.0
MAX_ENTRIES = 10_000
LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def _cache_is_shared() -> bool:
    return settings.CACHES["default"]["BACKEND"] != LOCAL_CACHE


def _stamp_path(kind: str) -> Path:
    return conf.model_cache_dir() / f"generation-{kind}"


def generation_read(*, kind: str) -> Hashable:
    """The current generation of `kind`: changes whenever `generation_bump` runs, in any process."""
    if _cache_is_shared():
        return cache.get(f"digits:generation:{kind}")
    try:
        # A new file each bump (os.replace), so its inode and time differ even within one clock tick.
        stat = os.stat(_stamp_path(kind))
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def generation_bump(*, kind: str) -> None:
    """Make every process forget its cached values of `kind`."""
    if _cache_is_shared():
        cache.set(f"digits:generation:{kind}", uuid.uuid4().hex, timeout=None)
        return
    path = _stamp_path(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_text(uuid.uuid4().hex)
    os.replace(partial, path)


def generation_bump_on_commit(*, kind: str) -> None:
    """Bump `kind` now and once the current transaction commits (at once without one)."""
    generation_bump(kind=kind)
    transaction.on_commit(lambda: generation_bump(kind=kind))


class GenerationCache:
    """Values of one kind, kept in this process until that kind's generation moves or they grow old."""

    def __init__(self, kind: str):
        self.kind = kind
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._generation: Hashable = None

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """Return the cached value of `key`, or `load()` it and keep it; `load` may raise (nothing is kept)."""
        generation = generation_read(kind=self.kind)
        now = time.monotonic()
        with self._lock:
            if generation != self._generation:
                self._values.clear()
                self._generation = generation
            found = self._values.get(key)
        if found is not None and now - found[0] < MAX_AGE_SECONDS:
            return found[1]
        value = load()
        with self._lock:
            if self._generation == generation:  # not kept if the generation moved while loading
                if len(self._values) >= MAX_ENTRIES:
                    self._values.clear()
                self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
