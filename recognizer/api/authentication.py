"""Authentication classes of the API.

Kept apart from the views: DRF imports these while it builds APIView, so this
module must not import any view module.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, status
from rest_framework.authtoken.models import Token

from recognizer.selectors.tokens import auth_token_get


class CsrfFailed(exceptions.PermissionDenied):
    """A session-authenticated call that changes something, sent without a valid CSRF token."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "CSRF check failed."
    default_code = "csrf_failed"


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, refusing a failed CSRF check with its own code (`csrf_failed`)."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            reason = str(exc.detail).removeprefix("CSRF Failed: ")
            raise CsrfFailed(
                f"CSRF check failed: {reason} A browser session must send the X-CSRFToken header; "
                "scripts should use a token (Authorization: Token <key>)."
            ) from exc


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, reading the token through this process's cache: no query per call once warm.

    A token deleted (rotated, revoked) or a user deactivated or deleted is
    forgotten by every process as the change commits (recognizer/caching.py).
    """

    def authenticate_credentials(self, key):
        try:
            token = auth_token_get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
