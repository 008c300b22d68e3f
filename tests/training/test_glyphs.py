"""Made-up glyphs: strokes in the unit box, reproducible, and (drawn as outliers) never a lone upright stroke."""

from __future__ import annotations

import numpy as np

from training import digit_pieces, glyphs, outliers


def test_glyphs_are_strokes_of_points_near_the_unit_box():
    rng = np.random.default_rng(0)
    pool = [np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.2, 0.5], [0.8, 0.5], [0.5, 0.9]]), np.eye(2)]
    template = [np.array([[0.1, 0.1], [0.9, 0.1]]), np.array([[0.5, 0.1], [0.5, 0.9]])]

    for strokes in (glyphs.borrowed(rng, pool), glyphs.primitives(rng), glyphs.warped(rng, template)):
        assert strokes and all(stroke.ndim == 2 and stroke.shape[1] == 2 and len(stroke) >= 2 for stroke in strokes)
        points = np.concatenate(strokes)
        assert points.min() > -0.5 and points.max() < 1.5


def test_borrowed_glyphs_take_two_to_four_strokes():
    rng = np.random.default_rng(1)
    pool = [np.array([[0.0, float(i)], [1.0, float(i)]]) for i in range(6)]

    assert {len(glyphs.borrowed(rng, pool)) for _ in range(60)} == {2, 3, 4}


def test_glyph_outliers_are_reproducible_and_no_lone_upright_stroke():
    first = outliers.outlier_set("glyphs", 30, seed=0, styles="train")
    again = outliers.outlier_set("glyphs", 30, seed=0, styles="train")

    assert np.array_equal(first.inputs, again.inputs)
    assert {name.split(":")[1] for name in first.names} == {"borrowed", "warped", "primitives"}
    assert not any(digit_pieces.upright_line(pixels > 96) for pixels in first.inputs)
