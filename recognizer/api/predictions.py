"""Previews: predict a picture and store nothing, for the draw page while someone is still drawing."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from recognizer.api.serializers import PreviewSerializer, error_responses
from recognizer.api.submissions import CANVAS_EXAMPLE, SubmissionCreateApi
from recognizer.services.submissions import submission_preview


class PredictionCreateApi(SubmissionCreateApi):
    """The input, limits and errors of `POST /api/v1/submissions/`; the answer of one, without storing it."""

    @extend_schema(
        tags=["predictions"],
        operation_id="predictions_create",
        summary="Preview a prediction (nothing stored)",
        request={
            "multipart/form-data": SubmissionCreateApi.SubmissionUploadSerializer,
            "application/json": SubmissionCreateApi.SubmissionDataSerializer,
        },
        examples=[CANVAS_EXAMPLE],
        responses={
            200: OpenApiResponse(PreviewSerializer, description="Predicted; nothing was stored."),
            **error_responses(400, 401, 413, 415, 429),
        },
    )
    def post(self, request):
        """Predict one image and answer at once, storing nothing: no submission, no file, no task.

        For a picture still changing, such as a drawing in progress; send it to `POST /api/v1/submissions/`
        once it is final, to keep it and be able to correct it. `kind=number` reads a whole number.
        """
        preview = submission_preview(owner=request.user, **self.upload_parse(request))
        return Response(PreviewSerializer(preview).data)
