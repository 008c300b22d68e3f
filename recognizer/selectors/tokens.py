"""Reads of API tokens: whose token a key is, without a query per call once warm."""

from __future__ import annotations

import copy

from rest_framework.authtoken.models import Token

from recognizer.caching import GenerationCache

# Forgotten in every process when a token or a user is saved or deleted (recognizer/signals.py).
TOKENS = GenerationCache("tokens")


def auth_token_get(*, key: str) -> Token:
    """Return the token with this key and its user; raise Token.DoesNotExist.

    Kept in this process's memory after the first call, so a script's calls
    cost no query for authentication. The caller gets its own copies of the
    token and the user: a request that changes its `request.user` changes
    nobody else's.
    """
    token = TOKENS.get(key, lambda: Token.objects.select_related("user").get(key=key))
    fresh = copy.copy(token)
    fresh.user = copy.copy(token.user)
    return fresh
