"""Retrain jobs in the admin: follow a retraining's stage, progress and log; start one."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from recognizer.admin.actions import retrain_start
from recognizer.admin.base import ReadOnlyRowsMixin
from recognizer.admin.display import version_link
from recognizer.models import RetrainJob


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

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
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
        return format_html('<pre class="job-log">{}</pre>', obj.log or "")

    @admin.display(description="result version")
    def result_link(self, obj: RetrainJob) -> str:
        return version_link(obj.result_version)

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(require_POST(self.start_view))
        return [path("start/", view, name="recognizer_retrainjob_start"), *super().get_urls()]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        """POST: start a retraining on the accepted corrections."""
        if not self.can_act(request):
            raise PermissionDenied
        job = retrain_start(self, request)
        target = reverse("admin:recognizer_retrainjob_change", args=[job.pk]) if job else None
        return HttpResponseRedirect(target or reverse("admin:recognizer_retrainjob_changelist"))
