"""List filters of the review queue. Fixed choices, so no filter scans the table to build its list."""

from __future__ import annotations

from django.contrib import admin

from recognizer.models import Correction

DIGIT_CHOICES = [(str(d), str(d)) for d in range(10)]
# Confidence bands: (parameter, label, lowest included, highest excluded).
CONFIDENCE_BANDS = (
    ("lt50", "below 50%", None, 0.5),
    ("50-80", "50% to 80%", 0.5, 0.8),
    ("80-95", "80% to 95%", 0.8, 0.95),
    ("ge95", "95% and above", 0.95, None),
)


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
