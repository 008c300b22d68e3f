"""Retraining from the API: staff start one and follow its progress and log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response

from recognizer.api.common import BaseApi
from recognizer.api.serializers import ModelVersionSerializer, error_responses
from recognizer.models import RetrainJob
from recognizer.selectors.retrain_jobs import retrain_job_get
from recognizer.services.retraining import retrain_job_start


class RetrainJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=RetrainJob.State.choices)
    trigger = serializers.CharField(help_text="manual, api, admin, command or auto.")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True)
    stage = serializers.CharField(help_text="What it is doing now: queued, loading data, fine-tuning, gate, done...")
    progress = serializers.DictField(help_text="Stage, epoch of epochs, loss, accuracy and metrics so far.")
    log = serializers.CharField()
    error = serializers.CharField()
    result_version = ModelVersionSerializer(allow_null=True, help_text="The version it produced, active or rejected.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class RetrainStartApi(BaseApi):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["models"],
        operation_id="models_retrain_create",
        summary="Start a retraining (staff)",
        request=None,
        responses={202: RetrainJobSerializer, **error_responses(400, 401, 403, 409, 429)},
    )
    def post(self, request):
        """Queue a retraining on the accepted corrections; answer 202 with the job.

        409 `retrain_in_progress` while another job is queued or running,
        400 `not_enough_corrections` when there is nothing to train on or hold out.
        """
        job = retrain_job_start(trigger="api", requested_by=request.user)
        job = retrain_job_get(job_id=job.pk)
        return Response(
            RetrainJobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": request.build_absolute_uri(f"{job.pk}/")},
        )


class RetrainJobApi(BaseApi):
    permission_classes = [IsAdminUser]

    @extend_schema(
        tags=["models"],
        operation_id="models_retrain_retrieve",
        summary="Follow a retraining (staff)",
        responses={200: RetrainJobSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request, job_id: int):
        """Return a retraining job: its state, stage, progress, log and the version it produced."""
        return Response(RetrainJobSerializer(retrain_job_get(job_id=job_id)).data)
