"""Build the digit classifier: a small VGG-style CNN tuned for CPU inference."""

from __future__ import annotations

import numpy as np

from training.runtime import import_keras

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _conv_block(x, filters: int, padding: str = "same"):
    layers = import_keras().layers

    x = layers.Conv2D(filters, 3, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_model():
    """Return an uncompiled CNN mapping uint8-range 28x28 images to 10 probabilities.

    The model rescales its own input, so callers feed the stored 0-255 pixels.
    About 0.36 M parameters and 10 M multiply-adds per image: batch norm and
    dropout carry the accuracy, two max-pools keep the CPU cost low.
    """
    keras = import_keras()
    layers = keras.layers

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


def fuse_for_inference(model):
    """Return an equivalent model with batch norm folded into the layer before it.

    Inference then runs one convolution (or matrix product) with a bias where
    training ran a convolution, a normalisation and a shift; dropout is
    dropped and the input rescaling is folded into the first layer. Works on
    chains of layers such as `build_model` makes; answers match the original
    to float rounding.
    """
    keras = import_keras()

    rebuilt = _fused_layers(model)
    inputs = keras.Input(shape=model.input_shape[1:])
    x = inputs
    for clone, weights in rebuilt:
        x = clone(x)
        if weights:
            clone.set_weights(weights)
    return keras.Model(inputs, x, name=f"{model.name}_fused")


def _fused_layers(model) -> list[tuple[object, list]]:
    """Return new layers, with their weights, that compute what `model`'s chain of layers does at inference."""
    layers = import_keras().layers
    chain = [layer for layer in model.layers if not isinstance(layer, (layers.InputLayer, layers.Dropout))]
    input_scale = 1.0
    rebuilt = []
    index = 0
    while index < len(chain):
        layer = chain[index]
        following = chain[index + 1] if index + 1 < len(chain) else None
        if isinstance(layer, layers.Rescaling) and float(np.asarray(layer.offset)) == 0.0 and not rebuilt:
            input_scale *= float(np.asarray(layer.scale))
        elif isinstance(layer, (layers.Conv2D, layers.Dense)):
            norm = following if isinstance(following, layers.BatchNormalization) else None
            rebuilt.append(_folded(layer, norm, input_scale))
            input_scale = 1.0
            if norm is not None:
                index += 1  # folded in: skip it
        else:
            rebuilt.append((_fresh_copy(layer), layer.get_weights()))
        index += 1
    return rebuilt


def _folded(layer, norm, input_scale: float) -> tuple[object, list]:
    """Return a biased copy of a Conv2D or Dense `layer` and its weights, `input_scale` and `norm` folded in.

    The copy's input is what `layer`'s was before scaling by `input_scale`;
    its output is what the batch normalisation `norm` (if any) made of
    `layer`'s.
    """
    keras = import_keras()
    weights = layer.get_weights()
    kernel = weights[0] * input_scale
    bias = weights[1] if layer.use_bias else np.zeros(kernel.shape[-1], kernel.dtype)
    if norm is not None:
        gamma, beta, mean, variance = norm.get_weights()
        factor = gamma / np.sqrt(variance + norm.epsilon)
        kernel = kernel * factor
        bias = (bias - mean) * factor + beta
    clone = _fresh_copy(layer, use_bias=True, activation=keras.activations.serialize(layer.activation))
    return clone, [kernel.astype("float32"), bias.astype("float32")]


def _fresh_copy(layer, **changes):
    """Return a new, unnamed layer configured like `layer` but for `changes`."""
    config = {**layer.get_config(), **changes}
    config.pop("name", None)
    return layer.__class__.from_config(config)
