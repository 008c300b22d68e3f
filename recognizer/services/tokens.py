"""API tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from rest_framework.authtoken.models import Token


def auth_token_obtain(*, username: str, password: str, request: HttpRequest | None = None) -> Token:
    """Return the API token of the active account with these credentials, creating it on first use.

    `request` lets authentication backends that watch log-in attempts see where it came from.
    """
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise ValidationError("Unable to log in with this username and password.", code="invalid_credentials")
    token, _ = Token.objects.get_or_create(user=user)
    return token
