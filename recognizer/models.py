"""Submissions, their predictions and corrections, and the model versions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def submission_upload_path(instance: Submission, filename: str) -> str:
    """Store originals under a random name: user file names are never trusted."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    suffix = suffix if suffix.isalnum() and len(suffix) <= 5 else "bin"
    return f"submissions/{instance.created_at:%Y/%m/%d}/{uuid.uuid4().hex}.{suffix}"


def model_artifact_path(instance: ModelVersion, filename: str) -> str:
    return f"models/v{instance.number}-{uuid.uuid4().hex[:8]}.keras"


def detector_artifact_path(instance: ModelVersion, filename: str) -> str:
    return f"models/v{instance.number}-detector-{uuid.uuid4().hex[:8]}.keras"


class ModelVersion(models.Model):
    """One trained model file and what is known about it."""

    class State(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"

    number = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100, blank=True)
    artifact = models.FileField(upload_to=model_artifact_path, max_length=255)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    state = models.CharField(max_length=12, choices=State.choices, default=State.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    mnist_accuracy = models.FloatField(null=True, blank=True, help_text="Accuracy on the 10,000 MNIST test images.")
    holdout_accuracy = models.FloatField(
        null=True, blank=True, help_text="Accuracy on held-out corrections it never trained on."
    )
    metrics = models.JSONField(default=dict, blank=True)
    training_counts = models.JSONField(default=dict, blank=True)
    gate_passed = models.BooleanField(null=True, blank=True)
    gate_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # What makes its answers honest: the detector that says "not a digit" or "several digits", the lowest
    # `digit` probability it accepts, and the temperature that calibrates the classifier's confidence.
    detector = models.FileField(upload_to=detector_artifact_path, max_length=255, blank=True)
    detector_sha256 = models.CharField(max_length=64, blank=True)
    detector_threshold = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state="active"), name="one_active_model_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.number}" + (f" ({self.name})" if self.name else "")


