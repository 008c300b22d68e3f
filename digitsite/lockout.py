"""Log-in lockout (django-axes): the backend, the client's address and the answer to a locked-out attempt.

The policy itself (how many failures, for how long, on what key) is in settings/base.py.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

API_PREFIX = "/api/"


class LockoutBackend(AxesStandaloneBackend):
    """Refuse every log-in attempt, right password included, while its username and address are locked out.

    Listed before ModelBackend. Axes' own backend raises when `authenticate` is called without a request;
    without one there is no client address to count failures against, so this one lets such calls through
    to the next backend (the test client's `login()` is one). Every way in over HTTP passes its request and
    is counted: the site's log-in form, the admin's, and the API token endpoint.
    """

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address, as the API throttles see it.

    REMOTE_ADDR, or, behind NUM_PROXIES trusted proxies, the address the outermost one saw
    (X-Forwarded-For entries left of that are the client's to write, so are never trusted).
    """
    return BaseThrottle().get_ident(request)


def cool_off_seconds(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with a JSON body under /api/, the site's page elsewhere."""
    seconds = cool_off_seconds(request)
    minutes = max(1, math.ceil(seconds / 60))
    if request.path_info.startswith(API_PREFIX):
        body = {
            "detail": f"Too many failed log-in attempts. Try again in {minutes} minutes.",
            "code": "locked_out",
        }
        return JsonResponse(body, status=429, headers={"Retry-After": str(seconds)})
    context = {"cool_off_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/locked_out.html", context, status=429)
