"""Submissions: send digits or numbers, read predictions, delete them (corrections: `recognizer.api.corrections`).

Each operation is its own view. Where two operations share a path (list and
create, read and delete) the URL serves a class that combines them, and each
keeps its own serializers and limits.
"""

from __future__ import annotations

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response

from recognizer import conf
from recognizer.api.common import BaseApi, Pagination, paginated_response, size_text
from recognizer.api.errors import RequestTooLarge
from recognizer.api.parsers import OneImageMultiPartParser
from recognizer.api.serializers import (
    ImageDataField,
    ImageUploadField,
    KindField,
    SourceField,
    SubmissionSerializer,
    error_responses,
    submission_path,
)
from recognizer.models import Submission
from recognizer.pictures import original_response
from recognizer.selectors.submissions import submission_get, submission_list, submission_wait, submissions_wait
from recognizer.services.intake import IMAGE_CONTENT_TYPES
from recognizer.services.submissions import submission_batch_create, submission_create, submission_delete

# Room for multipart headers and JSON around the image itself.
ENVELOPE_BYTES = 64 * 1024
MAX_ID = 999_999_999_999_999_999
# A handwritten 1, 28x28, as the canvas sends it: the docs' "Try it out" and schemathesis start from it.
EXAMPLE_DATA_URL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAr0lEQVR42mP8z4AbMDEMAsnNTFP/wjn/UcEbGUbGbzAOus5DTxki"
    "OXDo/GHCyLgNzkOTPMXIyIrgoRm7noHBDYmLqtOakf38fxzGHmVkFPqPy9jTDAyZDLiMjWEUfPwfh7GHmRkV/uMy9u0/BlcGXMbG"
    "MAqe+o/D2MfMjLr/cRl77B+DP84oe8sgko9TcheDHD8uyd93GDhYcUkymTKooEYDC4LJ3MJohCrJSJtEDQCfmvJ+OdxhDAAAAABJ"
    "RU5ErkJggg=="
)
CANVAS_EXAMPLE = OpenApiExample(
    "From the canvas",
    value={"image": EXAMPLE_DATA_URL, "source": "canvas"},
    request_only=True,
    media_type="application/json",
)


class WaitSerializer(serializers.Serializer):
    def get_fields(self) -> dict:
        # Built per use, so the limits are the settings of the moment, not of import time.
        return {
            "wait": serializers.FloatField(
                required=False,
                min_value=0,
                max_value=conf.max_wait_seconds(),
                default=conf.default_wait_seconds(),
                help_text="Seconds to wait for the prediction before answering 202 with the submission still pending.",
            )
        }

    def validate_wait(self, value: float) -> float:
        if not math.isfinite(value):  # NaN slips past both bounds
            raise serializers.ValidationError("A valid number is required.", code="invalid")
        return value


def _wait_seconds(request) -> float:
    if "wait" not in request.query_params:  # the usual case, without building a serializer
        return conf.default_wait_seconds()
    serializer = WaitSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["wait"]


def is_multipart(request) -> bool:
    return request.content_type.startswith("multipart/form-data")


def _image_body_limit(request, *, images: int) -> int:
    """Return the largest body `images` images may need: base64 in JSON takes a third more room."""
    image_bytes = conf.max_upload_bytes() * images
    if not is_multipart(request):
        image_bytes = math.ceil(image_bytes * 4 / 3)
    return image_bytes + ENVELOPE_BYTES


def _submission_location(request, submission: Submission) -> str:
    return request.build_absolute_uri(submission_path("api:submission-detail", submission.pk))


