"""Predictions on real Celery workers over the real Redis: nothing lost, nothing twice."""

from __future__ import annotations

import os
import re
import signal

import pytest

from recognizer import tasks
from recognizer.inference import engine
from recognizer.models import Submission
from recognizer.services.submissions import submission_batch_create, submission_create
from tests.celery.conftest import broker_at, wait_for
from tests.images import digit_png, sample_digit

pytestmark = pytest.mark.celery_worker

CLOSED_PORT_URL = "redis://127.0.0.1:1/14"


def all_done(ids) -> bool:
    return not Submission.objects.filter(pk__in=ids).exclude(status=Submission.Status.DONE).exists()


def predicted_at(ids) -> dict[int, object]:
    return dict(Submission.objects.filter(pk__in=ids, status=Submission.Status.DONE).values_list("pk", "predicted_at"))


def test_a_submission_is_predicted_by_the_worker_not_the_web_process(workers, user, active_version):
    engine.clear()
    worker = workers.start()

    single = submission_create(owner=user, image=digit_png(0), source="api")
    batch = submission_batch_create(owner=user, images=[digit_png(i) for i in (1, 2, 3)], source="api")

    ids = [single.pk, *(s.pk for s in batch)]
    wait_for(lambda: all_done(ids), message="the worker's predictions")
    for index, pk in zip((0, 1, 2, 3), ids, strict=True):
        submission = Submission.objects.get(pk=pk)
        assert submission.predicted_digit == sample_digit(index)[1]
        assert submission.model_version == active_version
    assert not engine._loaded, "the test (web) process loaded a model"
    log = worker.log()
    assert "recognizer.tasks.submission_predict[" in log
    assert "recognizer.tasks.submissions_predict[" in log
    assert log.count("succeeded in") == 2


def test_the_batch_endpoint_waits_for_a_worker_to_predict_every_image(workers, user, active_version, client):
    workers.start()
    client.force_login(user)
    images = {"images": [_named(digit_png(i), f"{i}.png") for i in range(8)]}

    response = client.post("/api/v1/submissions/batch/?wait=30", images)

    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["status"] for item in body] == ["done"] * 8
    assert [item["prediction"]["digit"] for item in body] == [sample_digit(i)[1] for i in range(8)]


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/png")


def test_kill_9_of_the_worker_loses_nothing_and_predicts_nothing_twice(broker, workers, user, active_version):
    # Queue work while no worker runs, so the first worker is busy when it dies. A prediction takes
    # milliseconds, so it takes a few hundred for the kill to land while some are still in flight.
    ids = [submission_create(owner=user, image=digit_png(i % 40), source="api").pk for i in range(300)]
    assert broker.queued() == 300
    first = workers.start(concurrency=2)
    wait_for(lambda: Submission.objects.filter(pk__in=ids, status=Submission.Status.DONE).exists())

    first.kill()

    lost = broker.take_unacked()  # what Redis would re-deliver after the visibility timeout
    assert lost, "no task was in flight when the worker died"
    done_before = predicted_at(ids)
    assert len(done_before) < len(ids)
    # A new worker takes what is queued; the sweep (celery beat's task) re-sends
    # what the dead worker held, which Redis would only re-deliver after the
    # visibility timeout.
    second = workers.start(concurrency=2)
    tasks.submissions_sweep_pending.delay()
    wait_for(lambda: all_done(ids), message="every submission done")
    after = predicted_at(ids)
    assert {pk: after[pk] for pk in done_before} == done_before
    assert all(Submission.objects.get(pk=pk).predicted_digit == sample_digit(i % 40)[1] for i, pk in enumerate(ids))

    # The dead worker's messages come back at last: running them changes nothing.
    redelivered = broker.redeliver(lost)
    wait_for(
        lambda: all(f"{task_id}] succeeded" in second.log() for task_id in redelivered), message="redelivered tasks"
    )
    assert predicted_at(ids) == after


def _kill_a_pool_process_mid_task(worker, ids, attempts: int = 25) -> int:
    """kill -9 the pool process until one dies in the middle of a task; return how many kills it took.

    A prediction takes milliseconds, so a kill can land between two tasks, when nothing is lost; the
    pool then starts a new process and the next kill tries again while work remains.
    """
    for attempt in range(1, attempts + 1):
        [child] = wait_for(lambda: worker.pool_processes() or None, message="a pool process")
        os.kill(child, signal.SIGKILL)
        wait_for(lambda killed=child: worker.pool_processes() not in ([], [killed]), message="the pool's new process")
        if "WorkerLostError" in worker.log():
            return attempt
        if all_done(ids):
            break
    pytest.fail(f"no kill landed while a task ran ({attempt} tried); worker log:\n{worker.log()[-3000:]}")


def test_a_task_whose_pool_process_is_killed_runs_again(broker, workers, user, active_version):
    # A queue of work for one pool process, so it is busy when it is killed.
    ids = [submission_create(owner=user, image=digit_png(i % 40), source="api").pk for i in range(400)]
    worker = workers.start(concurrency=1)
    wait_for(lambda: Submission.objects.filter(pk__in=ids, status=Submission.Status.DONE).exists())

    _kill_a_pool_process_mid_task(worker, ids)

    wait_for(lambda: all_done(ids), message="every submission, the killed task's included")
    assert all(Submission.objects.get(pk=pk).predicted_digit == sample_digit(i % 40)[1] for i, pk in enumerate(ids))
    received = re.findall(r"recognizer\.tasks\.submission_predict\[[^\]]+\] received", worker.log())
    assert len(received) > len(ids)  # the lost one was received again


def test_broker_unreachable_when_submitting_loses_nothing(broker, workers, user, active_version):
    workers.start()

    with broker_at(CLOSED_PORT_URL, broker.queue):
        submission = submission_create(owner=user, image=digit_png(7), source="api")

    submission.refresh_from_db()
    assert submission.status == Submission.Status.PENDING
    assert broker.queued() == 0
    # The broker is back: celery beat's sweep re-sends what is still pending.
    tasks.submissions_sweep_pending.delay()
    done = wait_for(
        lambda: Submission.objects.filter(pk=submission.pk, status=Submission.Status.DONE).first(),
        message="the swept submission",
    )
    assert done.predicted_digit == sample_digit(7)[1]


def test_a_number_is_read_by_the_worker_from_the_digits_the_web_process_found(workers, user, active_version):
    from tests.images import number_png

    worker = workers.start()
    # The web process finds the digits (so a picture with none or too many is refused at once) and stores them.
    number = submission_create(owner=user, image=number_png("2026"), source="api", kind="number")
    assert number.status == Submission.Status.PENDING and number.digits.count() == 4

    wait_for(lambda: all_done([number.pk]), message="the worker's reading of the number")
    number.refresh_from_db()
    assert number.number == "2026"
    assert list(number.digits.order_by("position").values_list("predicted_digit", flat=True)) == [2, 0, 2, 6]
    stamp = number.predicted_at
    tasks.submission_predict.delay(number.pk)  # sent again: nothing changes
    wait_for(lambda: worker.log().count("succeeded in") == 2, message="the second run")
    number.refresh_from_db()
    assert number.predicted_at == stamp
