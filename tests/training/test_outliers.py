"""Generated non-digits and several-digit rows: reproducible, accepted by preprocessing, held out honestly."""

from __future__ import annotations

import io
import string

import numpy as np
import pytest
from PIL import Image

import training.data
from training import digit_pieces, outliers
from training.data import load_fashion_test, load_sample
from training.outliers import (
    AMBIGUOUS,
    KINDS,
    draw_outliers,
    generate,
    outlier_inputs,
    outlier_set,
    style_names,
    templates,
)

SYMBOLS = {"+", "-", "=", "×", "÷", "%", "?", "!", "#", "@", "&", "*", "/", "\\", "<", ">", "$", "(", ")", "[", "]"}
SYMBOLS |= {"~", "^", ":", ";"}
SHAPES = {"star", "arrow", "house", "heart", "triangle", "square", "circle-cross", "smiley", "spiral", "cloud"}
SHAPES |= {"zigzag", "checkmark"}


def _ink_box(pixels: np.ndarray) -> tuple[int, int]:
    mask = pixels > 96
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def test_pictures_are_reproducible_for_a_seed_and_differ_between_seeds_and_kinds():
    first = generate("letters", 8, seed=0)
    again = generate("letters", 8, seed=0)
    other = generate("letters", 8, seed=1)

    assert first == again
    assert first != other
    assert generate("shapes", 8, seed=0) != generate("symbols", 8, seed=0)
    mnist = load_sample().x_train[:200]
    assert generate("several", 6, seed=7, mnist_train=mnist) == generate("several", 6, seed=7, mnist_train=mnist)


def test_every_picture_is_a_png_with_the_ink_inside_it():
    for kind in ("letters", "symbols", "shapes", "scribbles", "several"):
        for data in generate(kind, 6, seed=1):
            image = Image.open(io.BytesIO(data))
            grey = np.asarray(image.convert("L"), dtype=np.int16)
            ink = np.abs(grey - np.median(grey)) > 64
            assert image.format == "PNG" and ink.any()
            assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any()), kind


def test_templates_cover_the_letters_symbols_and_shapes_asked_for_inside_the_unit_box():
    table = templates()

    assert sorted(table["letters"]) == sorted(string.ascii_letters)
    assert set(table["symbols"]) >= SYMBOLS
    assert set(table["shapes"]) >= SHAPES
    for named in table.values():
        for styles in named.values():
            points = np.concatenate([np.array(stroke) for style in styles for stroke in style])
            assert points.min() >= -0.05 and points.max() <= 1.05


def test_ambiguous_templates_are_left_out_unless_asked_for():
    assert {"O", "o", "I", "l", "Z", "S", "B", "b", "g", "q", "/"} <= AMBIGUOUS
    assert set(templates()["letters"]) | set(templates()["symbols"]) >= AMBIGUOUS

    left_out = draw_outliers("letters", 60, seed=0)
    only = draw_outliers("letters", 20, seed=0, ambiguous="only")

    assert not any(outlier.ambiguous for outlier in left_out)
    assert all(outlier.ambiguous for outlier in only)
    assert {name.split(":")[1].split("#")[0] for name in style_names("letters", ambiguous="only")} == AMBIGUOUS & set(
        string.ascii_letters
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_check_styles_and_training_styles_are_disjoint(kind):
    train = set(style_names(kind, "train"))
    check = set(style_names(kind, "check"))

    assert train and check
    assert not train & check
    assert train | check == set(style_names(kind, "all"))
    assert {outlier.name for outlier in draw_outliers(kind, len(check) + 2, seed=0, styles="check")} <= check


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "blank"])
def test_preprocessing_accepts_every_kind_but_blank_pages(kind):
    result = outlier_set(kind, 12, seed=0)

    # Only a tiny mark may be refused as a speck; nothing else may vanish.
    assert set(result.refused) <= {"marks:tiny"}
    assert result.inputs.shape == (12 - len(result.refused), 28, 28) and result.inputs.dtype == np.uint8
    assert len(result.names) == len(result.inputs) == len(result.ambiguous)
    assert (result.inputs.reshape(len(result.inputs), -1).max(axis=1) > 200).all()


def test_blank_pages_are_refused_as_empty_and_left_out():
    result = outlier_set("blank", 6, seed=0)

    assert len(result.refused) == 6 and result.inputs.shape == (0, 28, 28)
    assert outlier_inputs("blank", 3, seed=1).shape == (0, 28, 28)


def test_several_digit_pictures_hold_a_row_of_digits():
    mnist = load_sample().x_train
    inputs = np.concatenate(
        [outlier_inputs("several", 20, seed=0), outlier_inputs("several", 20, seed=1, mnist_train=mnist)]
    )

    for pixels in inputs:
        width, height = _ink_box(pixels)
        assert width > height or digit_pieces.ink_pieces(pixels > 96) > 1


@pytest.mark.parametrize("kind", ["partial", "crops"])
def test_pieces_of_digits_are_neither_lone_upright_strokes_nor_loops(kind):
    for pixels in outlier_inputs(kind, 12, seed=0):
        width, height = _ink_box(pixels)
        assert width >= 0.6 * height
        assert not digit_pieces.has_hole(pixels > 96)


def test_the_mnist_test_set_is_never_loaded_and_refused_when_passed(monkeypatch):
    sample = load_sample()

    def refuse(*args, **kwargs):
        raise AssertionError("outliers loaded MNIST itself")

    for name in ("load_mnist", "load_best_available", "load_sample", "load_idx_folder", "load_keras_download"):
        monkeypatch.setattr(training.data, name, refuse)
    for kind in KINDS:
        assert len(generate(kind, 1, seed=0)) == 1

    with pytest.raises(ValueError, match="test images"):
        generate("several", 1, seed=0, mnist_train=sample.x_test)
    with pytest.raises(ValueError, match="test images"):
        generate("several", 1, seed=0, mnist_train=np.concatenate([sample.x_train[:50], sample.x_test[:5]]))
    with pytest.raises(ValueError, match="uint8"):
        generate("several", 1, seed=0, mnist_train=sample.x_train.astype(np.float32))
    assert len(generate("several", 2, seed=0, mnist_train=sample.x_train)) == 2


def test_unknown_kinds_and_style_sets_are_refused():
    with pytest.raises(ValueError, match="Unknown kind"):
        generate("digits", 1, seed=0)
    with pytest.raises(ValueError):
        generate("letters", 1, seed=0, styles="test")


def test_fashion_mnist_loads_for_checks_or_answers_none(tmp_path):
    assert load_fashion_test(tmp_path) is None
    fashion = load_fashion_test()
    if fashion is None:
        pytest.skip("Debian's dataset-fashion-mnist is not installed")

    assert fashion.shape == (10_000, 28, 28) and fashion.dtype == np.uint8
    # White on black like MNIST: the border is dark.
    assert fashion[:, 0, :].mean() < 40 and fashion.max() == 255


def test_the_command_writes_pictures_and_a_contact_sheet(tmp_path, capsys):
    assert outliers.main(["--kind", "symbols", "--count", "3", "--out", str(tmp_path)]) == 0

    assert len(list(tmp_path.glob("symbols-*.png"))) == 3
    assert Image.open(tmp_path / "sheet-symbols.png").size[0] > 0
    assert "symbols: wrote 3" in capsys.readouterr().out