class SubmissionListApi(BaseApi):
    pagination_class = Pagination

    class SubmissionFilterSerializer(serializers.Serializer):
        digit = serializers.IntegerField(required=False, min_value=0, max_value=9, help_text="The predicted digit.")
        corrected = serializers.BooleanField(
            required=False, allow_null=True, default=None, help_text="Whether the owner corrected the prediction."
        )
        is_digit = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text="The detector's verdict: `true` for predictions it found to be one digit, `false` for those it "
            "flagged (not a digit, several digits). Predictions it never checked match neither.",
        )
        source = serializers.ChoiceField(choices=Submission.Source.choices, required=False)
        kind = serializers.ChoiceField(
            choices=Submission.Kind.choices, required=False, help_text="`digit` or `number` submissions only."
        )
        created_after = serializers.DateTimeField(required=False, help_text="Created at or after this time.")
        created_before = serializers.DateTimeField(required=False, help_text="Created before this time.")
        user = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_ID, help_text="Staff only: the id of one owner."
        )

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_list",
        summary="List submissions",
        parameters=[SubmissionFilterSerializer],
        responses={200: SubmissionSerializer(many=True), **error_responses(400, 401, 404, 429)},
    )
    def get(self, request):
        """List the caller's submissions, newest first; staff see everyone's."""
        serializer = self.SubmissionFilterSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        filters = serializer.validated_data
        submissions = submission_list(
            user=request.user,
            predicted_digit=filters.get("digit"),
            corrected=filters.get("corrected"),
            is_digit=filters.get("is_digit"),
            source=filters.get("source"),
            kind=filters.get("kind"),
            created_after=filters.get("created_after"),
            created_before=filters.get("created_before"),
            owner_id=filters.get("user"),
        )
        return paginated_response(self, submissions, SubmissionSerializer)


