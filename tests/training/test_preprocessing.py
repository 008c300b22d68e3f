"""Preprocessing: every way a person sends a digit ends as the same 28x28 input."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.images import digit_image, encode, sample_digit
from training import preprocessing as pp


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Return the best correlation of two 28x28 inputs within a one-pixel shift.

    Centring by mass rounds to whole pixels, so the same digit may land one
    pixel over; that is the same input to a model trained with shifts.
    """
    a = a.astype(np.float64)
    best = -1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(np.roll(b.astype(np.float64), dy, axis=0), dx, axis=1)
            best = max(best, float(np.corrcoef(a.ravel(), shifted.ravel())[0, 1]))
    return best


@pytest.fixture(params=[0, 3, 7, 11])
def digit(request):
    pixels, _ = sample_digit(request.param)
    reference = pp.preprocess_bytes(encode(digit_image(pixels)))
    return pixels, reference


def test_mnist_digits_come_back_close_to_themselves():
    # MNIST centred each digit at subpixel precision and we place it on whole
    # pixels, so a thin stroke can land one pixel over: judge the typical case.
    scores = []
    for index in range(60):
        pixels, _ = sample_digit(index)
        out = pp.preprocess_bytes(encode(digit_image(pixels)))
        assert out.shape == (28, 28) and out.dtype == np.uint8
        scores.append(similarity(out, pixels))
    assert np.median(scores) > 0.93
    assert min(scores) > 0.5


@pytest.mark.parametrize(
    "variant",
    [
        {"size": 280, "canvas": (600, 400), "offset": (20, 100)},  # off-centre on a big page
        {"size": 40, "canvas": (280, 280), "offset": (200, 10)},  # tiny, in a corner
        {"size": 1400},  # huge
        {"size": 280, "dark_on_light": False},  # light ink on dark
        {"size": 280, "transparent": True},  # canvas export: transparent background
        {"size": 280, "mode": "RGB"},
        {"size": 280, "mode": "P"},
        {"size": 280, "mode": "1"},
    ],
)
def test_the_same_digit_drawn_differently_gives_nearly_the_same_input(digit, variant):
    pixels, reference = digit
    out = pp.preprocess_bytes(encode(digit_image(pixels, **variant)))
    assert similarity(out, reference) > 0.8, variant


def test_marker_thick_strokes_are_thinned_toward_mnist_width(digit):
    pixels, reference = digit
    fat = Image.fromarray(pixels).resize((280, 280), Image.Resampling.BILINEAR).filter(ImageFilter.MaxFilter(41))
    drawn = Image.fromarray(255 - np.asarray(fat))
    out = pp.preprocess_bytes(encode(drawn))
    assert similarity(out, reference) > 0.55
    # The stroke measured after preprocessing is back near MNIST's widest.
    assert pp.stroke_ratio(out.astype(np.float32)) < pp.THICK_STROKE + 0.05


def seven(width: int) -> Image.Image:
    image = Image.new("L", (560, 560), 255)
    ImageDraw.Draw(image).line([(150, 80), (420, 80), (250, 480)], fill=0, width=width, joint="curve")
    return image


def test_hair_thin_strokes_are_thickened_to_a_pen_width():
    thin = pp.preprocess_bytes(encode(seven(2)))
    pen = pp.preprocess_bytes(encode(seven(36)))
    assert similarity(thin, pen) > 0.8
    assert (thin > 127).sum() > 0.5 * (pen > 127).sum()


def test_digit_is_fitted_in_20_px_and_centred_by_mass():
    pixels, _ = sample_digit(1)
    out = pp.preprocess_bytes(encode(digit_image(pixels, size=90, canvas=(500, 300), offset=(380, 190))))
    rows = np.flatnonzero(out.any(axis=1))
    cols = np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    ys, xs = np.indices(out.shape)
    mass = out.astype(np.float64)
    assert abs((ys * mass).sum() / mass.sum() - 14) < 1.0
    assert abs((xs * mass).sum() / mass.sum() - 14) < 1.0


@pytest.mark.parametrize(
    "variant",
    [
        {"size": 280},
        {"size": 280, "dark_on_light": False},
        {"size": 1200},
        {"size": 24, "canvas": (280, 280), "offset": (10, 230)},
        {"size": 280, "transparent": True},
    ],
)
def test_a_digit_goes_through_the_one_documented_path(digit, variant):
    # preprocess_image finds the box on the grey levels and maps only the box to ink: the same input, bit for bit,
    # as centring the whole picture's ink map, which segmentation and the tests use.
    pixels, _ = digit
    image = pp.open_image(encode(digit_image(pixels, **variant)))
    assert np.array_equal(pp.preprocess_image(image), pp.center_digit(pp.ink_map(pp.to_gray_on_white(image))))


def test_stroke_ratio_erodes_as_a_padded_erosion_does():
    rng = np.random.default_rng(0)
    for shape in [(1, 1), (2, 5), (3, 3), (17, 40)]:
        mask = rng.random(shape) > 0.3
        padded = np.pad(mask, 1)
        expected = np.ones(shape, bool)
        for dy in range(3):
            for dx in range(3):
                expected &= padded[dy : dy + shape[0], dx : dx + shape[1]]
        assert np.array_equal(pp._erode(mask), expected)


