"""Fixtures for the REST API tests: clients authenticated the ways clients are."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def api(user) -> APIClient:
    """Alice, as a script: Authorization: Token <key>."""
    return _token_client(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    """Bob, as a script."""
    return _token_client(other_user)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return _token_client(staff_user)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
