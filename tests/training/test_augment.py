"""Training-time distortions: they bend and thicken digits, never erase or invent them."""

from __future__ import annotations

import numpy as np
import pytest

from training.augment import build_augmenter, elastic_layer, stroke_width_layer
from training.data import load_sample


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_sample().x_test[:64, ..., None].astype("float32")


def _ink(images) -> np.ndarray:
    return np.asarray(images).reshape(len(images), -1).sum(axis=1)


def test_a_warp_of_zero_pixels_leaves_the_image_as_it_was(digits):
    warp = elastic_layer()(probability=1.0, pixels=0.0)

    assert np.allclose(np.asarray(warp(digits, training=True)), digits, atol=1e-3)


def test_a_warp_bends_every_chosen_digit_and_keeps_its_ink(digits):
    import keras

    keras.utils.set_random_seed(7)
    warp = elastic_layer()(probability=1.0, pixels=1.2)

    warped = np.asarray(warp(digits, training=True))

    assert warped.shape == digits.shape
    assert warped.min() >= 0 and warped.max() <= 255.001
    moved = np.abs(warped - digits).reshape(len(digits), -1).max(axis=1)
    assert (moved > 50).all()
    # Bending stretches and squeezes strokes locally; it neither erases a digit nor doubles it.
    ratio = _ink(warped) / _ink(digits)
    assert 0.85 < np.median(ratio) < 1.15
    assert ratio.min() > 0.4 and ratio.max() < 2.0


def test_a_warp_applies_to_about_its_share_of_the_images(digits):
    import keras

    keras.utils.set_random_seed(11)
    warp = elastic_layer()(probability=0.5, pixels=1.2)
    many = np.concatenate([digits] * 8)

    changed = np.abs(np.asarray(warp(many, training=True)) - many).reshape(len(many), -1).max(axis=1) > 1e-3

    assert 0.35 < changed.mean() < 0.65


def test_warps_and_stroke_changes_are_off_outside_training(digits):
    assert np.array_equal(np.asarray(elastic_layer()(probability=1.0)(digits, training=False)), digits)
    assert np.array_equal(np.asarray(stroke_width_layer()(probability=1.0)(digits, training=False)), digits)


@pytest.mark.parametrize("elastic", [0.0, 0.5])
def test_the_augmenter_keeps_shape_range_and_each_digit(digits, elastic):
    import keras

    keras.utils.set_random_seed(3)
    augmenter = build_augmenter(elastic=elastic)
    warps = [layer for layer in augmenter.layers if isinstance(layer, elastic_layer())]
    assert len(warps) == (1 if elastic else 0)

    out = np.asarray(augmenter(digits, training=True))

    assert out.shape == digits.shape
    assert out.min() >= -1e-3 and out.max() <= 255.001
    assert (_ink(out) > 0.25 * _ink(digits)).all()
    assert not np.allclose(out, digits)


def test_the_training_pipeline_yields_every_image_once_per_epoch_shuffled_and_distorted():
    import keras

    from training.augment import augmented_batches

    keras.utils.set_random_seed(5)
    images = load_sample().x_test[:64]
    labels = np.arange(64)

    batches = list(augmented_batches(images, labels, batch_size=16, seed=1))

    assert [tuple(batch.shape) for batch, _ in batches] == [(16, 28, 28, 1)] * 4
    order = np.concatenate([np.asarray(ids) for _, ids in batches])
    assert sorted(order) == list(range(64)) and list(order) != list(range(64))
    out = np.concatenate([np.asarray(batch) for batch, _ in batches])
    assert not np.allclose(out, images[order, ..., None].astype("float32"))
