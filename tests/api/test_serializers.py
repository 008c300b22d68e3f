"""The answers written out for speed say exactly what DRF's field-by-field serializers would."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from recognizer.api.serializers import PredictionSerializer, PreviewSerializer, SubmissionSerializer
from recognizer.models import Submission
from tests.factories import CorrectionFactory, NumberSubmissionFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def _field_by_field(serializer: serializers.Serializer, instance) -> dict:
    return serializers.Serializer.to_representation(serializer, instance)


@pytest.fixture
def submissions(user, active_version):
    flagged = SubmissionFactory(owner=user, not_a_digit=True, predicted_digit=4, confidence=0.37)
    checked = SubmissionFactory(owner=user, checked_digit=True, predicted_digit=6, model_version=active_version)
    corrected = SubmissionFactory(owner=user, predicted_digit=1, model_version=None, inference_ms=None)
    CorrectionFactory(submission=corrected, label=None)
    pending = SubmissionFactory(owner=user, status=Submission.Status.PENDING, predicted_digit=None, confidence=None)
    failed = SubmissionFactory(owner=user, status=Submission.Status.FAILED, error="Prediction failed: boom")
    number = NumberSubmissionFactory(owner=user, number="0427", model_version=active_version)
    corrected_number = NumberSubmissionFactory(owner=user, number="58", is_digit=False, reason="not_a_digit")
    CorrectionFactory(submission=corrected_number, label=None, number="59")
    return [
        Submission.objects.select_related("correction", "model_version").get(pk=s.pk)
        for s in (flagged, checked, corrected, pending, failed, number, corrected_number)
    ]


def test_a_submission_reads_the_same_both_ways(submissions):
    context = {"request": APIRequestFactory().get("/api/v1/submissions/")}
    for submission in submissions:
        serializer = SubmissionSerializer(context=context)
        assert serializer.to_representation(submission) == _field_by_field(serializer, submission)
        preview = PreviewSerializer()
        assert preview.to_representation(submission) == _field_by_field(preview, submission)


def test_a_prediction_reads_the_same_both_ways(submissions):
    for submission in submissions:
        if submission.status == Submission.Status.DONE:
            serializer = PredictionSerializer()
            assert serializer.to_representation(submission) == _field_by_field(serializer, submission)
