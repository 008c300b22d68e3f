"""Digits and numbers in fonts: reproducible, what they say, sent each way, and a clear error without fonts."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from training.font_digits import NUMBER_LAYOUTS, RENDERINGS, font_digits, font_numbers, glyph_ink, handwriting_fonts
from training.preprocessing import preprocess_bytes


# DejaVu ships with matplotlib: a stand-in for the handwriting fonts CI does not install.
@pytest.fixture(scope="module")
def fonts():
    import matplotlib

    found = handwriting_fonts(f"{matplotlib.get_data_path()}/fonts/ttf", ("DejaVuSans.", "DejaVuSerif."))
    assert len(found) == 2
    return found


def test_only_fonts_that_draw_ten_different_digits_are_kept(fonts, tmp_path):
    (tmp_path / "Scrawl.ttf").write_bytes(b"not a font at all")
    assert handwriting_fonts(str(tmp_path), ("Scrawl",)) == ()
    assert handwriting_fonts(str(tmp_path / "nowhere"), ("DejaVu",)) == ()
    assert all(glyph_ink(path, "8", stroke=0).max() > 0.9 for path in fonts)


def test_a_thicker_stroke_holds_more_ink(fonts):
    assert glyph_ink(fonts[0], "1", stroke=3).sum() > 1.5 * glyph_ink(fonts[0], "1", stroke=0).sum()


def test_digits_are_reproducible_and_read_as_their_labels_by_shape(fonts):
    images, labels, names = font_digits(16, seed=0, fonts=fonts)

    assert images == font_digits(16, seed=0, fonts=fonts)[0]
    assert images != font_digits(16, seed=1, fonts=fonts)[0]
    assert set(names) == {path.stem for path in fonts}
    assert all(0 <= label <= 9 for label in labels)
    assert {Image.open(io.BytesIO(data)).format for data in images} == {"PNG", "JPEG"}
    # Every rendering (light on dark too) comes out as a white digit on black, as the model expects.
    for data in images:
        pixels = preprocess_bytes(data)
        assert pixels[0, 0] == 0 and pixels.max() == 255


def test_numbers_take_every_layout_and_rendering(fonts):
    numbers = font_numbers(len(fonts) * len(NUMBER_LAYOUTS) * len(RENDERINGS), seed=0, fonts=fonts)

    assert {n.layout for n in numbers} == set(NUMBER_LAYOUTS)
    assert {n.rendering for n in numbers} == set(RENDERINGS)
    assert all(2 <= len(n.digits) <= 8 and n.digits.isdigit() for n in numbers)
    assert {n.source for n in numbers} == {f"font {path.stem}" for path in fonts}
    wide = [Image.open(io.BytesIO(n.data)) for n in numbers if len(n.digits) >= 4]
    assert all(image.width > image.height for image in wide)


def test_without_fonts_the_error_says_what_to_install():
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-"):
        font_digits(3, seed=0, fonts=())
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-"):
        font_numbers(3, seed=0, fonts=())


def test_dark_rendering_is_light_ink_on_dark(fonts):
    images, _, _ = font_digits(len(fonts) * len(RENDERINGS), seed=3, fonts=fonts)
    dark = Image.open(io.BytesIO(images[-1])).convert("L")
    values = np.asarray(dark)
    assert np.median(values) < 64 and values.max() > 200
