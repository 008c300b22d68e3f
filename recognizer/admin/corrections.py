"""Corrections in the admin: people's true labels and their review."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from recognizer.admin.actions import accept_corrections, reject_corrections
from recognizer.admin.base import ReadOnlyRowsMixin
from recognizer.admin.filters import CorrectionLabelFilter
from recognizer.models import Correction
from recognizer.services.corrections import corrections_withdraw


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = ("id", "submission", "label_column", "review_state", "reviewed_by", "trained_in", "updated_at")
    list_filter = ("review_state", CorrectionLabelFilter, "trained_in")
    search_fields = ("=submission__id", "submission__owner__username")
    list_select_related = ("submission", "reviewed_by", "trained_in")
    fields = (
        "submission",
        "label_column",
        "review_state",
        "reviewed_by",
        "reviewed_at",
        "trained_in",
        "history",
        "created_at",
        "updated_at",
    )
    actions = (accept_corrections, reject_corrections)

    @admin.display(description="label", ordering="label")
    def label_column(self, obj: Correction) -> str:
        return obj.label_text

    def correction_ids(self, queryset: QuerySet[Correction]) -> list[int]:
        """Return the selected corrections' ids, for the review actions."""
        return list(queryset.values_list("pk", flat=True))

    # Deleting a correction withdraws it, as its owner would: the submission is uncorrected again.
    def delete_model(self, request: HttpRequest, obj: Correction) -> None:
        corrections_withdraw(submission_ids=[obj.submission_id], by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Correction]) -> None:
        # One call, one transaction, for the whole selection.
        submission_ids = list(queryset.values_list("submission_id", flat=True))
        corrections_withdraw(submission_ids=submission_ids, by=request.user)
