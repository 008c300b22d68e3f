"""Random distortions that make MNIST look like digits people actually draw."""

from __future__ import annotations

import functools


def build_augmenter(strength: float = 1.0):
    """Return a Keras layer stack that distorts a batch of (N, 28, 28, 1) images.

    Geometric jitter (rotation, zoom, shear, shift) covers hand and camera
    variation; the stroke layer thickens or thins ink, since brushes on a
    canvas and pens on paper differ far more than MNIST's writers did.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomRotation(0.035 * strength, fill_mode="constant"),
            layers.RandomZoom(0.12 * strength, fill_mode="constant"),
            layers.RandomShear(x_factor=0.15 * strength, y_factor=0.0, fill_mode="constant"),
            layers.RandomTranslation(0.08 * strength, 0.08 * strength, fill_mode="constant"),
            stroke_width_layer()(probability=0.3 * strength),
        ],
        name="augmenter",
    )


@functools.cache
def stroke_width_layer():
    """Return the StrokeWidth layer class (built lazily: it needs TensorFlow)."""
    import keras
    import tensorflow as tf

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
