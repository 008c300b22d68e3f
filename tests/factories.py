"""factory_boy factories for the recognizer's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from recognizer.models import Correction, Submission
from tests.images import sample_digit
from training.preprocessing import pixels_to_bytes


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SubmissionFactory(factory.django.DjangoModelFactory):
    """A stored, already-predicted submission (no model call)."""

    class Meta:
        model = Submission

    owner = factory.SubFactory(UserFactory)
    source = Submission.Source.CANVAS
    pixels = factory.Sequence(lambda n: pixels_to_bytes(sample_digit(n % 2000)[0]))
    image = factory.LazyFunction(lambda: ContentFile(b"\x89PNG not really", name="digit.png"))
    image_content_type = "image/png"
    status = Submission.Status.DONE
    created_at = factory.LazyFunction(timezone.now)
    predicted_digit = factory.Sequence(lambda n: sample_digit(n % 2000)[1])
    confidence = 0.97
    probabilities = factory.LazyAttribute(lambda s: [0.97 if d == s.predicted_digit else 0.03 / 9 for d in range(10)])


class CorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Correction
        skip_postgeneration_save = True

    submission = factory.SubFactory(SubmissionFactory, is_corrected=True)
    label = factory.LazyAttribute(lambda c: (c.submission.predicted_digit + 1) % 10)

    @factory.post_generation
    def mirror_on_submission(correction, create, extracted, **kwargs):
        """Keep the submission's `needs_review` mirror as the services keep it."""
        waits = correction.review_state == Correction.Review.PENDING
        correction.submission.needs_review = waits
        if create:
            Submission.objects.filter(pk=correction.submission_id).update(is_corrected=True, needs_review=waits)
