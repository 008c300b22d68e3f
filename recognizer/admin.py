"""Admin for the recognizer: the review queue, model versions and retraining.

Staff review corrections here, pick what the model learns from, start a
retraining and choose which model version serves. Every change goes through
`recognizer.services`; the pages only parse input and show results. Rows are
read-only in their forms: submissions come from people, versions from
training, jobs from workers.
"""

from __future__ import annotations

import base64
import json
import tempfile

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from recognizer.models import Correction, ModelVersion, RetrainJob, Submission
from recognizer.selectors.datasets import dataset_export
from recognizer.selectors.model_versions import model_version_active, model_version_rollback_target
from recognizer.selectors.retrain_jobs import retrain_job_current
from recognizer.selectors.submissions import REVIEW_ORDER, submission_review_queue
from recognizer.services.corrections import (
    correction_withdraw,
    corrections_relabel,
    corrections_review,
    corrections_withdraw,
)
from recognizer.services.model_versions import model_version_activate
from recognizer.services.retraining import retrain_job_start
from recognizer.services.submissions import submission_delete
from training.preprocessing import bytes_to_pixels, pixels_to_png

DIGIT_CHOICES = [(str(d), str(d)) for d in range(10)]
# Confidence bands: (parameter, label, lowest included, highest excluded).
CONFIDENCE_BANDS = (
    ("lt50", "below 50%", None, 0.5),
    ("50-80", "50% to 80%", 0.5, 0.8),
    ("80-95", "80% to 95%", 0.8, 0.95),
    ("ge95", "95% and above", 0.95, None),
)
THUMB_STYLE = (
    "width:56px;height:56px;object-fit:contain;background:#fff;border:1px solid #ddd;image-rendering:pixelated"
)


def input_data_uri(pixels: bytes) -> str:
    """Return the 28x28 input as an inline PNG (about 0.4 kB), so the list needs no request per row."""
    return "data:image/png;base64," + base64.b64encode(pixels_to_png(bytes_to_pixels(pixels))).decode("ascii")


def _correction(obj: Submission) -> Correction | None:
    """The submission's correction, read from select_related without a query."""
    return getattr(obj, "correction", None) if obj.is_corrected else None


