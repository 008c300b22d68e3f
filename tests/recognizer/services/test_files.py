"""Stored files belong to rows: none is left behind by a row that was not stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from recognizer.models import ModelVersion, Submission
from recognizer.services.files import file_write, files_sweep_orphans
from recognizer.services.model_versions import model_version_register
from recognizer.services.submissions import submission_batch_create, submission_create
from tests.images import digit_png

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def _stored(media: Path) -> list[str]:
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


class Boom(Exception):
    pass


def test_a_submission_whose_row_fails_leaves_no_file(media):
    ghost = get_user_model()(username="never-saved")  # its submission's INSERT fails after the file is written

    with pytest.raises(ValueError, match="unsaved related object"):
        submission_batch_create(owner=ghost, images=[digit_png(0), digit_png(1)], source="api")

    assert Submission.objects.count() == 0
    assert _stored(media) == []


def test_a_model_file_saved_in_a_transaction_that_rolls_back_is_swept(media, user, settings):
    kept = submission_create(owner=user, image=digit_png(2), source="api")
    with pytest.raises(Boom), transaction.atomic():
        model_version_register(artifact_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"], name="rolled back")
        raise Boom

    assert not ModelVersion.objects.filter(name="rolled back").exists()
    orphans = [name for name in _stored(media) if name.startswith("models/")]
    assert orphans  # the row is gone but its file was written: the sweep's work

    removed = files_sweep_orphans(older_than=timedelta(0))

    assert sorted(removed) == orphans
    assert _stored(media) == [kept.image.name]


def test_the_sweep_spares_young_files_whose_rows_may_not_have_committed(media):
    (media / "submissions").mkdir()
    (media / "submissions" / "young.png").write_bytes(b"png")

    assert files_sweep_orphans(older_than=timedelta(hours=1)) == []
    assert _stored(media) == ["submissions/young.png"]


def test_the_sweep_leaves_files_outside_the_rows_folders_alone(media):
    (media / "notes.txt").write_text("not ours")

    assert files_sweep_orphans(older_than=timedelta(0)) == []
    assert _stored(media) == ["notes.txt"]


def test_a_file_is_written_once_under_the_fields_name_as_the_storage_writes_it(media):
    created_at = timezone.now()
    written, saved = Submission(created_at=created_at), Submission(created_at=created_at)

    file_write(file=written.image, name="digit.png", data=b"picture")
    saved.image.save("digit.png", ContentFile(b"picture"), save=False)

    for submission in (written, saved):
        path = media / submission.image.name
        assert submission.image.name.startswith(f"submissions/{created_at:%Y/%m/%d}/")
        assert submission.image.name.endswith(".png")
        assert path.read_bytes() == b"picture"
    assert (media / written.image.name).stat().st_mode == (media / saved.image.name).stat().st_mode
    assert written.image.name != saved.image.name


def test_a_file_that_cannot_be_written_leaves_nothing(media, monkeypatch):
    def disk_full(descriptor, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("recognizer.services.files.os.write", disk_full)
    submission = Submission(created_at=timezone.now())

    with pytest.raises(OSError, match="No space"):
        file_write(file=submission.image, name="digit.png", data=b"picture")

    assert _stored(media) == []
    assert not submission.image
