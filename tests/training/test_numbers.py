"""Written numbers of our own making: reproducible, as many digits as asked, sent each way people send them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from training.data import load_sample
from training.numbers import LAYOUTS, RENDERINGS, render, written_numbers


def test_numbers_are_reproducible_and_hold_what_they_say():
    sample = load_sample()
    first = written_numbers(12, seed=0, lengths=(2, 8), mnist_train=(sample.x_train, sample.y_train))
    again = written_numbers(12, seed=0, lengths=(2, 8), mnist_train=(sample.x_train, sample.y_train))

    assert [n.data for n in first] == [n.data for n in again]
    assert [n.data for n in written_numbers(12, seed=1)] != [n.data for n in first]
    assert all(2 <= len(n.digits) <= 8 and n.digits.isdigit() for n in first)
    assert {n.layout for n in first} == set(LAYOUTS)
    assert {n.rendering for n in first} == set(RENDERINGS)
    assert {n.source for n in first} == {"drawn", "mnist"}


def test_each_rendering_is_the_file_it_claims():
    formats = {"canvas": ("PNG", "RGBA"), "file": ("PNG", "L"), "photo": ("JPEG", "RGB")}
    for number in written_numbers(9, seed=0):
        image = Image.open(io.BytesIO(number.data))
        assert (image.format, image.mode) == formats[number.rendering]
        assert image.width > image.height  # a row of digits


def test_an_unknown_rendering_is_refused():
    with pytest.raises(ValueError, match="Unknown rendering"):
        render(np.zeros((10, 10), np.float32), np.random.default_rng(0), "fax")


def test_mnist_test_images_are_refused():
    sample = load_sample()

    with pytest.raises(ValueError, match="test images"):
        written_numbers(2, seed=0, mnist_train=(sample.x_test, sample.y_test))
