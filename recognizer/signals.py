"""Register the shipped model as the first version once the tables exist."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def register_initial_model(sender, **kwargs) -> None:
    from django.db import DEFAULT_DB_ALIAS

    from recognizer.services.model_versions import model_version_ensure_active

    if kwargs.get("using", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
        return
    try:
        version = model_version_ensure_active()
    except FileNotFoundError as error:
        logger.warning("No model registered: %s", error)
        return
    if kwargs.get("verbosity", 1) >= 2:
        logger.info("Active model version: %s", version)
