"""List filters of the review queue. Fixed choices, so no filter scans the table to build its list."""

from __future__ import annotations

from django.contrib import admin

from recognizer.models import Correction, Submission

DIGIT_CHOICES = [(str(d), str(d)) for d in range(10)]
# A correction's label may also be "not a digit" (NULL); this is its value in forms and filters.
NOT_A_DIGIT = "none"
LABEL_CHOICES = [*DIGIT_CHOICES, (NOT_A_DIGIT, Correction.NOT_A_DIGIT_TEXT)]
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


class LabelFilter(DigitFilter):
    """The ten digits and "not a digit" (a NULL label)."""

    # What else a NULL label must match to mean "not a digit" rather than "no correction at all".
    not_a_digit_also: dict = {}

    def lookups(self, request, model_admin):
        return LABEL_CHOICES

    def queryset(self, request, queryset):
        if self.value() == NOT_A_DIGIT:
            return queryset.filter(**{f"{self.field_path}__isnull": True, **self.not_a_digit_also})
        return super().queryset(request, queryset)


class CorrectedDigitFilter(LabelFilter):
    title = "corrected digit"
    parameter_name = "corrected_to"
    field_path = "correction__label"
    # A number's correction has a NULL label too: it holds a number, not "not a digit".
    not_a_digit_also = {"is_corrected": True, "correction__number__isnull": True}


class CorrectionLabelFilter(LabelFilter):
    title = "label"
    parameter_name = "label"
    field_path = "label"
    not_a_digit_also = {"number__isnull": True}


class IsDigitFilter(admin.SimpleListFilter):
    """The detector's verdict on the prediction."""

    title = "digit or not"
    parameter_name = "is_digit"
    VERDICTS = {
        "true": {"is_digit": True},
        "false": {"is_digit": False},
        Submission.Reason.NOT_A_DIGIT: {"is_digit": False, "reason": Submission.Reason.NOT_A_DIGIT},
        Submission.Reason.SEVERAL_DIGITS: {"is_digit": False, "reason": Submission.Reason.SEVERAL_DIGITS},
        "unknown": {"is_digit__isnull": True},
    }

    def lookups(self, request, model_admin):
        return [
            ("true", "a digit"),
            ("false", "not a digit or several"),
            (Submission.Reason.NOT_A_DIGIT, "not a digit"),
            (Submission.Reason.SEVERAL_DIGITS, "several digits"),
            ("unknown", "not checked"),
        ]

    def queryset(self, request, queryset):
        lookup = self.VERDICTS.get(self.value())
        return queryset.filter(**lookup) if lookup else queryset


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
