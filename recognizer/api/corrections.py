"""A submission's correction: set it (a digit, "not a digit", a whole number or one of its pieces) or withdraw it.

Set and withdraw share a path; the URL serves `CorrectionApi`, which combines them.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.utils import html

from recognizer.api.common import BaseApi
from recognizer.api.serializers import SubmissionSerializer, error_responses
from recognizer.selectors.submissions import submission_get
from recognizer.services.corrections import (
    correction_digit_set,
    correction_number_set,
    correction_set,
    correction_withdraw,
)


class CorrectionLabelField(serializers.IntegerField):
    """A digit 0-9, or JSON null for "not a digit".

    Only an explicit null says "not a digit": a blank form field stays the
    `invalid` error it always was, where DRF would read it as null.
    """

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=9, allow_null=True, **kwargs)

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class NumberTextField(serializers.CharField):
    """A number as a JSON string: a JSON number would lose its leading zeros."""

    default_error_messages = {"invalid": 'Send the number as a string of digits, such as "0427".'}

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CorrectionSetApi(BaseApi):
    class CorrectionInputSerializer(serializers.Serializer):
        label = CorrectionLabelField(
            required=False,
            help_text="The digit actually drawn, 0 to 9; `null` when it is not a digit. With `position`: the label of "
            "the piece of a number at that place (`null`: that piece is not a digit).",
        )
        number = NumberTextField(
            required=False,
            max_length=16,
            allow_blank=True,
            help_text="For a number: the whole true number, one digit for each piece found that is not in "
            "`not_digits` (`number_length_mismatch` otherwise).",
        )
        not_digits = serializers.ListField(
            child=serializers.IntegerField(min_value=0, max_value=15),
            required=False,
            max_length=16,
            help_text="With `number`: the positions of the pieces that are not digits (a stray mark, half of a split "
            "digit). Left out, the marks already saved stay if `number` fits them.",
        )
        position = serializers.IntegerField(
            required=False,
            min_value=0,
            max_value=15,
            help_text="For a number: the place of the one piece `label` corrects, 0 for the leftmost.",
        )

        def validate(self, data: dict) -> dict:
            if "number" in data and ("label" in data or "position" in data):
                raise serializers.ValidationError("Send `number`, or `label` (with `position` for one digit).")
            if "not_digits" in data and "number" not in data:
                raise serializers.ValidationError(
                    {"number": ["Send `not_digits` with the `number` of the other pieces."]}, code="required"
                )
            if data.get("number") == "" and "not_digits" not in data:
                # An empty number says "no digit at all", which only holds with every piece in `not_digits`.
                raise serializers.ValidationError({"number": ["This field may not be blank."]}, code="blank")
            if "position" in data and "label" not in data:
                raise serializers.ValidationError(
                    {"label": ["Send the digit's `label` with its `position`."]}, code="required"
                )
            if "number" not in data and "label" not in data:
                message = "This field is required (or `number`, for a number)."
                raise serializers.ValidationError({"label": [message]}, code="required")
            return data

    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_correction_update",
        summary="Correct a prediction",
        request=CorrectionInputSerializer,
        examples=[
            OpenApiExample("It was a 7", value={"label": 7}, request_only=True),
            OpenApiExample("It is not a digit", value={"label": None}, request_only=True),
            OpenApiExample("The number was 2026", value={"number": "2026"}, request_only=True),
            OpenApiExample("Its last digit was a 6", value={"position": 3, "label": 6}, request_only=True),
            OpenApiExample("Its third piece is not a digit", value={"position": 2, "label": None}, request_only=True),
            OpenApiExample(
                "2026, and the third piece is not a digit",
                value={"number": "2026", "not_digits": [2]},
                request_only=True,
            ),
        ],
        responses={200: SubmissionSerializer, **error_responses(400, 401, 404, 413, 415, 429)},
    )
    def put(self, request, submission_id: int):
        """Set the true label of one of the caller's submissions, replacing any earlier one.

        `{"label": 7}` says it is a 7; `{"label": null}` says it is not a digit at all. A number is corrected
        whole, `{"number": "2026"}`, or one piece at a time, `{"position": 3, "label": 6}`; either way each of
        its pieces gets its label. `{"position": 2, "label": null}` says the piece at 2 is not a digit (a stray
        mark, half of a digit split in two): the number is then the other pieces' digits. `{"number": "2026",
        "not_digits": [2]}` says it all at once.
        """
        serializer = self.CorrectionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        submission = submission_get(user=request.user, submission_id=submission_id, for_change=True)
        if "number" in data:
            number, not_digits = data["number"], data.get("not_digits")
            correction_number_set(submission=submission, number=number, not_digits=not_digits, user=request.user)
        elif "position" in data:
            position, label = data["position"], data["label"]
            correction_digit_set(submission=submission, position=position, label=label, user=request.user)
        else:
            correction_set(submission=submission, label=data["label"], user=request.user)
        return Response(SubmissionSerializer(submission, context={"request": request}).data)


class CorrectionWithdrawApi(BaseApi):
    @extend_schema(
        tags=["submissions"],
        operation_id="submissions_correction_destroy",
        summary="Withdraw a correction",
        responses={204: None, **error_responses(401, 404, 429)},
    )
    def delete(self, request, submission_id: int):
        """Remove the correction of one of the caller's submissions, if it has one."""
        submission = submission_get(user=request.user, submission_id=submission_id, for_change=True)
        correction_withdraw(submission=submission)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CorrectionApi(CorrectionSetApi, CorrectionWithdrawApi):
    """PUT sets, DELETE withdraws: /api/v1/submissions/{id}/correction/."""
