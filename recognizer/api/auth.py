"""API tokens: trade a username and password for the key scripts send."""

from __future__ import annotations

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from recognizer.api.common import BaseApi
from recognizer.api.serializers import error_responses
from recognizer.services.tokens import auth_token_obtain


class SessionAuthenticationScheme(SessionScheme):
    """Document the API's session authentication (a subclass of DRF's) as `cookieAuth`, like DRF's own."""

    target_class = "recognizer.api.authentication.SessionAuthentication"


class TokenObtainApi(BaseApi):
    # No authentication here: a stale token in the headers must not block logging in.
    authentication_classes = []
    permission_classes = [AllowAny]

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField(source="key", help_text="Send it as `Authorization: Token <token>`.")

    @extend_schema(
        tags=["auth"],
        operation_id="auth_token_create",
        summary="Get an API token",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **error_responses(400, 413, 415, 429)},
        auth=[],
    )
    def post(self, request):
        """Return the caller's API token for a username and password, creating it on first use.

        Wrong passwords count towards the log-in lockout, as on the log-in page: after 5 in a row for a username
        from one address, that username is refused from there for 15 minutes (429 `locked_out`).
        """
        serializer = self.TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's request, not DRF's wrapper: the log-in lockout (digitsite/lockout.py) counts failures by its
        # address and marks a locked-out attempt on it, and the lockout middleware, which sees only Django's
        # request, then answers 429 `locked_out` in place of this view's answer.
        token = auth_token_obtain(**serializer.validated_data, request=request._request)
        return Response(self.TokenOutputSerializer(token).data)