def test_exif_orientation_is_applied():
    pixels, _ = sample_digit(2)
    upright = digit_image(pixels, mode="RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera would store it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    jpeg = encode(stored, "JPEG", exif=exif.tobytes(), quality=95)
    assert similarity(pp.preprocess_bytes(jpeg), pp.preprocess_bytes(encode(upright))) > 0.9


def test_colour_ink_on_tinted_paper_with_noise():
    pixels, _ = sample_digit(4)
    rng = np.random.default_rng(0)
    ink = np.asarray(Image.fromarray(pixels).resize((280, 280), Image.Resampling.BILINEAR), np.float64) / 255
    paper = np.array([235, 225, 180]) + rng.normal(0, 8, (280, 280, 1))  # yellowish, grainy
    pen = np.array([30, 40, 160])  # blue ballpoint
    rgb = paper * (1 - ink[..., None]) + pen * ink[..., None]
    photo = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    reference = pp.preprocess_bytes(encode(digit_image(pixels)))
    assert similarity(pp.preprocess_bytes(encode(photo, "JPEG", quality=85)), reference) > 0.85


def test_sixteen_bit_greyscale():
    pixels, _ = sample_digit(6)
    big = np.asarray(Image.fromarray(255 - pixels).resize((140, 140), Image.Resampling.BILINEAR), np.uint16) * 257
    image = Image.fromarray(big)
    assert image.mode.startswith("I;16")
    reference = pp.preprocess_bytes(encode(digit_image(pixels)))
    assert similarity(pp.preprocess_bytes(encode(image)), reference) > 0.85


def test_gif_uses_the_first_frame():
    pixels, _ = sample_digit(8)
    first = digit_image(pixels).convert("P")
    second = Image.new("P", first.size, 0)
    data = encode(first, "GIF", save_all=True, append_images=[second])
    assert similarity(pp.preprocess_bytes(data), pp.preprocess_bytes(encode(first))) > 0.95


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (280, 280), 255),  # blank white
        Image.new("L", (280, 280), 0),  # blank black
        Image.new("RGBA", (280, 280), (0, 0, 0, 0)),  # untouched transparent canvas
        Image.new("L", (280, 280), 200),  # faint grey
    ],
)
def test_blank_images_are_refused_as_empty(image):
    with pytest.raises(pp.EmptyImage) as caught:
        pp.preprocess_bytes(encode(image))
    assert caught.value.code == "empty_image"


def test_a_single_speck_is_refused_as_empty():
    image = Image.new("L", (280, 280), 255)
    image.putpixel((100, 100), 0)
    with pytest.raises(pp.EmptyImage):
        pp.preprocess_bytes(encode(image))


def test_faint_paper_texture_is_not_ink():
    rng = np.random.default_rng(1)
    paper = np.clip(rng.normal(240, 3, (280, 280)), 0, 255).astype(np.uint8)
    with pytest.raises(pp.EmptyImage):
        pp.preprocess_bytes(encode(Image.fromarray(paper)))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", pp.InvalidImage),
        (b"hello, this is text", pp.UnsupportedFormat),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><text>7</text></svg>', pp.UnsupportedFormat),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", pp.UnsupportedFormat),
        (b"<!doctype html><html><body>7</body></html>", pp.UnsupportedFormat),
    ],
)
def test_files_that_are_not_images_are_refused(data, error):
    with pytest.raises(error):
        pp.preprocess_bytes(data)


def test_a_truncated_png_is_invalid():
    data = encode(digit_image(sample_digit(0)[0]))
    with pytest.raises(pp.InvalidImage) as caught:
        pp.preprocess_bytes(data[: len(data) // 2])
    assert caught.value.code == "invalid_image"


def test_an_image_over_the_pixel_limit_is_refused_before_decoding():
    # A PNG header claiming 20000 x 20000 pixels, with almost no data behind it.
    header = Image.new("L", (1, 1))
    data = bytearray(encode(header))
    data[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # keep the IHDR checksum valid
    with pytest.raises(pp.ImageTooLarge) as caught:
        pp.preprocess_bytes(bytes(data), max_pixels=16_000_000)
    assert caught.value.code == "image_too_large"


def test_pixels_round_trip_through_784_bytes():
    pixels, _ = sample_digit(9)
    packed = pp.pixels_to_bytes(pixels)
    assert len(packed) == 784
    assert np.array_equal(pp.bytes_to_pixels(packed), pixels)
    with pytest.raises(ValueError):
        pp.bytes_to_pixels(packed[:-1])


def test_pixels_to_png_renders_dark_ink_on_white():
    pixels, _ = sample_digit(9)
    image = Image.open(io.BytesIO(pp.pixels_to_png(pixels, scale=4)))
    assert image.size == (112, 112)
    assert np.asarray(image)[0, 0] == 255


def test_a_colour_mode_pillow_cannot_convert_is_unsupported():
    buffer = io.BytesIO()
    Image.new("LAB", (64, 64), (50, 10, 10)).save(buffer, format="TIFF")
    with pytest.raises(pp.UnsupportedFormat):
        pp.preprocess_bytes(buffer.getvalue())