class SubmissionCreateApi(BaseApi):
    # DRF's parsers, with the short path for a multipart body of one image (recognizer/api/parsers.py).
    parser_classes = [JSONParser, FormParser, OneImageMultiPartParser]

    class SubmissionUploadSerializer(serializers.Serializer):
        image = ImageUploadField(help_text="PNG, JPEG, WebP, GIF (first frame), BMP or TIFF.")
        source = SourceField()
        kind = KindField()

    class SubmissionDataSerializer(serializers.Serializer):
        image = ImageDataField(help_text="A data URL (data:image/png;base64,...) or plain base64.")
        source = SourceField()
        kind = KindField()

    @classmethod
    def upload_parse(cls, request) -> dict:
        """Read one image, its source and kind from a multipart upload or a JSON body; raise ValidationError."""
        input_class = cls.SubmissionUploadSerializer if is_multipart(request) else cls.SubmissionDataSerializer
        serializer = input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body_limit(self, request) -> tuple[int, RequestTooLarge]:
        image_limit = conf.max_upload_bytes()
        error = RequestTooLarge(f"Image is larger than {size_text(image_limit)}.", code="image_too_large")
        return _image_body_limit(request, images=1), error

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_create",
        summary="Send a digit or a number",
        parameters=[WaitSerializer],
        request={"multipart/form-data": SubmissionUploadSerializer, "application/json": SubmissionDataSerializer},
        examples=[CANVAS_EXAMPLE],
        responses={
            201: OpenApiResponse(SubmissionSerializer, description="Stored and predicted."),
            202: OpenApiResponse(SubmissionSerializer, description="Stored; the prediction is still pending."),
            **error_responses(400, 401, 413, 415, 429),
        },
    )
    def post(self, request):
        """Store one image and answer with its prediction, waiting up to `wait` seconds for it.

        With `kind=number` the picture is read as a whole number: its digits are found, up to 16
        (`too_many_digits` beyond), and `prediction` has the `number` and each of its `digits`.
        """
        wait = _wait_seconds(request)
        submission = submission_create(owner=request.user, **self.upload_parse(request))
        # Without a broker it was predicted before it was stored: nothing to wait for or read back.
        if submission.status == Submission.Status.PENDING:
            submission = submission_wait(submission_id=submission.pk, timeout=wait)
        return Response(
            SubmissionSerializer(submission, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED if submission.status == Submission.Status.PENDING else 201,
            headers={"Location": _submission_location(request, submission)},
        )


class SubmissionsApi(SubmissionListApi, SubmissionCreateApi):
    """GET lists, POST creates: /api/v1/submissions/."""


class SubmissionBatchCreateApi(BaseApi):
    class SubmissionBatchUploadSerializer(serializers.Serializer):
        images = serializers.ListField(child=ImageUploadField(), help_text="Repeat the `images` field once per image.")
        source = SourceField()
        kind = KindField(help_text="`digit` (the default) or `number`: the kind of every image of the batch.")

    class SubmissionBatchDataSerializer(serializers.Serializer):
        images = serializers.ListField(child=ImageDataField(), help_text="Data URLs or plain base64.")
        source = SourceField()
        kind = KindField(help_text="`digit` (the default) or `number`: the kind of every image of the batch.")

    def body_limit(self, request) -> tuple[int, RequestTooLarge]:
        limit = min(
            conf.max_batch_upload_bytes(),
            _image_body_limit(request, images=conf.max_batch()),
        )
        return limit, RequestTooLarge(f"The batch is larger than {size_text(limit)}.")

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_batch_create",
        summary="Send up to 64 digits (or numbers) at once",
        parameters=[WaitSerializer],
        request={
            "multipart/form-data": SubmissionBatchUploadSerializer,
            "application/json": SubmissionBatchDataSerializer,
        },
        examples=[
            OpenApiExample(
                "Two digits",
                value={"images": [EXAMPLE_DATA_URL, EXAMPLE_DATA_URL]},
                request_only=True,
                media_type="application/json",
            )
        ],
        responses={
            201: OpenApiResponse(SubmissionSerializer(many=True), description="Stored and predicted, in order."),
            202: OpenApiResponse(SubmissionSerializer(many=True), description="Stored; some are still pending."),
            **error_responses(400, 401, 413, 415, 429),
        },
    )
    def post(self, request):
        """Store several images, predict them as one batch, and answer them in the order sent.

        All or nothing: if one image is refused none is stored, and `index` says which.
        """
        wait = _wait_seconds(request)
        input_class = (
            self.SubmissionBatchUploadSerializer if is_multipart(request) else self.SubmissionBatchDataSerializer
        )
        serializer = input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        submissions = submission_batch_create(owner=request.user, **serializer.validated_data)
        if any(s.status == Submission.Status.PENDING for s in submissions):
            submissions = submissions_wait(submission_ids=[s.pk for s in submissions], timeout=wait)
        pending = any(s.status == Submission.Status.PENDING for s in submissions)
        return Response(
            SubmissionSerializer(submissions, many=True, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED if pending else status.HTTP_201_CREATED,
        )


class SubmissionGetApi(BaseApi):
    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_retrieve",
        summary="Get a submission",
        responses={200: SubmissionSerializer, **error_responses(401, 404, 429)},
    )
    def get(self, request, submission_id: int):
        """Return one of the caller's submissions with its prediction (poll here after a 202)."""
        submission = submission_get(user=request.user, submission_id=submission_id)
        return Response(SubmissionSerializer(submission, context={"request": request}).data)


class SubmissionDeleteApi(BaseApi):
    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_destroy",
        summary="Delete a submission",
        responses={204: None, **error_responses(401, 404, 429)},
    )
    def delete(self, request, submission_id: int):
        """Delete one of the caller's submissions with its correction and its image file."""
        submission = submission_get(user=request.user, submission_id=submission_id, for_change=True)
        submission_delete(submission=submission)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubmissionApi(SubmissionGetApi, SubmissionDeleteApi):
    """GET reads, DELETE deletes: /api/v1/submissions/{id}/."""


class SubmissionImageApi(BaseApi):
    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_image_retrieve",
        summary="Download the original image",
        responses={**{(200, content_type): OpenApiTypes.BINARY for content_type in IMAGE_CONTENT_TYPES}}
        | error_responses(401, 404, 429),
    )
    def get(self, request, submission_id: int):
        """Send the image as it was uploaded, as a passive file that browsers never run."""
        submission = submission_get(user=request.user, submission_id=submission_id)
        try:
            return original_response(submission, download=True)
        except FileNotFoundError as error:
            raise exceptions.NotFound(str(error)) from None
