"""Admin actions on the selected rows: each parses the selection and makes one service call for all of them.

Actions are plain functions `(model_admin, request, queryset)`; the review
actions ask the admin for the selection's correction ids, so the submission
and correction lists share them.
"""

from __future__ import annotations

import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from recognizer.admin.filters import LABEL_CHOICES, NOT_A_DIGIT
from recognizer.models import Correction, RetrainJob, Submission
from recognizer.selectors.datasets import dataset_export
from recognizer.services.corrections import corrections_relabel, corrections_review, corrections_withdraw
from recognizer.services.retraining import retrain_job_start

# How many of the selected rows a confirmation page shows.
CONFIRM_SAMPLE = 20


def _review(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, state: str) -> None:
    ids = model_admin.correction_ids(queryset)
    count = corrections_review(correction_ids=ids, state=state, reviewer=request.user)
    label = Correction.Review(state).label.lower()
    model_admin.message_user(request, f"{count} of {len(ids)} corrections marked {label}.", messages.SUCCESS)


@admin.action(description="Accept the corrections for training", permissions=["change"])
def accept_corrections(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Accept the selection's corrections for training, with the user as reviewer."""
    _review(model_admin, request, queryset, Correction.Review.ACCEPTED)


@admin.action(description="Reject the corrections", permissions=["change"])
def reject_corrections(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Reject the selection's corrections: never trained on, ignored by the live accuracy."""
    _review(model_admin, request, queryset, Correction.Review.REJECTED)


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Submission],
    *,
    action: str,
    title: str,
    submit: str,
    form: forms.Form | None = None,
    warning: str = "",
) -> TemplateResponse:
    """Show the selection before an action changes it; the page posts the same selection back with "apply"."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "action": action,
        "submit": submit,
        "form": form,
        "warning": warning,
        "count": queryset.count(),
        "sample": queryset[:CONFIRM_SAMPLE],
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/recognizer/submission/action_confirm.html", context)


def _posted(request: HttpRequest) -> str:
    """The name the action was posted under, for the confirmation page to post back."""
    return request.POST["action"]


def _label_from_choice(value: str) -> int | None:
    return None if value == NOT_A_DIGIT else int(value)


class RelabelForm(forms.Form):
    label = forms.TypedChoiceField(
        choices=[("", "choose"), *LABEL_CHOICES],
        coerce=_label_from_choice,
        help_text="The true digit of every selected image, or not a digit.",
    )


@admin.action(description="Relabel (choose the true digit, or not a digit)", permissions=["change"])
def relabel(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Submission]
) -> TemplateResponse | None:
    """Ask for the true label (a digit, or not a digit), then give it to every selected submission, accepted."""
    form = RelabelForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return confirmation_page(
            model_admin,
            request,
            queryset,
            action=_posted(request),
            title="Relabel submissions",
            submit="Relabel",
            form=form,
        )
    label = form.cleaned_data["label"]
    ids = list(queryset.values_list("pk", flat=True))
    count = corrections_relabel(submission_ids=ids, label=label, reviewer=request.user)
    model_admin.message_user(
        request,
        f"{count} submissions relabelled {Correction.text_of(label)} and accepted for training.",
        messages.SUCCESS,
    )
    return None


@admin.action(description="Withdraw corrections (send back to their owners)", permissions=["change"])
def withdraw_corrections(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Submission]
) -> TemplateResponse | None:
    """After a confirmation page, withdraw the selection's corrections; each withdrawn label goes in the history."""
    if "apply" not in request.POST:
        warning = (
            "Their corrections are withdrawn: the submissions leave every training set and their owners "
            "are asked for the true digit again."
        )
        title = "Withdraw the corrections and send the submissions back to their owners"
        submit = "Yes, withdraw them"
        return confirmation_page(
            model_admin, request, queryset, action=_posted(request), title=title, submit=submit, warning=warning
        )
    owners = dict(queryset.values_list("pk", "owner_id"))
    withdrawn = corrections_withdraw(submission_ids=list(owners), by=request.user)
    for row in withdrawn:
        submission = Submission(pk=row["submission_id"], owner_id=owners[row["submission_id"]])
        label = Correction.text_of(row["label"])
        message = f"Sent back to its owner: withdrew correction {label} ({row['review_state']})."
        model_admin.log_change(request, submission, message)
    model_admin.message_user(request, f"{len(withdrawn)} corrections withdrawn.", messages.SUCCESS)
    return None


@admin.action(description="Export as a dataset (IDX + CSV zip)", permissions=["export_dataset"])
def export_dataset(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Submission]) -> FileResponse:
    """Send the selection as an MNIST-style zip: IDX images and labels, and a CSV of where each label came from."""
    # Everyone's drawings in one file: a permission of its own, not the view permission.
    if not model_admin.has_export_dataset_permission(request):
        raise PermissionDenied
    # FileResponse closes the file once it is sent.
    archive = tempfile.TemporaryFile()  # noqa: SIM115
    summary = dataset_export(submissions=queryset, out=archive)
    archive.seek(0)
    name = f"digits-{timezone.now():%Y%m%d-%H%M%S}-{summary['count']}.zip"
    response = FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
    response["X-Dataset-Count"] = str(summary["count"])
    response["X-Dataset-Skipped"] = str(summary["skipped"])
    # Left out as well: corrected to "not a digit", or flagged by the model and never corrected.
    response["X-Dataset-Not-Digits"] = str(summary["not_digits"])
    response["X-Dataset-Flagged"] = str(summary["flagged"])
    return response


@admin.action(description="Start a retraining (on all accepted corrections)", permissions=["change"])
def start_retraining(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Queue a retraining on every accepted correction; the selection does not matter."""
    retrain_start(model_admin, request)


def retrain_start(model_admin: admin.ModelAdmin, request: HttpRequest) -> RetrainJob | None:
    """Start a retraining for `request.user` and say how it went; shared by the action and the button."""
    try:
        job = retrain_job_start(trigger="admin", requested_by=request.user)
    except ValidationError as error:  # one already in flight, or too few accepted corrections
        model_admin.message_user(request, f"No retraining started: {' '.join(error.messages)}", messages.ERROR)
        return None
    url = reverse("admin:recognizer_retrainjob_change", args=[job.pk])
    model_admin.message_user(
        request,
        format_html('Retraining started: <a href="{}">{}</a>. Its progress and log are on its page.', url, job),
        messages.SUCCESS,
    )
    return job
