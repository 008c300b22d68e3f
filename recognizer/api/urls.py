"""URL contract of the REST API (v1). Keep these paths stable."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from recognizer.api import auth, corrections, errors, predictions, retrain, submissions, versions
from recognizer.api.common import IdConverter

app_name = "api"

register_converter(IdConverter, "api_id")

urlpatterns = [
    path("v1/auth/token/", auth.TokenObtainApi.as_view(), name="token"),
    path("v1/predictions/", predictions.PredictionCreateApi.as_view(), name="prediction-create"),
    path("v1/submissions/", submissions.SubmissionsApi.as_view(), name="submission-list"),
    path("v1/submissions/batch/", submissions.SubmissionBatchCreateApi.as_view(), name="submission-batch"),
    path("v1/submissions/<api_id:submission_id>/", submissions.SubmissionApi.as_view(), name="submission-detail"),
    path(
        "v1/submissions/<api_id:submission_id>/correction/",
        corrections.CorrectionApi.as_view(),
        name="submission-correction",
    ),
    path(
        "v1/submissions/<api_id:submission_id>/image/",
        submissions.SubmissionImageApi.as_view(),
        name="submission-image",
    ),
    path("v1/models/", versions.ModelVersionListApi.as_view(), name="model-list"),
    path("v1/models/active/", versions.ModelVersionActiveApi.as_view(), name="model-active"),
    path("v1/models/retrain/", retrain.RetrainStartApi.as_view(), name="model-retrain"),
    path("v1/models/retrain/<api_id:job_id>/", retrain.RetrainJobApi.as_view(), name="model-retrain-job"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (docs/?script), not inline, so the
    # page works under the site's Content-Security-Policy (script-src 'self') with no exception.
    # Swagger UI sets one inline style as it starts; styles cannot run script, so that page alone allows them.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    # Keep last: any other address under /api/ answers a JSON 404, not the HTML page.
    re_path(r"^", errors.not_found),
]
