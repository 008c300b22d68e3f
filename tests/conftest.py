"""Fixtures shared by every test."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _forget_rows_kept_per_process():
    """Start each test without the tokens and active version this process keeps (recognizer/caching.py).

    A test's rollback fires no signal, so what one test changed and kept must not serve the next.
    """
    from recognizer.selectors.tokens import TOKENS
    from recognizer.services.model_versions import ACTIVE_VERSION

    TOKENS.clear()
    ACTIVE_VERSION.clear()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def active_version(db):
    """The shipped model, registered as the active version by post_migrate."""
    from recognizer.services.model_versions import model_version_ensure_active

    return model_version_ensure_active()


@pytest.fixture
def with_workers(settings):
    """A broker is configured, so predictions are left to workers; none runs here, and nothing is sent
    (the test's transaction never commits): new submissions stay pending."""
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def stored_copy(active_version) -> str:
    """The active version's served copy in storage, as the release step's ensure_model leaves it; returns its name."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from recognizer.inference import served_copy_for
    from training.serving import SERVING_FORMAT

    local = served_copy_for(active_version)
    name = f"{active_version.artifact.name}.{SERVING_FORMAT}.tflite"
    if not default_storage.exists(name):  # this process had the copy cached already; storage may not
        default_storage.save(name, ContentFile(local.read_bytes()))
    return name
