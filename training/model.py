"""Build the digit classifier: a small VGG-style CNN tuned for CPU inference."""

from __future__ import annotations

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _conv_block(x, filters: int, padding: str = "same"):
    from keras import layers

    x = layers.Conv2D(filters, 3, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_model():
    """Return an uncompiled CNN mapping uint8-range 28x28 images to 10 probabilities.

    The model rescales its own input, so callers feed the stored 0-255 pixels.
    About 0.36 M parameters and 10 M multiply-adds per image: batch norm and
    dropout carry the accuracy, two max-pools keep the CPU cost low.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="pixels")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = _conv_block(x, 24, padding="valid")
    x = _conv_block(x, 24, padding="valid")
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.2)(x)
    x = _conv_block(x, 48)
    x = _conv_block(x, 48)
    x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.2)(x)
    x = _conv_block(x, 96, padding="valid")
    x = _conv_block(x, 96)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_cnn")
