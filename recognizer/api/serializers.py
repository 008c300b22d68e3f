"""Serializers several API views share: submissions, model versions, images, errors."""

from __future__ import annotations

import base64
import binascii
import re

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recognizer import conf
from recognizer.models import Correction, ModelVersion, Submission

# data:[<media type>][;<parameter>=<value>]*;base64,<data>
DATA_URL = re.compile(r"data:(?:[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*(?P<base64>;base64)?,(?P<data>.*)", re.S)
WHITESPACE = re.compile(r"\s+")


class ImageUploadField(serializers.FileField):
    """A multipart file, read as bytes: never more than one byte past the size limit.

    That extra byte is enough for the service to refuse the image as too large.
    """

    def __init__(self, **kwargs):
        super().__init__(allow_empty_file=True, use_url=False, **kwargs)

    def to_internal_value(self, data) -> bytes:
        upload = super().to_internal_value(data)
        return upload.read(conf.max_upload_bytes() + 1)


class ImageDataField(serializers.CharField):
    """An image as a data URL (`data:image/png;base64,...`) or as plain base64 text, read as bytes."""

    default_error_messages = {
        "invalid_data_url": "The data URL is malformed; send data:image/png;base64,<data>.",
        "invalid_base64": "The image is not valid base64.",
    }

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=True, **kwargs)

    def to_internal_value(self, data) -> bytes:
        text = super().to_internal_value(data)
        if text.startswith("data:"):
            match = DATA_URL.fullmatch(text)
            if not match or not match["base64"]:
                self.fail("invalid_data_url")
            text = match["data"]
        text = WHITESPACE.sub("", text)
        try:
            # Canvas exports are padded; hand-made base64 often is not.
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")


class SourceField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Where the image comes from: the web canvas, a file upload, or an API client.")
        super().__init__(choices=Submission.Source.choices, default=Submission.Source.API, **kwargs)


class KindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            "`digit` (the default): the picture is one digit. `number`: it is a whole number of up to 16 digits, "
            "read left to right; the answer's `prediction` then has `number` and `digits`.",
        )
        super().__init__(choices=Submission.Kind.choices, default=Submission.Kind.DIGIT, **kwargs)


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice stored blank for "none", answered as null."""

    def to_representation(self, value):
        return super().to_representation(value) or None


class DigitSerializer(serializers.Serializer):
    """One digit of a number, as found in the picture and read by the model."""

    digit = serializers.IntegerField(source="predicted_digit", min_value=0, max_value=9, help_text="The digit read.")
    confidence = serializers.FloatField(help_text="The probability of `digit`, from 0 to 1 (calibrated).")
    probabilities = serializers.ListField(
        child=serializers.FloatField(), min_length=10, max_length=10, help_text="The probability of each digit, 0 to 9."
    )
    is_digit = serializers.BooleanField(
        allow_null=True, help_text="Whether this part of the picture is one digit, as the detector sees it."
    )
    reason = BlankAsNullChoiceField(
        choices=Submission.Reason.choices, allow_null=True, help_text="Why `is_digit` is false; null otherwise."
    )
    box = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        min_length=4,
        max_length=4,
        help_text="Where the digit is: `[x, y, width, height]` in the original picture's pixels.",
    )
    position = serializers.IntegerField(min_value=0, help_text="0 for the leftmost digit.")

    def to_representation(self, digit) -> dict:
        # Written out, as PredictionSerializer's.
        return {
            "digit": digit.predicted_digit,
            "confidence": _float(digit.confidence),
            "probabilities": None if digit.probabilities is None else [float(p) for p in digit.probabilities],
            "is_digit": digit.is_digit,
            "reason": digit.reason or None,
            "box": digit.box,
            "position": digit.position,
        }


DIGIT = DigitSerializer()


class PredictionSerializer(serializers.Serializer):
    digit = serializers.IntegerField(
        source="predicted_digit",
        min_value=0,
        max_value=9,
        allow_null=True,
        help_text="The most likely digit. When `is_digit` is false it is only the closest digit, not an answer. "
        "Null for a number (see `number`).",
    )
    number = serializers.CharField(
        allow_null=True,
        help_text='A number\'s digits as read, left to right, as a string (leading zeros kept: "0427"); '
        "null for a digit.",
    )
    confidence = serializers.FloatField(
        help_text="The probability of `digit`, from 0 to 1; for a number, the probability that all its digits are "
        "right (the product of their calibrated confidences)."
    )
    probabilities = serializers.ListField(
        child=serializers.FloatField(),
        min_length=10,
        max_length=10,
        allow_null=True,
        help_text="The probability of each digit, 0 to 9; null for a number (each of its `digits` has its own).",
    )
    digits = serializers.SerializerMethodField(
        help_text="A number's digits, left to right, each with its box in the picture; null for a digit."
    )
    is_digit = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the picture is one digit, as the model version's detector sees it: false means "
        "`digit` should not be trusted (see `reason`); null when the version that answered has no detector. "
        "For a number: whether every one of its digits is one digit (false flags a part that is not).",
    )
    reason = BlankAsNullChoiceField(
        choices=Submission.Reason.choices,
        allow_null=True,
        help_text="Why `is_digit` is false: `not_a_digit` or `several_digits`; null otherwise.",
    )
    model_version = serializers.IntegerField(
        source="model_version.number",
        allow_null=True,
        help_text="The number of the model version that predicted; null if that version was deleted since.",
    )
    inference_ms = serializers.FloatField(
        allow_null=True, help_text="Model time per image (for a number, for all its digits), in milliseconds."
    )

    @extend_schema_field(DigitSerializer(many=True, allow_null=True))
    def get_digits(self, submission: Submission) -> list[dict] | None:
        if not submission.is_number:
            return None
        return [DIGIT.to_representation(row) for row in submission.digit_rows]

    def to_representation(self, submission: Submission) -> dict:
        # Written out: every prediction is answered through here, and DRF's field-by-field way costs more than
        # the model. The fields above document it; tests/api/test_serializers.py checks both ways agree.
        version = submission.model_version
        probabilities = submission.probabilities
        return {
            "digit": submission.predicted_digit,
            "number": submission.number,
            "confidence": _float(submission.confidence),
            "probabilities": None if probabilities is None else [float(p) for p in probabilities],
            "digits": self.get_digits(submission),
            "is_digit": submission.is_digit,
            "reason": submission.reason or None,
            "model_version": None if version is None else version.number,
            "inference_ms": _float(submission.inference_ms),
        }


class CorrectionSerializer(serializers.Serializer):
    label = serializers.IntegerField(
        min_value=0,
        max_value=9,
        allow_null=True,
        help_text="The digit actually drawn; null when it is not a digit, and for a number.",
    )
    number = serializers.CharField(
        allow_null=True,
        help_text="For a number: its true digits, left to right, one per piece found that is a digit; else null.",
    )
    not_digits = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        allow_null=True,
        help_text="For a number: the positions of the pieces that are not digits (often empty); else null.",
    )
    rejected_digits = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        allow_null=True,
        help_text="For a number: the positions of the pieces whose labels an admin rejected while accepting the "
        "rest (`review_state` is the others'); else null.",
    )
    review_state = serializers.ChoiceField(choices=Correction.Review.choices)
    updated_at = serializers.DateTimeField()

    def to_representation(self, correction: Correction) -> dict:
        data = super().to_representation(correction)
        if correction.number is None:  # a digit's correction has no pieces
            data["not_digits"] = data["rejected_digits"] = None
        return data


# An id no row has (the largest a path takes), reversed once and replaced by each submission's id.
_PLACEHOLDER_ID = 999_999_999_999_999_999
_PATH_TEMPLATES: dict[tuple, str] = {}


def submission_path(view_name: str, submission_id: int) -> str:
    """`reverse(view_name, kwargs={"submission_id": ...})`, reversed once per URL conf and script prefix.

    A submission's answer names two of its URLs, a list fifty answers' worth; each `reverse` costs tens of µs.
    """
    key = (view_name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    template = _PATH_TEMPLATES.get(key)
    if template is None:
        path = reverse(view_name, kwargs={"submission_id": _PLACEHOLDER_ID})
        template = _PATH_TEMPLATES[key] = path.replace(str(_PLACEHOLDER_ID), "{}")
    return template.format(int(submission_id))


def _float(value) -> float | None:
    return None if value is None else float(value)


PREDICTION = PredictionSerializer()
DATETIME = serializers.DateTimeField()


class PreviewSerializer(serializers.Serializer):
    """A prediction of a picture that was not stored: a submission's answer without its id and stored fields."""

    status = serializers.ChoiceField(
        choices=[choice for choice in Submission.Status.choices if choice[0] != Submission.Status.PENDING],
        help_text="`failed` if the model could not answer.",
    )
    kind = serializers.ChoiceField(choices=Submission.Kind.choices, help_text="`digit` or `number`.")
    source = serializers.ChoiceField(choices=Submission.Source.choices)
    prediction = serializers.SerializerMethodField()
    error = serializers.CharField(help_text="Why the prediction failed, when `status` is `failed`.")

    @extend_schema_field(PredictionSerializer(allow_null=True))
    def get_prediction(self, submission: Submission):
        if submission.status != Submission.Status.DONE:
            return None
        return PREDICTION.to_representation(submission)

    def to_representation(self, submission: Submission) -> dict:
        # Written out, as PredictionSerializer's.
        return {
            "status": submission.status,
            "kind": submission.kind,
            "source": submission.source,
            "prediction": self.get_prediction(submission),
            "error": submission.error,
        }


