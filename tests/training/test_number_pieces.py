"""Pieces of numbers for the detector: labelled by the ink they hold, reproducible, of every class."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import load_sample
from training.detector import DIGIT, NOT_A_DIGIT, SEVERAL_DIGITS
from training.number_pieces import label_piece, number_pieces


def _held(*pairs: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(share of each digit's ink in the piece, ink of each digit in the piece)."""
    return np.array([share for share, _ in pairs]), np.array([ink for _, ink in pairs])


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (_held((1.0, 100), (0.0, 0)), DIGIT),  # one whole digit alone
        (_held((0.97, 97), (0.05, 6)), DIGIT),  # with a touch of its neighbour
        (_held((1.0, 100), (0.4, 40)), NOT_A_DIGIT),  # with a large part of its neighbour
        (_held((0.8, 80), (0.9, 90)), SEVERAL_DIGITS),  # most of two digits
        (_held((0.4, 40), (0.0, 0)), NOT_A_DIGIT),  # a flag cut off its digit
        (_held((0.8, 80), (0.0, 0)), None),  # most of one digit: for the threshold to decide
    ],
)
def test_a_piece_is_labelled_by_the_ink_it_holds(held, expected):
    assert label_piece(held) == expected


def test_pieces_are_reproducible_inputs_of_every_class():
    sample = load_sample()
    mnist = (sample.x_train, sample.y_train)
    pixels, classes, digits = number_pieces(300, seed=0, mnist=mnist)
    again, _, _ = number_pieces(300, seed=0, mnist=mnist)

    assert pixels.shape == (300, 28, 28) and pixels.dtype == np.uint8
    assert np.array_equal(pixels, again)
    assert set(classes.tolist()) == {DIGIT, NOT_A_DIGIT, SEVERAL_DIGITS}
    assert (pixels.reshape(300, -1).max(axis=1) == 255).all()  # centred at full ink, as the segmenter's inputs
    assert set(digits.tolist()) == set(range(10))


def test_pen_drawn_pieces_alone_need_no_mnist():
    pixels, classes, digits = number_pieces(50, seed=1)
    assert len(pixels) == len(classes) == len(digits) == 50
