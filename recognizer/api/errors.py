"""The one place that turns service errors into API responses.

Every 4xx body has `detail` (a sentence for people) and `code` (stable, for
programs).
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import csrf
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from training.preprocessing import ImageRejected

IMAGE_ERROR_STATUS = {
    "image_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "unsupported_format": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
}


# Service refusals caused by the state of the system, not by the request.
CONFLICT_CODES = {"retrain_in_progress": status.HTTP_409_CONFLICT}


class RequestTooLarge(exceptions.APIException):
    """A request body over the endpoint's limit, refused before it is read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "request_too_large"


def _first_message(detail) -> tuple[str, str]:
    """Flatten DRF's nested error detail into one sentence and one code."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        message, code = _first_message(value)
        prefix = "" if field in ("non_field_errors", "detail") else f"{field}: "
        return prefix + message, code
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail), getattr(detail, "code", "invalid")


def _suspicious_response(exc: SuspiciousOperation) -> Response:
    # Django refuses these while parsing the body; without this they would be an HTML 400 page.
    if isinstance(exc, RequestDataTooBig):
        body = {"detail": "The request body is too large.", "code": "request_too_large"}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return Response({"detail": f"The request was refused: {exc}", "code": "bad_request"}, status=400)


def exception_handler(exc, context):
    if isinstance(exc, ImageRejected):
        body = {"detail": str(exc), "code": exc.code}
        if getattr(exc, "index", None) is not None:
            body["index"] = exc.index
        return Response(body, status=IMAGE_ERROR_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST))
    if isinstance(exc, ValidationError):
        message = exc.messages[0] if exc.messages else "Invalid input."
        code = getattr(exc, "code", None) or "invalid"
        return Response({"detail": message, "code": code}, status=CONFLICT_CODES.get(code, status.HTTP_400_BAD_REQUEST))
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_response(exc)
    if isinstance(exc, RecursionError):
        # DRF's JSON parser lets this through for deeply nested bodies.
        return Response({"detail": "The JSON body is nested too deeply.", "code": "parse_error"}, status=400)
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        exc = exceptions.NotFound("Not found.")

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        if isinstance(exc.detail, (dict, list)):
            message, code = _first_message(exc.detail)
        else:
            message, code = str(exc.detail), exc.detail.code if hasattr(exc.detail, "code") else exc.default_code
        response.data = {"detail": message, "code": code}
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            response.data["fields"] = exc.detail
    return response


API_PREFIX = "/api/"


# Exempt: it changes nothing, and without this the CSRF middleware would answer an unknown address
# with an unsafe method (DELETE, POST...) with its HTML 403 before this view could say 404. DRF's views
# are exempt the same way; they check CSRF themselves, for session-authenticated calls only.
@csrf_exempt
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Answer an address the API does not have in JSON, like every other API error."""
    return JsonResponse({"detail": "There is no API endpoint at this address.", "code": "not_found"}, status=404)


def csrf_failure(request, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a JSON 403 under /api/, Django's HTML page everywhere else."""
    if request.path_info.startswith(API_PREFIX):
        body = {"detail": f"CSRF check failed: {reason}", "code": "csrf_failed"}
        return JsonResponse(body, status=403)
    return csrf.csrf_failure(request, reason=reason)
