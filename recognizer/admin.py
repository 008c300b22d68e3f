"""Admin for every recognizer model: review submissions, corrections, versions."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from recognizer.models import Correction, ModelVersion, RetrainJob, Submission


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "thumbnail",
        "owner",
        "source",
        "status",
        "predicted_digit",
        "confidence_pct",
        "is_corrected",
        "created_at",
    )
    list_filter = ("status", "source", "predicted_digit", "is_corrected", "model_version", "created_at")
    search_fields = ("=id", "owner__username", "owner__email")
    list_select_related = ("owner", "model_version")
    readonly_fields = ("thumbnail", "created_at", "updated_at", "predicted_at", "inference_ms", "probabilities")
    exclude = ("pixels",)
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)

    @admin.display(description="image")
    def thumbnail(self, obj: Submission) -> str:
        if not obj.image:
            return "-"
        return format_html(
            '<img src="{}" alt="submission {}" width="56" height="56" style="object-fit:contain;background:#fff">',
            obj.image.url,
            obj.pk,
        )

    @admin.display(description="confidence", ordering="confidence")
    def confidence_pct(self, obj: Submission) -> str:
        return "-" if obj.confidence is None else f"{obj.confidence:.1%}"


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ("id", "submission", "label", "review_state", "reviewed_by", "trained_in", "updated_at")
    list_filter = ("review_state", "label", "trained_in")
    search_fields = ("=submission__id", "submission__owner__username")
    list_select_related = ("submission", "reviewed_by", "trained_in")
    raw_id_fields = ("submission", "reviewed_by")
    readonly_fields = ("history", "created_at", "updated_at")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "name",
        "state",
        "mnist_accuracy",
        "holdout_accuracy",
        "gate_passed",
        "parent",
        "created_at",
    )
    list_filter = ("state", "gate_passed")
    search_fields = ("name", "notes")
    list_select_related = ("parent",)
    readonly_fields = ("artifact_sha256", "created_at", "activated_at", "metrics", "training_counts")


@admin.register(RetrainJob)
class RetrainJobAdmin(admin.ModelAdmin):
    list_display = ("id", "state", "stage", "trigger", "requested_by", "result_version", "created_at", "finished_at")
    list_filter = ("state", "trigger")
    list_select_related = ("requested_by", "result_version")
    readonly_fields = ("progress", "log", "created_at", "started_at", "finished_at")
