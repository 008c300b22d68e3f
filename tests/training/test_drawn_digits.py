"""Pen-drawn digits from stroke templates, and the shipped model on them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.conf import settings
from PIL import Image

from training.drawn_digits import _templates, draw_digit, drawn_digits, drawn_inputs
from training.preprocessing import preprocess_bytes


def test_drawn_digits_are_reproducible_for_a_seed_and_differ_between_seeds():
    first, labels = drawn_digits(20, seed=3)
    again, _ = drawn_digits(20, seed=3)
    other, _ = drawn_digits(20, seed=4)

    assert first == again
    assert first != other
    assert labels == [index % 10 for index in range(20)]


def test_every_digit_has_several_styles_inside_the_unit_box():
    templates = _templates()

    assert sorted(templates) == list(range(10))
    for styles in templates.values():
        assert len(styles) >= 2
        points = np.concatenate([np.array(stroke) for style in styles for stroke in style])
        assert points.min() >= -0.1 and points.max() <= 1.1


def test_a_drawn_digit_is_a_png_with_its_ink_inside_the_canvas():
    rng = np.random.default_rng(0)
    for index in range(300):
        image = Image.open(io.BytesIO(draw_digit(index % 10, rng)))
        assert image.format == "PNG" and image.width == image.height and 160 <= image.width <= 640
        grey = np.asarray(image.convert("L"), dtype=np.int16)
        background = np.median(grey)
        ink = np.abs(grey - background) > 64
        # The pen never runs off the page: the outermost rows and columns stay paper.
        assert ink.any()
        assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any())


def test_every_drawn_digit_survives_preprocessing():
    images, _ = drawn_digits(100, seed=1)

    inputs = np.stack([preprocess_bytes(image) for image in images])

    assert inputs.shape == (100, 28, 28)
    assert (inputs.reshape(100, -1).max(axis=1) > 200).all()


@pytest.mark.slow
def test_the_shipped_model_reads_pen_drawn_digits():
    import keras

    from training.serving import ServingModel

    model = ServingModel.from_keras(keras.models.load_model(settings.RECOGNIZER["INITIAL_MODEL_PATH"], compile=False))
    inputs, labels = drawn_inputs(500, seed=0)

    predicted = model.predict_probabilities(inputs).argmax(axis=1)

    # A floor, not the figure: docs/benchmarks.md has the measured accuracy.
    # The model trained on MNIST alone scored 0.97 here (flagged 1s read as 7s); the shipped, refined one 0.99.
    assert (predicted == labels).mean() >= 0.98