class ReadOnlyRowsMixin:
    """Rows are shown, never edited or added by hand: changes go through actions and services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Model-level change permission enables the actions; a row's form stays read-only.
        return obj is None and self.can_act(request)

    def can_act(self, request) -> bool:
        """Whether `request.user` may run the actions that change data (the model's change permission)."""
        return super().has_change_permission(request)


class ReviewActionsMixin:
    """Accept or reject the corrections of the selected rows for training."""

    def correction_ids(self, queryset) -> list[int]:
        raise NotImplementedError

    def _review(self, request, queryset, state: str) -> None:
        ids = self.correction_ids(queryset)
        count = corrections_review(correction_ids=ids, state=state, reviewer=request.user)
        label = Correction.Review(state).label.lower()
        self.message_user(request, f"{count} of {len(ids)} corrections marked {label}.", messages.SUCCESS)

    @admin.action(description="Accept the corrections for training", permissions=["change"])
    def accept_corrections(self, request, queryset):
        self._review(request, queryset, Correction.Review.ACCEPTED)

    @admin.action(description="Reject the corrections", permissions=["change"])
    def reject_corrections(self, request, queryset):
        self._review(request, queryset, Correction.Review.REJECTED)


# Filters -------------------------------------------------------------------------------------------------------


class DigitFilter(admin.SimpleListFilter):
    """Ten fixed choices, so the filter costs no query even with many rows."""

    field_path = ""

    def lookups(self, request, model_admin):
        return DIGIT_CHOICES

    def queryset(self, request, queryset):
        if self.value() in {d for d, _ in DIGIT_CHOICES}:
            return queryset.filter(**{self.field_path: int(self.value())})
        return queryset


class PredictedDigitFilter(DigitFilter):
    title = "predicted digit"
    parameter_name = "predicted"
    field_path = "predicted_digit"


class CorrectedDigitFilter(DigitFilter):
    title = "corrected digit"
    parameter_name = "corrected_to"
    field_path = "correction__label"


class HasCorrectionFilter(admin.SimpleListFilter):
    title = "has a correction"
    parameter_name = "has_correction"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(is_corrected=self.value() == "yes")
        return queryset


class ReviewStateFilter(admin.SimpleListFilter):
    title = "review state"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [*Correction.Review.choices, ("none", "No correction")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(is_corrected=False)
        if self.value() == Correction.Review.PENDING:
            return queryset.filter(needs_review=True)  # the same rows, served by the review-queue index
        if self.value() in Correction.Review.values:
            return queryset.filter(correction__review_state=self.value())
        return queryset


class ConfidenceBandFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"

    def lookups(self, request, model_admin):
        return [(key, label) for key, label, _, _ in CONFIDENCE_BANDS]

    def queryset(self, request, queryset):
        for key, _, low, high in CONFIDENCE_BANDS:
            if self.value() == key:
                if low is not None:
                    queryset = queryset.filter(confidence__gte=low)
                if high is not None:
                    queryset = queryset.filter(confidence__lt=high)
        return queryset


# Submissions: the review queue ---------------------------------------------------------------------------------


class RelabelForm(forms.Form):
    label = forms.TypedChoiceField(
        choices=[("", "choose"), *DIGIT_CHOICES], coerce=int, help_text="The true digit of every selected image."
    )


@admin.register(Submission)
class SubmissionAdmin(ReviewActionsMixin, ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "original",
        "model_input",
        "prediction",
        "correction_label",
        "review_state",
        "owner",
        "source",
        "created_at",
    )
    list_display_links = ("id",)
    list_filter = (
        "status",
        PredictedDigitFilter,
        CorrectedDigitFilter,
        HasCorrectionFilter,
        ReviewStateFilter,
        ConfidenceBandFilter,
        "model_version",
        "source",
        "created_at",
    )
    search_fields = ("=id", "owner__username", "owner__email")
    list_per_page = 100
    list_max_show_all = 500
    # One COUNT per page is enough on a large table.
    show_full_result_count = False
    # Per-choice counts would cost a COUNT per filter choice.
    show_facets = admin.ShowFacets.NEVER
    actions = (
        "accept_corrections",
        "reject_corrections",
        "relabel",
        "reopen",
        "export_dataset",
        "start_retraining",
        "delete_selected",
    )
    fieldsets = (
        (None, {"fields": ("original_large", "input_large", "owner", "source", "status", "error", "created_at")}),
        (
            "Prediction",
            {"fields": ("prediction", "probability_table", "model_version", "inference_ms", "predicted_at")},
        ),
        ("Correction", {"fields": ("correction_summary",)}),
    )

    def get_queryset(self, request):
        return submission_review_queue()

    def get_ordering(self, request):
        # Corrections waiting for review, then the least confident predictions.
        # Expressions, not the annotation's name: other admins' forms order submissions this way too.
        return [*REVIEW_ORDER]

    def delete_model(self, request, obj):
        submission_delete(submission=obj)

    def delete_queryset(self, request, queryset):
        for submission in queryset:
            submission_delete(submission=submission)

    # Columns and fields.

    @admin.display(description="original")
    def original(self, obj: Submission) -> str:
        if not obj.image:
            return "-"
        return format_html('<img src="{}" alt="original {}" style="{}">', obj.image.url, obj.pk, THUMB_STYLE)

    @admin.display(description="28x28 input")
    def model_input(self, obj: Submission) -> str:
        if not obj.pixels:
            return "-"
        return format_html('<img src="{}" alt="input {}" style="{}">', input_data_uri(obj.pixels), obj.pk, THUMB_STYLE)

    @admin.display(description="prediction", ordering="confidence")
    def prediction(self, obj: Submission) -> str:
        if obj.predicted_digit is None:
            return obj.get_status_display()
        return format_html("<b>{}</b> ({})", obj.predicted_digit, f"{obj.confidence:.1%}")

    @admin.display(description="correction", ordering="correction__label")
    def correction_label(self, obj: Submission) -> str:
        correction = _correction(obj)
        if correction is None:
            return "-"
        same = correction.label == obj.predicted_digit
        return format_html("<b>{}</b>{}", correction.label, " (confirms)" if same else "")

    @admin.display(description="review", ordering="-needs_review")
    def review_state(self, obj: Submission) -> str:
        correction = _correction(obj)
        return correction.get_review_state_display() if correction else "-"

    @admin.display(description="original image")
    def original_large(self, obj: Submission) -> str:
        if not obj.image:
            return "-"
        return format_html('<img src="{}" alt="original" style="max-width:280px;max-height:280px">', obj.image.url)

    @admin.display(description="28x28 model input")
    def input_large(self, obj: Submission) -> str:
        url = reverse("dashboard:submission_input", args=[obj.pk]) + "?scale=8"
        return format_html('<img src="{}" alt="model input" width="224" height="224">', url)

    @admin.display(description="probabilities")
    def probability_table(self, obj: Submission) -> str:
        if not obj.probabilities:
            return "-"
        return format_html_join(
            "",
            '<div style="display:flex;align-items:center;gap:6px"><span style="width:1em">{}</span>'
            '<span style="display:inline-block;height:10px;width:{}px;background:#3b6fd4"></span>{}</div>',
            ((d, round(p * 200), f"{p:.2%}") for d, p in enumerate(obj.probabilities)),
        )

    @admin.display(description="correction")
    def correction_summary(self, obj: Submission) -> str:
        correction = _correction(obj)
        if correction is None:
            return "No correction."
        history = ", ".join(str(entry.get("label")) for entry in correction.history) or "none"
        trained = str(correction.trained_in) if correction.trained_in_id else "not yet"
        return format_html(
            '<a href="{}">{}</a>; {}; reviewed by {}; earlier labels: {}; trained in: {}',
            reverse("admin:recognizer_correction_change", args=[correction.pk]),
            correction.label,
            correction.get_review_state_display(),
            correction.reviewed_by or "nobody",
            history,
            trained,
        )

    # Actions: each one parses the selection and calls one service.

    def correction_ids(self, queryset) -> list[int]:
        return list(queryset.filter(is_corrected=True).values_list("correction__id", flat=True))

    def _intermediate(self, request, queryset, *, action: str, title: str, form=None, warning: str = ""):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "action": action,
            "form": form,
            "warning": warning,
            "count": queryset.count(),
            "sample": queryset[:20],
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/recognizer/submission/action_confirm.html", context)

    @admin.action(description="Relabel (choose the true digit)", permissions=["change"])
    def relabel(self, request, queryset):
        form = RelabelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            count = corrections_relabel(submission_ids=ids, label=form.cleaned_data["label"], reviewer=request.user)
            self.message_user(
                request,
                f"{count} submissions relabelled {form.cleaned_data['label']} and accepted for training.",
                messages.SUCCESS,
            )
            return None
        return self._intermediate(request, queryset, action="relabel", title="Relabel submissions", form=form)

    @admin.action(description="Send back to the owner (re-open)", permissions=["change"])
    def reopen(self, request, queryset):
        if "apply" not in request.POST:
            warning = (
                "Their corrections are withdrawn: the submissions leave every training set and their owners "
                "are asked for the true digit again."
            )
            return self._intermediate(
                request, queryset, action="reopen", title="Send submissions back to their owners", warning=warning
            )
        owners = dict(queryset.values_list("pk", "owner_id"))
        withdrawn = corrections_withdraw(submission_ids=list(owners), by=request.user)
        for row in withdrawn:
            submission = Submission(pk=row["submission_id"], owner_id=owners[row["submission_id"]])
            message = f"Re-opened: withdrew correction {row['label']} ({row['review_state']})."
            self.log_change(request, submission, message)
        self.message_user(request, f"{len(withdrawn)} submissions sent back to their owners.", messages.SUCCESS)
        return None

    @admin.action(description="Export as a dataset (IDX + CSV zip)", permissions=["view"])
    def export_dataset(self, request, queryset):
        # FileResponse closes the file once it is sent.
        archive = tempfile.TemporaryFile()  # noqa: SIM115
        summary = dataset_export(submissions=queryset, out=archive)
        archive.seek(0)
        name = f"digits-{timezone.now():%Y%m%d-%H%M%S}-{summary['count']}.zip"
        response = FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
        response["X-Dataset-Count"] = str(summary["count"])
        response["X-Dataset-Skipped"] = str(summary["skipped"])
        return response

    @admin.action(description="Start a retraining (on all accepted corrections)", permissions=["change"])
    def start_retraining(self, request, queryset):
        start_retrain(request, self)


def start_retrain(request, model_admin: admin.ModelAdmin) -> RetrainJob | None:
    """Start a retraining for `request.user` and say how it went; shared by the actions and buttons."""
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


# Corrections ---------------------------------------------------------------------------------------------------


@admin.register(Correction)
class CorrectionAdmin(ReviewActionsMixin, ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = ("id", "submission", "label", "review_state", "reviewed_by", "trained_in", "updated_at")
    list_filter = ("review_state", "label", "trained_in")
    search_fields = ("=submission__id", "submission__owner__username")
    list_select_related = ("submission", "reviewed_by", "trained_in")
    fields = (
        "submission",
        "label",
        "review_state",
        "reviewed_by",
        "reviewed_at",
        "trained_in",
        "history",
        "created_at",
        "updated_at",
    )
    actions = ("accept_corrections", "reject_corrections")

    def correction_ids(self, queryset) -> list[int]:
        return list(queryset.values_list("pk", flat=True))

    # Deleting a correction withdraws it, as its owner would: the submission is uncorrected again.
    def delete_model(self, request, obj):
        correction_withdraw(submission=obj.submission)

    def delete_queryset(self, request, queryset):
        for correction in queryset.select_related("submission"):
            correction_withdraw(submission=correction.submission)


# Model versions ------------------------------------------------------------------------------------------------


def _active_version() -> ModelVersion | None:
    try:
        return model_version_active()
    except ModelVersion.DoesNotExist:
        return None


def _version_link(version: ModelVersion | None) -> str:
    if version is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:recognizer_modelversion_change", args=[version.pk]), version
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "name",
        "state",
        "mnist",
        "holdout",
        "gate",
        "parent",
        "created_at",
        "activated_at",
    )
    list_filter = ("state", "gate_passed")
    search_fields = ("name", "notes")
    list_select_related = ("parent",)
    fieldsets = (
        (None, {"fields": ("number", "name", "state", "parent_link", "created_at", "activated_at", "notes")}),
        ("Gate", {"fields": ("gate", "gate_reason")}),
        ("Metrics", {"fields": ("mnist", "holdout", "metric_charts")}),
        ("Training data", {"fields": ("training_table", "produced_by")}),
        ("Artifact", {"fields": ("artifact", "artifact_sha256")}),
    )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="MNIST test accuracy", ordering="mnist_accuracy")
    def mnist(self, obj: ModelVersion) -> str:
        return _percent(obj.mnist_accuracy)

    @admin.display(description="held-out correction accuracy", ordering="holdout_accuracy")
    def holdout(self, obj: ModelVersion) -> str:
        return _percent(obj.holdout_accuracy)

    @admin.display(description="gate", ordering="gate_passed")
    def gate(self, obj: ModelVersion) -> str:
        return {True: "passed", False: "failed", None: "not gated"}[obj.gate_passed]

    @admin.display(description="parent")
    def parent_link(self, obj: ModelVersion) -> str:
        return _version_link(obj.parent)

    @admin.display(description="per-class accuracy and confusion matrix")
    def metric_charts(self, obj: ModelVersion) -> str:
        charts = [
            (reverse("dashboard:model_version_chart", args=[obj.pk, which]), which)
            for which in ("mnist", "holdout")
            if ((obj.metrics or {}).get(which) or {}).get("confusion_matrix")
        ]
        if not charts:
            return "No per-class metrics recorded for this version."
        return format_html_join("", '<p><img src="{}" alt="{} metrics" style="max-width:100%"></p>', charts)

    @admin.display(description="training counts")
    def training_table(self, obj: ModelVersion) -> str:
        if not obj.training_counts:
            return "-"
        rows = ((key.replace("_", " "), json.dumps(value)) for key, value in sorted(obj.training_counts.items()))
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.display(description="produced by")
    def produced_by(self, obj: ModelVersion) -> str:
        jobs = [(reverse("admin:recognizer_retrainjob_change", args=[job.pk]), job) for job in obj.retrain_jobs.all()]
        return format_html_join(", ", '<a href="{}">{}</a>', jobs) if jobs else "-"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:version_id>/activate/", view(self.activate_view), name="recognizer_modelversion_activate"),
            path("rollback/", view(self.rollback_view), name="recognizer_modelversion_rollback"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {
            "active_version": _active_version(),
            "rollback_target": model_version_rollback_target(),
            "retrain_job": retrain_job_current(),
            "can_act": self.can_act(request),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_act": self.can_act(request), "retrain_job": retrain_job_current()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _confirm(self, request, *, version: ModelVersion, title: str, action_url: str):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "version": version,
            "active_version": _active_version(),
            "action_url": action_url,
        }
        return TemplateResponse(request, "admin/recognizer/modelversion/confirm_activate.html", context)

    def _activate(self, request, version: ModelVersion, verb: str):
        """Serve `version` through the rollback service, which checks its file and the gate's verdict."""
        allow_rejected = request.POST.get("allow_rejected") == "yes"
        try:
            model_version_activate(version=version, allow_rejected=allow_rejected)
        except ValidationError as error:
            self.message_user(request, f"{version} was not activated: {'; '.join(error.messages)}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recognizer_modelversion_change", args=[version.pk]))
        self.log_change(request, version, f"Activated ({verb}).")
        self.message_user(request, f"{version} is now the active model ({verb}).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recognizer_modelversion_change", args=[version.pk]))

    def activate_view(self, request, version_id: int):
        """GET: confirm; POST: make this version the one that serves."""
        if not self.can_act(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=version_id)
        if request.method == "POST":
            return self._activate(request, version, "activated by hand")
        url = reverse("admin:recognizer_modelversion_activate", args=[version.pk])
        return self._confirm(request, version=version, title=f"Activate {version}?", action_url=url)

    def rollback_view(self, request):
        """GET: confirm; POST: serve again the version that served before the active one."""
        if not self.can_act(request):
            raise PermissionDenied
        target = model_version_rollback_target()
        if target is None:
            self.message_user(request, "There is no earlier version to roll back to.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:recognizer_modelversion_changelist"))
        if request.method == "POST":
            return self._activate(request, target, "rolled back")
        url = reverse("admin:recognizer_modelversion_rollback")
        return self._confirm(request, version=target, title=f"Roll back to {target}?", action_url=url)


