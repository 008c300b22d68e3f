"""TensorFlow and Keras come from one helper that quiets TensorFlow's C++ logging first."""

from __future__ import annotations

import os

from training.runtime import import_keras, import_tensorflow


def test_tensorflow_comes_with_its_start_up_logging_turned_down(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)

    tf = import_tensorflow()

    assert tf.__name__ == "tensorflow"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"


def test_a_log_level_already_chosen_is_kept(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")

    keras = import_keras()

    assert keras.__name__ == "keras"
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
