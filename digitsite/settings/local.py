"""Development settings: the embedded default (SQLite, in-process tasks)."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