# Retraining ----------------------------------------------------------------------------------------------------


@admin.register(RetrainJob)
class RetrainJobAdmin(ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "state",
        "stage",
        "progress_summary",
        "trigger",
        "requested_by",
        "result_version",
        "created_at",
        "finished_at",
    )
    list_filter = ("state", "trigger")
    list_select_related = ("requested_by", "result_version")
    fieldsets = (
        (None, {"fields": ("state", "stage", "trigger", "requested_by", "result_link", "error")}),
        ("Progress", {"fields": ("progress_table", "log_text")}),
        ("Times", {"fields": ("created_at", "started_at", "finished_at")}),
    )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="progress")
    def progress_summary(self, obj: RetrainJob) -> str:
        progress = obj.progress or {}
        parts = [f"{key} {value}" for key, value in progress.items() if not isinstance(value, dict | list)]
        return ", ".join(parts)[:120] or "-"

    @admin.display(description="progress")
    def progress_table(self, obj: RetrainJob) -> str:
        if not obj.progress:
            return "-"
        rows = (
            (key, value if isinstance(value, str | int | float) else json.dumps(value, indent=1))
            for key, value in obj.progress.items()
        )
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td><pre>{}</pre></td></tr>", rows)
        )

    @admin.display(description="log")
    def log_text(self, obj: RetrainJob) -> str:
        return format_html('<pre style="max-height:30em;overflow:auto;white-space:pre-wrap">{}</pre>', obj.log or "")

    @admin.display(description="result version")
    def result_link(self, obj: RetrainJob) -> str:
        return _version_link(obj.result_version)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.start_view))
        return [path("start/", view, name="recognizer_retrainjob_start"), *super().get_urls()]

    def start_view(self, request):
        """POST: start a retraining on the accepted corrections."""
        if not self.can_act(request):
            raise PermissionDenied
        job = start_retrain(request, self)
        target = reverse("admin:recognizer_retrainjob_change", args=[job.pk]) if job else None
        return HttpResponseRedirect(target or reverse("admin:recognizer_retrainjob_changelist"))
