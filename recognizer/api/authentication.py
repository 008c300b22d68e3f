"""Authentication classes of the API.

Kept apart from the views: DRF imports these while it builds APIView, so this
module must not import any view module.
"""

from __future__ import annotations

from rest_framework import authentication, exceptions, status


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
