"""Model versions in the admin: metrics and gate verdict, activate one, roll back to the one before."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from recognizer.admin.base import ReadOnlyRowsMixin
from recognizer.admin.display import percent, version_link
from recognizer.models import ModelVersion
from recognizer.selectors.model_versions import (
    model_version_active,
    model_version_reliability,
    model_version_rollback_target,
)
from recognizer.selectors.retrain_jobs import retrain_job_current
from recognizer.services.model_versions import model_version_activate


def _active_version() -> ModelVersion | None:
    try:
        return model_version_active()
    except ModelVersion.DoesNotExist:
        return None


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
        ("Metrics", {"fields": ("mnist", "holdout", "honest_answers", "metric_charts")}),
        ("Training data", {"fields": ("training_table", "produced_by")}),
        ("Artifact", {"fields": ("artifact", "artifact_sha256")}),
    )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="MNIST test accuracy", ordering="mnist_accuracy")
    def mnist(self, obj: ModelVersion) -> str:
        return percent(obj.mnist_accuracy)

    @admin.display(description="held-out correction accuracy", ordering="holdout_accuracy")
    def holdout(self, obj: ModelVersion) -> str:
        return percent(obj.holdout_accuracy)

    @admin.display(description="gate", ordering="gate_passed")
    def gate(self, obj: ModelVersion) -> str:
        return {True: "passed", False: "failed", None: "not gated"}[obj.gate_passed]

    @admin.display(description="parent")
    def parent_link(self, obj: ModelVersion) -> str:
        return version_link(obj.parent)

    @admin.display(description="honest answers")
    def honest_answers(self, obj: ModelVersion) -> str:
        if not obj.detector:
            return "No detector: its answers carry no verdict."
        threshold = "-" if obj.detector_threshold is None else f"{obj.detector_threshold:.4f}"
        temperature = "-" if obj.temperature is None else f"{obj.temperature:.3f}"
        return f"Detector threshold {threshold} (digit probability accepted), temperature {temperature}."

    @admin.display(description="per-class accuracy, confusion matrix and reliability")
    def metric_charts(self, obj: ModelVersion) -> str:
        charts = [
            (reverse("dashboard:model_version_chart", args=[obj.pk, which]), which)
            for which in ("mnist", "holdout")
            if ((obj.metrics or {}).get(which) or {}).get("confusion_matrix")
        ]
        if model_version_reliability(version=obj):  # beside the confusion matrix: how far its confidence can be trusted
            charts.append((reverse("dashboard:model_version_chart", args=[obj.pk, "reliability"]), "reliability"))
        if not charts:
            return "No per-class metrics recorded for this version."
        return format_html_join("", '<p><img class="metric-chart" src="{}" alt="{} metrics"></p>', charts)

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

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<int:version_id>/activate/", view(self.activate_view), name="recognizer_modelversion_activate"),
            path("rollback/", view(self.rollback_view), name="recognizer_modelversion_rollback"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {
            "active_version": _active_version(),
            "rollback_target": model_version_rollback_target(),
            "retrain_job": retrain_job_current(),
            "can_act": self.can_act(request),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra = {"can_act": self.can_act(request), "retrain_job": retrain_job_current()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _confirm(self, request: HttpRequest, *, version: ModelVersion, title: str, action_url: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "version": version,
            "active_version": _active_version(),
            "action_url": action_url,
        }
        return TemplateResponse(request, "admin/recognizer/modelversion/confirm_activate.html", context)

    def _activate(self, request: HttpRequest, version: ModelVersion, verb: str) -> HttpResponse:
        """Serve `version` through the activate service, which checks its file and the gate's verdict."""
        allow_rejected = request.POST.get("allow_rejected") == "yes"
        try:
            model_version_activate(version=version, allow_rejected=allow_rejected)
        except ValidationError as error:
            self.message_user(request, f"{version} was not activated: {'; '.join(error.messages)}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:recognizer_modelversion_change", args=[version.pk]))
        self.log_change(request, version, f"Activated ({verb}).")
        self.message_user(request, f"{version} is now the active model ({verb}).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recognizer_modelversion_change", args=[version.pk]))

    def activate_view(self, request: HttpRequest, version_id: int) -> HttpResponse:
        """GET: confirm; POST: make this version the one that serves."""
        if not self.can_act(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=version_id)
        if request.method == "POST":
            return self._activate(request, version, "activated by hand")
        url = reverse("admin:recognizer_modelversion_activate", args=[version.pk])
        return self._confirm(request, version=version, title=f"Activate {version}?", action_url=url)

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
        """GET: confirm; POST: serve again the version that served before the active one."""
        if not self.can_act(request):
            raise PermissionDenied
        target = model_version_rollback_target()
        if target is None:
            self.message_user(request, "There is no earlier version to roll back to.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:recognizer_modelversion_changelist"))
        if request.method == "POST":
            if request.POST.get("version") != str(target.pk):
                # The versions changed since the page asked: confirm what is the target now.
                self.message_user(
                    request, f"The version to roll back to is now {target}; confirm again.", messages.WARNING
                )
                return HttpResponseRedirect(reverse("admin:recognizer_modelversion_rollback"))
            return self._activate(request, target, "rolled back")
        url = reverse("admin:recognizer_modelversion_rollback")
        return self._confirm(request, version=target, title=f"Roll back to {target}?", action_url=url)
