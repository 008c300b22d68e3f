"""Model versions: which ones exist, how good they are, which one answers now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from recognizer.api.common import BaseApi, Pagination, paginated_response
from recognizer.api.serializers import ModelVersionSerializer, error_responses
from recognizer.selectors.model_versions import model_version_active, model_version_list


class ModelVersionListApi(BaseApi):
    pagination_class = Pagination

    @extend_schema(
        tags=["models"],
        operation_id="models_list",
        summary="List model versions",
        responses={200: ModelVersionSerializer(many=True), **error_responses(401, 404, 429)},
    )
    def get(self, request):
        """List every model version, newest first, with its metrics."""
        return paginated_response(self, model_version_list(), ModelVersionSerializer)


class ModelVersionActiveApi(BaseApi):
    @extend_schema(
        tags=["models"],
        operation_id="models_active_retrieve",
        summary="Get the active model version",
        responses={200: ModelVersionSerializer, **error_responses(401, 404, 429)},
    )
    def get(self, request):
        """Return the model version that answers predictions now."""
        return Response(ModelVersionSerializer(model_version_active()).data)
