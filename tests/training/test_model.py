"""The shipped model and the network that produces it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from django.conf import settings

from training.data import load_mnist, load_sample, resolve_data_dir
from training.evaluate import evaluate_model, metrics_from_predictions


@pytest.fixture(scope="module")
def shipped_model():
    import keras

    return keras.models.load_model(settings.RECOGNIZER["INITIAL_MODEL_PATH"], compile=False)


def test_the_shipped_model_is_small():
    path = settings.RECOGNIZER["INITIAL_MODEL_PATH"]
    assert os.path.getsize(path) < 10 * 1024 * 1024


def test_the_network_is_about_a_million_parameters_or_fewer():
    from training.model import build_model

    model = build_model()
    assert model.count_params() <= 1_000_000
    assert model.output_shape == (None, 10)


def test_the_shipped_model_scores_at_least_99_percent_on_the_bundled_test_sample(shipped_model):
    sample = load_sample()
    metrics = evaluate_model(shipped_model, sample.x_test, sample.y_test)
    assert metrics["count"] == 2000
    assert metrics["accuracy"] >= 0.99


@pytest.mark.skipif(not resolve_data_dir(), reason="MNIST_DIR is not set: the full test set is not on this machine")
def test_the_shipped_model_scores_at_least_99_6_percent_on_the_full_test_set(shipped_model):
    full = load_mnist()
    metrics = evaluate_model(shipped_model, full.x_test, full.y_test)
    assert metrics["count"] == 10000
    assert metrics["accuracy"] >= 0.996


def test_the_recorded_metrics_are_the_models_own():
    summary_path = settings.RECOGNIZER["INITIAL_MODEL_PATH"].with_suffix(".metrics.json")
    summary = json.loads(summary_path.read_text())
    assert summary["test"]["count"] == 10000
    assert summary["test"]["accuracy"] >= 0.996
    matrix = np.array(summary["test"]["confusion_matrix"])
    assert matrix.sum() == 10000
    assert np.trace(matrix) / 10000 == pytest.approx(summary["test"]["accuracy"])


def test_metrics_from_predictions_counts_per_class():
    metrics = metrics_from_predictions(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]))
    assert metrics["accuracy"] == 0.75
    assert metrics["per_class_accuracy"][:3] == [0.5, 1.0, 1.0]
    assert metrics["per_class_accuracy"][3] is None
    assert metrics["confusion_matrix"][0][1] == 1


def test_the_fused_inference_model_answers_like_the_trained_one(shipped_model):
    from training.model import fuse_for_inference

    fused = fuse_for_inference(shipped_model)
    images = load_sample().x_test[:256].astype("float32")[..., None]
    original = shipped_model(images, training=False).numpy()
    folded = fused(images).numpy()
    assert np.abs(original - folded).max() < 1e-4
    assert not any(layer.__class__.__name__ == "BatchNormalization" for layer in fused.layers)
