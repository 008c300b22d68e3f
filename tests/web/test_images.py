"""The views of a submission's pictures: the 28x28 input at any scale, the original as sent."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def test_input_is_the_28x28_input_scaled_for_staff_too(staff_client):
    submission = SubmissionFactory()  # someone else's
    url = reverse("recognizer:submission_input", args=[submission.pk])
    assert Image.open(io.BytesIO(staff_client.get(url + "?scale=4").content)).size == (112, 112)
    assert Image.open(io.BytesIO(staff_client.get(url + "?scale=99").content)).size == (280, 280)
    response = staff_client.get(url + "?scale=nonsense")
    assert Image.open(io.BytesIO(response.content)).size == (28, 28)
    assert "max-age" in response["Cache-Control"]
    assert staff_client.get(reverse("recognizer:submission_input", args=[submission.pk + 1000])).status_code == 404


def test_original_whose_file_is_gone_is_404(user_client, user):
    submission = SubmissionFactory(owner=user)
    submission.image.storage.delete(submission.image.name)
    assert user_client.get(reverse("recognizer:submission_original", args=[submission.pk])).status_code == 404


def test_original_of_an_unknown_type_is_served_as_bytes(user_client, user):
    submission = SubmissionFactory(owner=user, image_content_type="text/html")
    response = user_client.get(reverse("recognizer:submission_original", args=[submission.pk]))
    assert response["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("name", ["submission_input", "submission_original"])
def test_pictures_answer_only_get(user_client, user, name):
    url = reverse(f"recognizer:{name}", args=[SubmissionFactory(owner=user).pk])
    assert user_client.post(url).status_code == 405
