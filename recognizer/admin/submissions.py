"""Submissions in the admin: the review queue, worst predictions first."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from recognizer.admin import filters
from recognizer.admin.actions import (
    accept_corrections,
    export_dataset,
    reject_corrections,
    relabel,
    start_retraining,
    withdraw_corrections,
)
from recognizer.admin.base import ReadOnlyRowsMixin
from recognizer.admin.display import correction_of, input_data_uri, input_url, original_url
from recognizer.admin.numbers import (
    number_digit_table,
    number_inputs,
    number_original,
    number_pieces,
    review_digits_url,
)
from recognizer.models import Correction, Submission
from recognizer.selectors.submissions import REVIEW_ORDER, submission_review_queue
from recognizer.services.corrections import correction_digits_review
from recognizer.services.submissions import submissions_delete


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyRowsMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "original",
        "model_input",
        "prediction",
        "verdict",
        "correction_label",
        "review_state",
        "owner",
        "source",
        "created_at",
    )
    list_display_links = ("id",)
    list_filter = (
        "status",
        "kind",
        filters.PredictedDigitFilter,
        filters.IsDigitFilter,
        filters.CorrectedDigitFilter,
        filters.HasCorrectionFilter,
        filters.ReviewStateFilter,
        filters.ConfidenceBandFilter,
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
        accept_corrections,
        reject_corrections,
        relabel,
        "reopen",
        export_dataset,
        start_retraining,
        "delete_selected",
    )
    # The action withdraws corrections; it is posted as "reopen", its name from before, which forms and tests use.
    reopen = withdraw_corrections
    fieldsets = (
        (
            None,
            {"fields": ("original_large", "input_large", "owner", "kind", "source", "status", "error", "created_at")},
        ),
        (
            "Prediction",
            {
                "fields": (
                    "prediction",
                    "verdict",
                    "digit_table",
                    "probability_table",
                    "model_version",
                    "inference_ms",
                    "predicted_at",
                )
            },
        ),
        ("Correction", {"fields": ("correction_summary",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Submission]:
        return submission_review_queue()

    def get_ordering(self, request: HttpRequest) -> list:
        # Corrections waiting for review, then the least confident predictions.
        # Expressions, not the annotation's name: other admins' forms order submissions this way too.
        return [*REVIEW_ORDER]

    def has_export_dataset_permission(self, request: HttpRequest) -> bool:
        """Return whether the user may download everyone's drawings as a dataset (its own permission)."""
        return request.user.has_perm(f"{self.opts.app_label}.export_dataset")

    def correction_ids(self, queryset: QuerySet[Submission]) -> list[int]:
        """Return the ids of the selected submissions' corrections, for the review actions."""
        return list(queryset.filter(is_corrected=True).values_list("correction__id", flat=True))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.review_digits_view)
        return [
            path("<int:submission_id>/review-digits/", view, name="recognizer_submission_review_digits"),
            *super().get_urls(),
        ]

    def review_digits_view(self, request: HttpRequest, submission_id: int) -> HttpResponse:
        """GET: a corrected number's pieces, each to accept or reject; POST: accept it but the rejected ones."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        submission = get_object_or_404(submission_review_queue(), pk=submission_id, is_corrected=True)
        correction = correction_of(submission)
        if correction is None or correction.number is None:
            raise Http404("Only a corrected number is reviewed digit by digit.")
        if request.method == "POST":
            return self._review_digits(request, submission, correction)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review the digits of submission {submission.pk}",
            "opts": self.model._meta,
            "submission": submission,
            "correction": correction,
            "pieces": number_pieces(submission),
        }
        return TemplateResponse(request, "admin/recognizer/submission/review_digits.html", context)

    def _review_digits(self, request: HttpRequest, submission: Submission, correction: Correction) -> HttpResponse:
        try:
            rejected = [int(value) for value in request.POST.getlist("reject")]
            reviewed = correction_digits_review(
                correction_id=correction.pk, rejected_digits=rejected, reviewer=request.user
            )
        except (ValueError, ValidationError) as error:
            text = "; ".join(error.messages) if isinstance(error, ValidationError) else "Positions are numbers."
            self.message_user(request, f"Not reviewed: {text}", messages.ERROR)
            return HttpResponseRedirect(review_digits_url(submission))
        if reviewed.review_state == Correction.Review.REJECTED:
            summary = "every digit rejected: the correction is rejected"
        else:
            places = ", ".join(map(str, reviewed.rejected_digits)) or "none"
            summary = f"accepted for training, rejected digits: {places}"
        self.log_change(request, submission, f"Reviewed digit by digit: {summary}.")
        self.message_user(request, f"Submission {submission.pk}: {summary}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recognizer_submission_change", args=[submission.pk]))

    def delete_model(self, request: HttpRequest, obj: Submission) -> None:
        submissions_delete(submission_ids=[obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        # One call, one transaction, for the whole selection.
        submissions_delete(submission_ids=list(queryset.values_list("pk", flat=True)))

    # Columns and fields.

    @admin.display(description="original")
    def original(self, obj: Submission) -> str:
        if not obj.image:
            return "-"
        return format_html(
            '<img class="digit-thumb" src="{}" alt="original {}" loading="lazy">', original_url(obj), obj.pk
        )

    @admin.display(description="28x28 input")
    def model_input(self, obj: Submission) -> str:
        if obj.is_number:
            return number_inputs(obj)
        if not obj.pixels:
            return "-"
        return format_html('<img class="digit-thumb" src="{}" alt="input {}">', input_data_uri(obj.pixels), obj.pk)

    @admin.display(description="prediction", ordering="confidence")
    def prediction(self, obj: Submission) -> str:
        answer = obj.number if obj.is_number else obj.predicted_digit
        if answer is None:
            return obj.get_status_display()
        return format_html("<b>{}</b> ({})", answer, f"{obj.confidence:.1%}")

    @admin.display(description="digit?", ordering="is_digit")
    def verdict(self, obj: Submission) -> str:
        """The detector's verdict: a digit, not a digit, several digits, or "–" when nothing checked."""
        if obj.is_digit is None:
            return "–"
        if obj.is_digit:
            return "✓ digit"
        return obj.get_reason_display().lower() if obj.reason else Correction.NOT_A_DIGIT_TEXT

    @admin.display(description="correction", ordering="correction__label")
    def correction_label(self, obj: Submission) -> str:
        correction = correction_of(obj)
        if correction is None:
            return "-"
        # The model's answer is "not a digit" (None) when its detector flagged the picture.
        answer = None if obj.is_digit is False else obj.predicted_digit
        same = (
            correction.number == obj.number and not correction.not_digits
            if obj.is_number
            else correction.label == answer
        )
        text = format_html("<b>{}</b>{}", correction.label_text, " (confirms)" if same else "")
        if correction.rejected_digits:
            places = ", ".join(map(str, correction.rejected_digits))
            text = format_html('{} <span class="rejected-digits">rejected at {}</span>', text, places)
        if obj.is_number:
            return format_html('{} <a href="{}">by digit</a>', text, review_digits_url(obj))
        return text

    @admin.display(description="review", ordering="-needs_review")
    def review_state(self, obj: Submission) -> str:
        correction = correction_of(obj)
        return correction.get_review_state_display() if correction else "-"

    @admin.display(description="original image")
    def original_large(self, obj: Submission) -> str:
        if not obj.image:
            return "-"
        if obj.is_number:
            return number_original(obj)
        return format_html('<img class="digit-original" src="{}" alt="original">', original_url(obj))

    @admin.display(description="28x28 model input")
    def input_large(self, obj: Submission) -> str:
        if obj.is_number:
            return format_html('<img src="{}" alt="model inputs, one per digit" height="112">', input_url(obj, scale=4))
        return format_html('<img src="{}" alt="model input" width="224" height="224">', input_url(obj, scale=8))

    @admin.display(description="digits")
    def digit_table(self, obj: Submission) -> str:
        """A number's digits: each one's box, input, answer and true label; those the owner changed marked."""
        return number_digit_table(obj) if obj.is_number else "-"

    @admin.display(description="probabilities")
    def probability_table(self, obj: Submission) -> str:
        if not obj.probabilities:
            return "-"
        return format_html_join(
            "",
            '<div class="prob-row"><span class="prob-digit">{}</span>'
            '<progress class="prob-bar" max="1" value="{}"></progress>{}</div>',
            ((d, f"{p:.4f}", f"{p:.2%}") for d, p in enumerate(obj.probabilities)),
        )

    @admin.display(description="correction")
    def correction_summary(self, obj: Submission) -> str:
        correction = correction_of(obj)
        if correction is None:
            return "No correction."
        history = ", ".join(
            Correction.number_text(entry["number"], entry.get("not_digits", []))
            if entry.get("number") is not None
            else Correction.text_of(entry.get("label"))
            for entry in correction.history
        )
        history = history or "none"
        trained = str(correction.trained_in) if correction.trained_in_id else "not yet"
        return format_html(
            '<a href="{}">{}</a>; {}; reviewed by {}; earlier labels: {}; trained in: {}',
            reverse("admin:recognizer_correction_change", args=[correction.pk]),
            correction.label_text,
            correction.get_review_state_display(),
            correction.reviewed_by or "nobody",
            history,
            trained,
        )
