"""Per-process caches that every process forgets when their rows change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recognizer.caching import GenerationCache, generation_bump, generation_read

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stamps(settings, tmp_path):
    settings.RECOGNIZER = {**settings.RECOGNIZER, "MODEL_CACHE_DIR": tmp_path}
    return tmp_path


def test_a_value_is_loaded_once_then_kept(stamps):
    cache, loads = GenerationCache("test"), []
    assert cache.get("key", lambda: loads.append(1) or "value") == "value"
    assert cache.get("key", lambda: loads.append(1) or "other") == "value"
    assert loads == [1]


def test_a_failed_load_keeps_nothing(stamps):
    cache = GenerationCache("test")
    with pytest.raises(LookupError):
        cache.get("key", lambda: (_ for _ in ()).throw(LookupError("no such row")))
    assert cache.get("key", lambda: "found") == "found"


def test_a_bump_in_another_process_is_seen_here(stamps):
    cache = GenerationCache("test")
    cache.get("key", lambda: "old")
    before = generation_read(kind="test")
    script = (
        "import django; django.setup(); from recognizer.caching import generation_bump; generation_bump(kind='test')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "digitsite.settings.local", "RECOGNIZER_MODEL_CACHE": str(stamps)}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    assert generation_read(kind="test") != before
    assert cache.get("key", lambda: "new") == "new"


def test_each_bump_is_a_new_generation_even_within_one_clock_tick(stamps):
    seen = set()
    for _ in range(20):
        generation_bump(kind="test")
        seen.add(generation_read(kind="test"))
    assert len(seen) == 20


def test_with_a_shared_cache_the_generation_lives_in_it(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    # A shared cache that keeps nothing: every read is a new generation's miss, so nothing is ever trusted stale.
    generation_bump(kind="test")
    assert generation_read(kind="test") is None