class SubmissionSerializer(PreviewSerializer):
    # Every field named here, so the answer keeps its order: the preview's fields would otherwise come first.
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Submission.Status.choices)
    kind = PreviewSerializer._declared_fields["kind"]
    source = PreviewSerializer._declared_fields["source"]
    created_at = serializers.DateTimeField()
    image_url = serializers.SerializerMethodField()
    prediction = PreviewSerializer._declared_fields["prediction"]
    correction = serializers.SerializerMethodField()
    error = PreviewSerializer._declared_fields["error"]

    def get_image_url(self, submission: Submission) -> str:
        path = submission_path("api:submission-image", submission.pk)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(CorrectionSerializer(allow_null=True))
    def get_correction(self, submission: Submission):
        if not submission.is_corrected:
            return None
        correction = getattr(submission, "correction", None)
        return CorrectionSerializer(correction).data if correction else None

    def to_representation(self, submission: Submission) -> dict:
        # Written out, as PredictionSerializer's.
        return {
            "id": submission.pk,
            "status": submission.status,
            "kind": submission.kind,
            "source": submission.source,
            "created_at": DATETIME.to_representation(submission.created_at),
            "image_url": self.get_image_url(submission),
            "prediction": self.get_prediction(submission),
            "correction": self.get_correction(submission),
            "error": submission.error,
        }


class ModelVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=ModelVersion.State.choices)
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    parent = serializers.IntegerField(source="parent.number", allow_null=True)
    mnist_accuracy = serializers.FloatField(allow_null=True, help_text="Accuracy on the 10,000 MNIST test images.")
    holdout_accuracy = serializers.FloatField(
        allow_null=True, help_text="Accuracy on held-out corrections it never trained on."
    )
    metrics = serializers.DictField()
    training_counts = serializers.DictField()
    gate_passed = serializers.BooleanField(allow_null=True)
    gate_reason = serializers.CharField()
    notes = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs; stable.")
    index = serializers.IntegerField(required=False, help_text="In a batch, the position of the refused image.")
    fields = serializers.DictField(required=False, help_text="Every invalid field with its messages.")


def error_responses(*statuses: int) -> dict:
    """Document these error statuses with the `{detail, code}` body."""
    return {status: ErrorSerializer for status in statuses}
