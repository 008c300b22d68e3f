"""What every recognizer admin shares: rows are read-only, changes go through actions."""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyRowsMixin:
    """Rows are shown, never edited or added by hand: changes go through actions and services."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Model-level change permission enables the actions; a row's form stays read-only.
        return obj is None and self.can_act(request)

    def can_act(self, request: HttpRequest) -> bool:
        """Return whether `request.user` may run the actions that change data (the model's change permission)."""
        return super().has_change_permission(request)
