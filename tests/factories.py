"""factory_boy factories for the recognizer's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from recognizer.models import Correction, ModelVersion, RetrainJob, Submission, SubmissionDigit
from recognizer.services.corrections import correction_held_out
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
    # The detector's verdict: not checked (as from a version without a detector) unless a trait says otherwise,
    # e.g. SubmissionFactory(not_a_digit=True).
    is_digit = None
    reason = ""

    class Params:
        checked_digit = factory.Trait(is_digit=True)
        not_a_digit = factory.Trait(is_digit=False, reason=Submission.Reason.NOT_A_DIGIT)
        several_digits = factory.Trait(is_digit=False, reason=Submission.Reason.SEVERAL_DIGITS)


class SubmissionDigitFactory(factory.django.DjangoModelFactory):
    """One digit of a number submission, predicted (no model call)."""

    class Meta:
        model = SubmissionDigit

    position = factory.Sequence(lambda n: n)
    x = factory.LazyAttribute(lambda d: 10 + 60 * d.position)
    y = 10
    width = 40
    height = 56
    pixels = factory.Sequence(lambda n: pixels_to_bytes(sample_digit(n % 2000)[0]))
    predicted_digit = 0
    confidence = 0.99
    probabilities = factory.LazyAttribute(lambda d: [0.99 if i == d.predicted_digit else 0.01 / 9 for i in range(10)])
    is_digit = True


class NumberSubmissionFactory(SubmissionFactory):
    """A stored, already-predicted number submission with one digit row per digit of `number` (no model call)."""

    class Meta:
        skip_postgeneration_save = True

    kind = Submission.Kind.NUMBER
    pixels = b""
    predicted_digit = None
    probabilities = None
    number = "2026"
    confidence = factory.LazyAttribute(lambda s: 0.99 ** len(s.number))
    is_digit = True

    @factory.post_generation
    def digits(submission, create, extracted, **kwargs):
        if create and submission.number:
            for position, char in enumerate(submission.number):
                SubmissionDigitFactory(submission=submission, position=position, predicted_digit=int(char))


class CorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Correction
        skip_postgeneration_save = True

    submission = factory.SubFactory(SubmissionFactory, is_corrected=True)
    label = factory.LazyAttribute(lambda c: (c.submission.predicted_digit + 1) % 10)
    # Held out as the services decide it, so retraining splits factory rows as it splits real ones.
    held_out = factory.LazyAttribute(lambda c: correction_held_out(submission_id=c.submission.pk))

    @factory.post_generation
    def mirror_on_submission(correction, create, extracted, **kwargs):
        """Keep the submission's `needs_review` mirror as the services keep it."""
        waits = correction.review_state == Correction.Review.PENDING
        correction.submission.needs_review = waits
        if create:
            Submission.objects.filter(pk=correction.submission_id).update(is_corrected=True, needs_review=waits)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A registered candidate version with a placeholder file (never loaded: no model call)."""

    class Meta:
        model = ModelVersion

    number = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"factory version {n}")
    artifact = factory.LazyFunction(lambda: ContentFile(b"not a real model", name="model.keras"))
    state = ModelVersion.State.CANDIDATE
    metrics = factory.LazyFunction(lambda: {"mnist": {"accuracy": 0.99, "count": 10000}})
    mnist_accuracy = 0.99


class RetrainJobFactory(factory.django.DjangoModelFactory):
    """A finished retraining job (not in flight, so it never blocks a new one)."""

    class Meta:
        model = RetrainJob

    state = RetrainJob.State.SUCCEEDED
    in_flight = None
    trigger = RetrainJob.Trigger.API
    stage = RetrainJob.Stage.DONE
    log = "12:00:00 Queued by a factory.\n"
    finished_at = factory.LazyFunction(timezone.now)
