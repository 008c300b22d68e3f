"""The served copy: exported from the Keras model, answering like it, fast to load."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from django.conf import settings

from training.data import load_sample
from training.evaluate import predict_probabilities
from training.serving import BUCKETS, PADDING, ServingModel, chunk_sizes


@pytest.fixture(scope="module")
def shipped_model():
    import keras

    return keras.models.load_model(settings.RECOGNIZER["INITIAL_MODEL_PATH"], compile=False)


@pytest.fixture(scope="module")
def served(shipped_model) -> ServingModel:
    return ServingModel.from_keras(shipped_model)


@pytest.fixture(scope="module")
def sample_digits() -> np.ndarray:
    return load_sample().x_test


def test_the_served_copy_answers_like_the_float_model(shipped_model, served, sample_digits):
    floats = predict_probabilities(shipped_model, sample_digits, served=False)
    quantized = served.predict_probabilities(sample_digits)
    agreement = (floats.argmax(axis=1) == quantized.argmax(axis=1)).mean()
    assert agreement >= 0.999
    assert np.abs(floats - quantized).max() < 0.1
    assert np.allclose(quantized.sum(axis=1), 1.0, atol=1e-4)


def test_the_served_copy_is_a_fraction_of_the_float_weights(served):
    # 0.36 M float32 weights take 1.4 MB; stored as int8 they take a quarter of that.
    assert len(served._content) < 600 * 1024


def test_an_answer_does_not_depend_on_the_rest_of_its_batch(served, sample_digits):
    digit = sample_digits[:1]
    alone = served.predict_probabilities(digit)
    among_digits = served.predict_probabilities(sample_digits[:64])[:1]
    among_blank_and_full = served.predict_probabilities(
        np.concatenate([digit, np.zeros((30, 28, 28), np.uint8), np.full((33, 28, 28), 255, np.uint8)])
    )[:1]
    assert np.array_equal(alone, among_digits)
    assert np.array_equal(alone, among_blank_and_full)


@pytest.mark.parametrize("count", [0, 1, 3, 17, 33, 256, 300])
def test_any_batch_size_gets_one_row_per_image_in_order(served, sample_digits, count):
    pixels = sample_digits[:count]
    probabilities = served.predict_probabilities(pixels)
    assert probabilities.shape == (count, 10)
    if count:
        one_by_one = np.concatenate([served.predict_probabilities(p[None]) for p in pixels[:3]])
        assert np.array_equal(probabilities[:3], one_by_one)


@pytest.mark.parametrize("count", [1, 3, 7, 17, 22, 33, 100, 300, 513])
def test_a_batch_runs_in_planned_sizes_padded_little(count):
    sizes = chunk_sizes(count)
    assert all(size in BUCKETS for size in sizes)
    assert count <= sum(sizes) <= count + PADDING * sizes[-1]
    assert sum(sizes[:-1]) < count  # only the last chunk is padded


def test_several_threads_share_one_served_copy(served, sample_digits):
    pixels = sample_digits[:80]
    expected = served.predict_probabilities(pixels)
    results: list[np.ndarray] = []

    def work() -> None:
        for size in (1, 5, 80):
            results.append((size, served.predict_probabilities(pixels[:size])))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12
    assert all(np.array_equal(result, expected[:size]) for size, result in results)
