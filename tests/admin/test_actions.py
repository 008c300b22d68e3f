"""The review queue's bulk actions: each calls one service and reports what it did."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from recognizer.admin import actions as admin_actions
from recognizer.admin import corrections as correction_admin
from recognizer.admin import submissions as submission_admin
from recognizer.models import Correction, RetrainJob, Submission
from tests.factories import CorrectionFactory, SubmissionFactory, UserFactory
from training.data import read_idx
from training.preprocessing import bytes_to_pixels

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:recognizer_submission_changelist")


def run(client, action: str, submissions, **extra):
    data = {"action": action, "_selected_action": [s.pk for s in submissions], "index": "0", **extra}
    return client.post(CHANGELIST, data)


def test_accept_and_reject_change_only_the_selected_corrections(staff_client, staff_user, queue):
    pending, rejected, plain = queue["pending"], queue["rejected"], queue["unsure"]
    response = run(staff_client, "accept_corrections", [pending.submission, rejected.submission, plain])
    assert response.status_code == 302
    for correction in (pending, rejected):
        correction.refresh_from_db()
        assert correction.review_state == Correction.Review.ACCEPTED
        assert correction.reviewed_by == staff_user
    assert not Correction.objects.filter(submission=plain).exists()
    run(staff_client, "reject_corrections", [pending.submission])
    pending.refresh_from_db()
    assert pending.review_state == Correction.Review.REJECTED
    assert Correction.objects.get(pk=queue["accepted"].pk).review_state == Correction.Review.ACCEPTED


def test_relabel_asks_for_the_digit_then_relabels_and_accepts(staff_client, staff_user, queue):
    pending, plain = queue["pending"], queue["unsure"]
    new_label = (pending.label + 3) % 10
    page = run(staff_client, "relabel", [pending.submission, plain])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/recognizer/submission/action_confirm.html"
    assert 'name="label"' in page.content.decode()
    assert not Correction.objects.filter(submission=plain).exists()

    response = run(staff_client, "relabel", [pending.submission, plain], apply="yes", label=str(new_label))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.label == new_label
    assert pending.review_state == Correction.Review.ACCEPTED
    assert pending.reviewed_by == staff_user
    assert pending.history[-1]["label"] == (new_label - 3) % 10
    created = Correction.objects.get(submission=plain)
    assert (created.label, created.review_state) == (new_label, Correction.Review.ACCEPTED)
    assert Submission.objects.get(pk=plain.pk).is_corrected


def test_relabel_refuses_a_label_that_is_not_a_digit(staff_client, queue):
    page = run(staff_client, "relabel", [queue["unsure"]], apply="yes", label="12")
    assert page.status_code == 200  # the form again, with its error
    assert not Correction.objects.filter(submission=queue["unsure"]).exists()


def test_relabel_keeps_select_across_on_the_intermediate_page(staff_client, queue):
    page = run(staff_client, "relabel", [queue["unsure"]], select_across="1")
    assert 'name="select_across" value="1"' in page.content.decode()
    response = run(staff_client, "relabel", [queue["unsure"]], select_across="1", apply="yes", label="4")
    assert response.status_code == 302
    assert Correction.objects.filter(label=4, review_state=Correction.Review.ACCEPTED).count() == len(queue)


def test_reopen_confirms_then_withdraws_the_corrections_and_logs_them(staff_client, queue):
    accepted, plain = queue["accepted"], queue["confident"]
    page = run(staff_client, "reopen", [accepted.submission, plain])
    assert page.status_code == 200
    assert Correction.objects.filter(pk=accepted.pk).exists()

    response = run(staff_client, "reopen", [accepted.submission, plain], apply="yes")
    assert response.status_code == 302
    assert not Correction.objects.filter(pk=accepted.pk).exists()
    submission = Submission.objects.get(pk=accepted.submission.pk)
    assert not submission.is_corrected
    entry = LogEntry.objects.get(object_id=str(submission.pk))
    assert f"withdrew correction {accepted.label} (accepted)" in entry.get_change_message()
    assert entry.object_repr == str(submission)
    assert Correction.objects.filter(pk=queue["pending"].pk).exists()


def test_withdraw_action_says_what_it_does_under_its_old_name(staff_client, queue):
    actions = dict(staff_client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert actions["reopen"] == "Withdraw corrections (send back to their owners)"
    page = run(staff_client, "reopen", [queue["accepted"].submission])
    assert 'name="action" value="reopen"' in page.content.decode()
    assert 'value="Yes, withdraw them"' in page.content.decode()


def spy(monkeypatch, module, name: str) -> list[dict]:
    """Record every call of `module.name`, still calling it."""
    calls = []
    real = getattr(module, name)

    def recording(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def test_withdraw_is_one_service_call_for_the_whole_selection(staff_client, staff_user, queue, monkeypatch):
    calls = spy(monkeypatch, admin_actions, "corrections_withdraw")
    chosen = [queue["accepted"].submission, queue["pending"].submission, queue["confident"]]
    run(staff_client, "reopen", chosen, apply="yes")
    assert len(calls) == 1
    assert sorted(calls[0]["submission_ids"]) == sorted(s.pk for s in chosen)
    assert calls[0]["by"] == staff_user


def read_export(response, folder) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz", "labels.csv"]
    archive.extractall(folder)
    images = read_idx(f"{folder}/images-idx3-ubyte.gz")
    labels = read_idx(f"{folder}/labels-idx1-ubyte.gz")
    rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    return images, labels, rows


def test_export_is_valid_idx_with_corrected_labels_else_predicted(staff_client, queue, tmp_path):
    pending_failed = SubmissionFactory(status=Submission.Status.PENDING, predicted_digit=None, confidence=None)
    chosen = [queue["pending"].submission, queue["unsure"], queue["accepted"].submission, pending_failed]
    response = run(staff_client, "export_dataset", chosen)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["X-Dataset-Skipped"] == "1"
    images, labels, rows = read_export(response, tmp_path)

    expected = sorted(chosen[:3], key=lambda s: s.pk)
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (3,)
    for index, submission in enumerate(expected):
        submission = Submission.objects.select_related("correction").get(pk=submission.pk)
        label = submission.correction.label if submission.is_corrected else submission.predicted_digit
        assert labels[index] == label
        assert np.array_equal(images[index], bytes_to_pixels(submission.pixels))
        assert rows[index]["submission_id"] == str(submission.pk)
        assert rows[index]["label"] == str(label)
        assert rows[index]["label_source"] == ("correction" if submission.is_corrected else "prediction")


def test_export_takes_a_numbers_digits_one_image_each(staff_client, tmp_path):
    from recognizer.services.corrections import correction_digit_set
    from tests.factories import NumberSubmissionFactory

    number = NumberSubmissionFactory(number="20126")
    correction_digit_set(submission=number, position=2, label=None)
    response = run(staff_client, "export_dataset", [number])
    assert (response["X-Dataset-Count"], response["X-Dataset-Not-Digits"]) == ("4", "1")
    images, labels, rows = read_export(response, tmp_path)
    assert labels.tolist() == [2, 0, 2, 6] and images.shape == (4, 28, 28)
    assert [row["position"] for row in rows] == ["0", "1", "3", "4"]


def test_start_retraining_queues_a_job_for_the_admin(staff_client, staff_user, queue):
    CorrectionFactory.create_batch(30, review_state=Correction.Review.ACCEPTED)
    response = run(staff_client, "start_retraining", [queue["unsure"]])
    assert response.status_code == 302
    job = RetrainJob.objects.get()
    assert (job.trigger, job.requested_by) == ("admin", staff_user)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Retraining started" in m for m in messages)


def test_start_retraining_says_why_when_it_cannot(staff_client, queue):
    response = run(staff_client, "start_retraining", [queue["unsure"]])
    assert not RetrainJob.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("No retraining started" in m for m in messages)


def test_delete_goes_through_the_service_and_removes_the_image(staff_client, queue, django_capture_on_commit_callbacks):
    submission = queue["unsure"]
    storage, name = submission.image.storage, submission.image.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        response = run(staff_client, "delete_selected", [submission], post="yes")
    assert response.status_code == 302
    assert not Submission.objects.filter(pk=submission.pk).exists()
    assert not storage.exists(name)


def test_deleting_submissions_is_one_service_call(staff_client, queue, monkeypatch):
    calls = spy(monkeypatch, submission_admin, "submissions_delete")
    chosen = [queue["unsure"], queue["pending"].submission, queue["confident"]]
    assert run(staff_client, "delete_selected", chosen, post="yes").status_code == 302
    assert len(calls) == 1
    assert sorted(calls[0]["submission_ids"]) == sorted(s.pk for s in chosen)
    assert not Submission.objects.filter(pk__in=[s.pk for s in chosen]).exists()


def test_deleting_corrections_is_one_withdrawal(staff_client, staff_user, queue, monkeypatch):
    calls = spy(monkeypatch, correction_admin, "corrections_withdraw")
    chosen = [queue["pending"], queue["accepted"], queue["rejected"]]
    data = {"action": "delete_selected", "_selected_action": [c.pk for c in chosen], "post": "yes"}
    assert staff_client.post(reverse("admin:recognizer_correction_changelist"), data).status_code == 302
    assert calls == [{"submission_ids": calls[0]["submission_ids"], "by": staff_user}]
    assert sorted(calls[0]["submission_ids"]) == sorted(c.submission_id for c in chosen)


def test_deleting_corrections_in_their_admin_withdraws_them(staff_client, queue):
    pending, accepted = queue["pending"], queue["accepted"]
    changelist = reverse("admin:recognizer_correction_changelist")
    data = {"action": "delete_selected", "_selected_action": [pending.pk, accepted.pk], "post": "yes"}

    assert staff_client.post(changelist, data).status_code == 302

    assert not Correction.objects.filter(pk__in=[pending.pk, accepted.pk]).exists()
    for submission in Submission.objects.filter(pk__in=[pending.submission_id, accepted.submission_id]):
        assert not submission.is_corrected and not submission.needs_review
    one = queue["rejected"]
    assert (
        staff_client.post(reverse("admin:recognizer_correction_delete", args=[one.pk]), {"post": "yes"}).status_code
        == 302
    )
    assert not Submission.objects.get(pk=one.submission_id).is_corrected


@pytest.mark.parametrize("action", ["accept_corrections", "relabel", "reopen", "export_dataset", "start_retraining"])
def test_actions_are_refused_to_people_who_are_not_staff(user_client, queue, action):
    response = run(user_client, action, [queue["pending"].submission], apply="yes", label="1")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Correction.objects.get(pk=queue["pending"].pk).review_state == Correction.Review.PENDING
    assert not RetrainJob.objects.exists()


def action_names(changelist) -> set[str]:
    """The actions a changelist offers; without any, it has no action form at all."""
    form = changelist.context["action_form"]
    return {name for name, _ in form.fields["action"].choices} if form else set()


def staff_with(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="recognizer", codename__in=codenames))
    return user


def test_export_needs_its_own_permission_not_the_view_permission(client, queue):
    client.force_login(staff_with("view_submission"))
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    assert "export_dataset" not in action_names(listing)
    # Posting it anyway gets the list page back (the changelist has no action to run), never a download.
    response = run(client, "export_dataset", [queue["unsure"]])
    assert response.status_code in (200, 302, 403)
    assert response.get("Content-Type") != "application/zip"
    assert not response.has_header("Content-Disposition")


def test_export_is_allowed_with_the_export_permission(client, queue):
    client.force_login(staff_with("view_submission", "export_dataset"))
    assert "export_dataset" in action_names(client.get(CHANGELIST))
    response = run(client, "export_dataset", [queue["unsure"]])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"


def test_the_export_action_itself_refuses_without_the_permission(rf, queue):
    """Even called some other way than through the changelist, the action checks the permission."""
    request = rf.post(CHANGELIST)
    request.user = staff_with("view_submission", "change_submission")
    with pytest.raises(PermissionDenied):
        admin_actions.export_dataset(admin.site.get_model_admin(Submission), request, Submission.objects.all())


def test_relabel_offers_not_a_digit_and_gives_it(staff_client, staff_user, queue):
    pending, plain = queue["pending"], queue["unsure"]
    page = run(staff_client, "relabel", [pending.submission, plain])
    assert '<option value="none">not a digit</option>' in page.content.decode()

    response = run(staff_client, "relabel", [pending.submission, plain], apply="yes", label="none")

    assert response.status_code == 302
    relabelled = Correction.objects.filter(submission__in=[pending.submission, plain])
    assert {(c.label, c.review_state, c.reviewed_by) for c in relabelled} == {(None, "accepted", staff_user)}
    pending.refresh_from_db()
    assert pending.history[-1]["label"] is not None
    messages = [str(m) for m in staff_client.get(CHANGELIST).context["messages"]]
    assert "2 submissions relabelled not a digit and accepted for training." in messages


def test_the_confirmation_page_says_not_a_digit_in_words(staff_client):
    correction = CorrectionFactory(label=None, submission__several_digits=True, submission__predicted_digit=4)
    page = run(staff_client, "relabel", [correction.submission]).content.decode()
    assert f"#{correction.submission.pk}: 4 (several digits) &rarr; not a digit" in page


def test_withdrawing_a_not_a_digit_correction_logs_it_in_words(staff_client):
    correction = CorrectionFactory(label=None)
    run(staff_client, "reopen", [correction.submission], apply="yes")
    entry = LogEntry.objects.get(object_id=str(correction.submission.pk))
    assert "withdrew correction not a digit (pending)" in entry.get_change_message()


def test_export_leaves_not_a_digit_out_and_says_how_many(staff_client, queue, tmp_path):
    not_a_digit = CorrectionFactory(label=None).submission
    flagged = SubmissionFactory(not_a_digit=True)
    response = run(staff_client, "export_dataset", [queue["unsure"], not_a_digit, flagged])
    assert (response["X-Dataset-Count"], response["X-Dataset-Not-Digits"], response["X-Dataset-Flagged"]) == (
        "1",
        "1",
        "1",
    )
    _, labels, rows = read_export(response, tmp_path)
    assert labels.tolist() == [queue["unsure"].predicted_digit]
    assert [row["submission_id"] for row in rows] == [str(queue["unsure"].pk)]