class Submission(models.Model):
    """One picture sent by a person, a digit or a whole number, with the model's answer once it has one.

    A number keeps its digits in `SubmissionDigit` rows; its `confidence` is the whole number's (the product
    of its digits' calibrated confidences), and it has no `predicted_digit`, `probabilities` or `pixels`.
    """

    class Kind(models.TextChoices):
        DIGIT = "digit", "Digit"
        NUMBER = "number", "Number"

    class Source(models.TextChoices):
        CANVAS = "canvas", "Canvas"
        UPLOAD = "upload", "Upload"
        API = "api", "API"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Reason(models.TextChoices):
        NOT_A_DIGIT = "not_a_digit", "Not a digit"
        SEVERAL_DIGITS = "several_digits", "Several digits"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.DIGIT)
    source = models.CharField(max_length=10, choices=Source.choices)
    image = models.FileField(upload_to=submission_upload_path, max_length=255)
    image_content_type = models.CharField(max_length=40, blank=True)
    pixels = models.BinaryField(
        max_length=784, help_text="The normalized 28x28 model input, row by row; empty for a number."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The prediction, filled in once by whoever predicts (web process or worker).
    predicted_digit = models.PositiveSmallIntegerField(null=True, blank=True)
    # A number's digits as read, left to right ("0427"); None for a digit, or while pending.
    number = models.CharField(max_length=16, null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    inference_ms = models.FloatField(null=True, blank=True)
    predicted_at = models.DateTimeField(null=True, blank=True)
    # The detector's verdict; None while pending, or when the version that answered had no detector.
    is_digit = models.BooleanField(null=True, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    # Mirrors whether a Correction exists, so lists filter without a join.
    is_corrected = models.BooleanField(default=False)
    # Mirrors whether that correction waits for review, so the review queue sorts on an index.
    needs_review = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Everyone's drawings in one download: not implied by the view permission.
        permissions = [("export_dataset", "Can export the corrections dataset")]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="submission_owner_created"),
            models.Index(fields=["owner", "is_corrected", "-created_at"], name="submission_owner_corrected"),
            models.Index(fields=["owner", "predicted_digit", "-created_at"], name="submission_owner_digit"),
            models.Index(fields=["status", "created_at"], name="submission_status_created"),
            models.Index(fields=["is_corrected", "confidence"], name="submission_corrected_conf"),
            models.Index(fields=["-needs_review", "confidence", "-created_at"], name="submission_review_queue"),
            models.Index(fields=["owner", "is_digit", "-created_at"], name="submission_owner_is_digit"),
            models.Index(fields=["owner", "kind", "-created_at"], name="submission_owner_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(predicted_digit__isnull=True) | Q(predicted_digit__lte=9), name="predicted_digit_0_9"
            ),
        ]

    def __str__(self) -> str:
        return f"Submission {self.pk} by {self.owner_id}"

    @property
    def is_number(self) -> bool:
        return self.kind == self.Kind.NUMBER

    @property
    def digit_rows(self) -> list[SubmissionDigit]:
        """A number's digits, left to right: those found before it was stored (`found_digits`), else stored ones."""
        found = getattr(self, "found_digits", None)
        if found is not None:
            return found
        if not self.is_number or self.pk is None:
            return []
        return list(self.digits.all())


class SubmissionDigit(models.Model):
    """One digit of a number submission: where it is in the picture, its 28x28 input and the model's answer.

    Written with its submission, in the same transaction; the prediction fields are filled in by whoever
    predicts the number (web process or worker). Its true label is the owner's corrected number at
    `position` (`Correction.number`).
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="digits")
    position = models.PositiveSmallIntegerField(help_text="0 for the leftmost digit.")
    x = models.PositiveIntegerField()
    y = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    pixels = models.BinaryField(max_length=784, help_text="The digit's normalized 28x28 model input, row by row.")
    predicted_digit = models.PositiveSmallIntegerField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(null=True, blank=True)
    is_digit = models.BooleanField(null=True, blank=True)
    reason = models.CharField(max_length=20, choices=Submission.Reason.choices, blank=True)

    class Meta:
        ordering = ["submission", "position"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "position"], name="submission_digit_position"),
            models.CheckConstraint(
                condition=Q(predicted_digit__isnull=True) | Q(predicted_digit__lte=9),
                name="submission_digit_predicted_0_9",
            ),
        ]

    def __str__(self) -> str:
        return f"Digit {self.position} of submission {self.submission_id}"

    @property
    def box(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]


class Correction(models.Model):
    """The true label a person gave for their submission: a digit, or "not a digit" (a NULL label).

    For a number submission, `number` holds the true number instead (`label` stays NULL): the digits of the
    pieces found, left to right, without those marked "not a digit" (`not_digits`, their positions: a stray
    mark, or half of a digit the segmenter split). An admin may reject some digits' labels and accept the rest
    (`rejected_digits`, their positions). `digit_labels` gives each piece its label.

    One current correction per submission: changing it rewrites the label,
    sends it back to review, and appends the old label to `history`.
    """

    NOT_A_DIGIT_TEXT = "not a digit"

    class Review(models.TextChoices):
        PENDING = "pending", "Pending review"
        ACCEPTED = "accepted", "Accepted for training"
        REJECTED = "rejected", "Rejected"

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="correction")
    label = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The digit drawn, 0 to 9; empty when the picture is not a digit."
    )
    number = models.CharField(
        max_length=16, null=True, blank=True, help_text="A number submission's true digits, left to right."
    )
    not_digits = models.JSONField(
        default=list, blank=True, help_text="A number's pieces that are not digits: their positions, ascending."
    )
    rejected_digits = models.JSONField(
        default=list,
        blank=True,
        help_text="A number's pieces whose labels an admin rejected while accepting the rest: their positions.",
    )
    review_state = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    trained_in = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="trained_corrections",
        help_text="The first model version that trained on this correction.",
    )
    history = models.JSONField(default=list, blank=True)
    # Held out of every training set to judge retrained models; decided once, when the correction is made.
    held_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["review_state", "updated_at"], name="correction_review_updated"),
            models.Index(fields=["review_state", "held_out", "trained_in"], name="correction_training"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(label__lte=9) | Q(label__isnull=True), name="correction_label_0_9_or_not_a_digit"
            ),
            models.CheckConstraint(
                condition=Q(label__isnull=True) | Q(number__isnull=True), name="correction_label_or_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label_text} for submission {self.submission_id}"

    @classmethod
    def text_of(cls, label: int | None) -> str:
        """Say a label as people read it: the digit, or "not a digit" for NULL."""
        return cls.NOT_A_DIGIT_TEXT if label is None else str(label)

    @classmethod
    def number_text(cls, number: str, not_digits: list[int]) -> str:
        """Say a number's correction as staff read it: "2026", "2026 (not a digit at 2)", "no digits (...)".

        Positions count from 0, the leftmost piece, as in the API and the admin's table of digits.
        """
        if not not_digits:
            return number or "no digits"
        places = ", ".join(str(position) for position in not_digits)
        return f"{number or 'no digits'} (not a digit at {places})"

    @property
    def label_text(self) -> str:
        return self.number_text(self.number, self.not_digits) if self.number is not None else self.text_of(self.label)

    @property
    def digit_count(self) -> int:
        """How many pieces a number's correction labels: its digits and the pieces marked not a digit."""
        return 0 if self.number is None else len(self.number) + len(self.not_digits)

    @property
    def digit_labels(self) -> list[int | None]:
        """A number's true label per piece found, left to right: a digit, or None where marked not a digit.

        Empty for a digit's correction.
        """
        digits = iter(self.number or "")
        marked = set(self.not_digits)
        return [None if position in marked else int(next(digits)) for position in range(self.digit_count)]

    def digit_review_state(self, position: int) -> str:
        """The review state of one piece of a number: the correction's, unless an admin rejected that piece."""
        return self.Review.REJECTED if position in self.rejected_digits else self.review_state


class RetrainJob(models.Model):
    """One retraining run: who asked, how far it got, and what it produced."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        AUTO = "auto", "Automatic"

    class Stage(models.TextChoices):
        QUEUED = "queued", "Queued"
        LOADING_DATA = "loading data", "Loading data"
        EVALUATING_BASE = "evaluating base model", "Evaluating the base model"
        FINE_TUNING = "fine-tuning", "Fine-tuning"
        BLENDING = "blending with the base model", "Blending with the base model"
        BLENDED = "blended", "Blended"
        EVALUATING_NEW = "evaluating new model", "Evaluating the new model"
        GATE = "gate", "Gate"
        REGISTERED = "registered", "Registered"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Set while queued or running; the unique constraint keeps one job in flight.
    in_flight = models.BooleanField(null=True, default=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.CharField(max_length=40, choices=Stage.choices, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True)
    result_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="retrain_jobs"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["in_flight"], name="one_retrain_in_flight"),
        ]

    def __str__(self) -> str:
        return f"Retrain job {self.pk} ({self.state})"
