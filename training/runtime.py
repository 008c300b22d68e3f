"""Import TensorFlow and Keras lazily, with TensorFlow's C++ start-up chatter turned down.

Every place that needs either imports it through here, so the log level is
set in one place and always before TensorFlow loads; a process that never
calls these never pays for TensorFlow.
"""

from __future__ import annotations

import os
from types import ModuleType


def import_tensorflow() -> ModuleType:
    """Return the `tensorflow` module, keeping its C++ logging to errors unless the caller chose a level."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow


def import_keras() -> ModuleType:
    """Return the `keras` module, imported the way `import_tensorflow` imports its backend."""
    import_tensorflow()
    import keras

    return keras
