"""Throttles per user and per anonymous address, with rates from settings."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class RatesFromSettings:
    """Read the rates on each request: DRF binds them once at import, so a changed setting would never apply."""

    @property
    def THROTTLE_RATES(self) -> dict:  # the attribute name DRF looks up
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonRateThrottle(RatesFromSettings, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(RatesFromSettings, throttling.UserRateThrottle):
    pass
