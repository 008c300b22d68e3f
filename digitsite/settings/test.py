"""Test settings: fast hashing, isolated media, no throttling surprises."""

import os
import tempfile

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-that-is-long-enough-for-checks-0123456789")

from .base import *  # noqa: F403
from .base import DATABASES, RECOGNIZER, REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A Celery worker started by the tests is handed the test run's folder and
# its own queue (several test runs may share one Redis).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("DIGITS_TEST_CELERY_QUEUE", "celery")
MEDIA_ROOT = os.environ.get("DIGITS_TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="digits-test-media-")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that worker processes see the test database.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.mkdtemp(prefix="digits-test-db-"), "test.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1000/minute", "user": "100000/minute"}}
# Retraining without a broker runs inside the test's own request, so tests see it finished; the background
# thread that the embedded default uses has its own test (tests/recognizer/test_retraining.py).
RECOGNIZER = {
    **RECOGNIZER,
    "MODEL_CACHE_DIR": tempfile.mkdtemp(prefix="digits-test-models-"),
    "RETRAIN_IN_BACKGROUND": False,
}
