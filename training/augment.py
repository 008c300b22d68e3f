"""Random distortions that make MNIST look like digits people actually draw."""

from __future__ import annotations

import functools

import numpy as np

from training.model import INPUT_SHAPE
from training.runtime import import_keras, import_tensorflow


def build_augmenter(strength: float = 1.0, *, elastic: float = 0.0):
    """Return a Keras layer stack that distorts a batch of (N, 28, 28, 1) images.

    Geometric jitter (rotation, zoom, shear, shift) covers hand and camera
    variation; the stroke layer thickens or thins ink, since brushes on a
    canvas and pens on paper differ far more than MNIST's writers did.
    `elastic` is the share of images bent by a smooth random warp, the way
    one writer's loops and strokes differ from another's.
    """
    keras = import_keras()
    layers = keras.layers

    stack = [
        layers.RandomRotation(0.035 * strength, fill_mode="constant"),
        layers.RandomZoom(0.12 * strength, fill_mode="constant"),
        layers.RandomShear(x_factor=0.15 * strength, y_factor=0.0, fill_mode="constant"),
        layers.RandomTranslation(0.08 * strength, 0.08 * strength, fill_mode="constant"),
        stroke_width_layer()(probability=0.3 * strength),
    ]
    if elastic > 0:
        stack.insert(0, elastic_layer()(probability=elastic))
    return keras.Sequential(stack, name="augmenter")


def augmented_batches(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    strength: float = 1.0,
    elastic: float = 0.0,
):
    """Return a tf.data pipeline of shuffled, distorted training batches of (images, labels).

    `images` are 0-255 digits, (N, 28, 28) or (N, 28, 28, 1). The order is
    reshuffled every epoch from `seed`; an augmenter built with `strength`
    and `elastic` (see `build_augmenter`) distorts whole batches while the
    model trains on the previous ones.
    """
    tf = import_tensorflow()
    augmenter = build_augmenter(strength, elastic=elastic)
    return (
        tf.data.Dataset.from_tensor_slices((np.asarray(images, np.float32).reshape(-1, *INPUT_SHAPE), labels))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda x, y: (augmenter(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


@functools.cache
def stroke_width_layer():
    """Return the StrokeWidth layer class (built lazily: it needs TensorFlow)."""
    keras = import_keras()
    tf = import_tensorflow()

    class StrokeWidth(keras.layers.Layer):
        """Dilate or erode each image's ink with the given probability."""

        def __init__(self, probability: float = 0.3, **kwargs):
            super().__init__(**kwargs)
            self.probability = probability

        def call(self, images, training=True):
            if not training:
                return images
            thick = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
            thin = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
            batch = tf.shape(images)[0]
            choice = tf.random.uniform([batch, 1, 1, 1])
            half = self.probability / 2
            out = tf.where(choice < half, thick, images)
            return tf.where((choice >= half) & (choice < self.probability), thin, out)

        def get_config(self):
            return {**super().get_config(), "probability": self.probability}

    return StrokeWidth


@functools.cache
def elastic_layer():
    """Return the ElasticWarp layer class (built lazily: it needs TensorFlow)."""
    keras = import_keras()
    tf = import_tensorflow()

    class ElasticWarp(keras.layers.Layer):
        """Move each pixel along a smooth random field, with the given probability per image.

        The field is drawn on a coarse `grid` x `grid` lattice (a displacement
        of `pixels` standard deviation at each knot) and interpolated, so
        strokes bend without tearing: a cheap form of Simard et al.'s
        elastic distortion. Takes (N, H, W, 1) images: one channel, as digits have.
        """

        def __init__(self, probability: float = 0.5, pixels: float = 1.0, grid: int = 4, **kwargs):
            super().__init__(**kwargs)
            self.probability = probability
            self.pixels = pixels
            self.grid = grid

        def call(self, images, training=True):
            if not training:
                return images
            shape = tf.shape(images)
            batch, height, width = shape[0], shape[1], shape[2]
            knots = tf.random.normal([batch, self.grid, self.grid, 2], stddev=self.pixels)
            chosen = tf.cast(tf.random.uniform([batch, 1, 1, 1]) < self.probability, tf.float32)
            field = tf.image.resize(knots, [height, width], method="bicubic") * chosen
            rows = tf.cast(tf.range(height), tf.float32)[None, :, None] + field[..., 0]
            cols = tf.cast(tf.range(width), tf.float32)[None, None, :] + field[..., 1]
            return _sample_bilinear(tf.cast(images, tf.float32), rows, cols)[..., None]

        def get_config(self):
            return {
                **super().get_config(),
                "probability": self.probability,
                "pixels": self.pixels,
                "grid": self.grid,
            }

    return ElasticWarp


def _sample_bilinear(images, rows, cols):
    """Read (N, H, W, 1) `images` at fractional (N, H, W) positions; outside is background (0)."""
    tf = import_tensorflow()
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    flat = tf.reshape(images, [batch, height * width])
    top, left = tf.floor(rows), tf.floor(cols)
    down, right = rows - top, cols - left
    last_row, last_col = tf.cast(height - 1, tf.float32), tf.cast(width - 1, tf.float32)

    def tap(r, c):
        inside = (r >= 0) & (r <= last_row) & (c >= 0) & (c <= last_col)
        index = tf.cast(tf.clip_by_value(r, 0, last_row) * tf.cast(width, tf.float32), tf.int32) + tf.cast(
            tf.clip_by_value(c, 0, last_col), tf.int32
        )
        values = tf.gather(flat, tf.reshape(index, [batch, -1]), batch_dims=1)
        return tf.reshape(values, tf.shape(rows)) * tf.cast(inside, tf.float32)

    return (
        tap(top, left) * (1 - down) * (1 - right)
        + tap(top, left + 1) * (1 - down) * right
        + tap(top + 1, left) * down * (1 - right)
        + tap(top + 1, left + 1) * down * right
    )
