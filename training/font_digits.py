"""Digits and numbers in handwriting fonts: other people's hands, for checking only.

Debian packages a score of fonts made from real people's handwriting (see
`FONT_PACKAGES`). Their digits were written by neither MNIST's writers nor
our stroke templates, so they are an honest stand-in for "other writers":
nothing in `training/` ever trains on them. Each digit is rendered at a
random size, weight and slant, then sent the ways people send pictures
(`training.numbers.render`: canvas export, file, photo, light on dark).
Numbers are the same digits in a row, `typed` with the font's own spacing or
placed separated, close or touching like the other check numbers.

    apt-get install fonts-bwht fonts-dkg-handwriting ...   # FONT_PACKAGES
    python -m training.font_digits --count 40 --out /tmp/font-digits   # files to look at
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.numbers import LAYOUTS, WrittenNumber, ink_row, on_page, render

FONT_PACKAGES = (
    "fonts-breip fonts-bwht fonts-cabinsketch fonts-comic-neue fonts-dancingscript fonts-dkg-handwriting "
    "fonts-ecolier-court fonts-femkeklaver fonts-humor-sans fonts-joscelyn fonts-kaushanscript fonts-klee "
    "fonts-kristi fonts-leckerli-one fonts-rufscript fonts-sjfonts fonts-tomsontalks fonts-yusei-magic"
)
# File names (their start) of the handwriting fonts those packages install.
HANDWRITING = (
    "BecauseWe", "Breip", "CabinSketch", "ComicNeue", "DancingScript", "dkg", "Ecolier", "femkeklaver",
    "Humor-Sans", "Joscelyn", "KaushanScript", "KleeOne", "Kristi", "LeckerliOne", "Rufscript", "Delphine",
    "SteveHand", "TomsonTalks", "YuseiMagic",
)  # fmt: skip
RENDERINGS = ("canvas", "file", "photo", "dark")
NUMBER_LAYOUTS = ("typed", *LAYOUTS)
FONT_SIZE = 120  # rendered large, then scaled to the page: strokes stay smooth


@functools.cache
def handwriting_fonts(folder: str = "/usr/share/fonts", names: tuple[str, ...] = HANDWRITING) -> tuple[Path, ...]:
    """Return the fonts in `folder` whose file names start with one of `names` and that draw all ten digits."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in (".ttf", ".otf") and path.name.startswith(names) and _draws_digits(path):
            found.append(path)
    return tuple(found)


def _installed(fonts: tuple[Path, ...] | None) -> tuple[Path, ...]:
    fonts = handwriting_fonts() if fonts is None else fonts
    if not fonts:
        raise FileNotFoundError(f"No handwriting fonts installed; apt-get install {FONT_PACKAGES}")
    return fonts


def _draws_digits(path: Path) -> bool:
    try:
        shapes = {glyph_ink(path, str(digit), stroke=0).tobytes() for digit in range(10)}
    except OSError:  # not a font FreeType can read
        return False
    # A font without digits draws them all as the same box (or nothing).
    return len(shapes) == 10


@functools.cache
def _font(path: Path) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), FONT_SIZE)


def glyph_ink(path: Path, text: str, *, stroke: int) -> np.ndarray:
    """Return `text` in the font at `path` as ink (floats 0-1), cropped to its ink; `stroke` px thickens it."""
    font = _font(path)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    image = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(image).text((2 - left, 2 - top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    ink = np.asarray(image, dtype=np.float32) / 255
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    if rows.size == 0:
        return ink[:1, :1] * 0
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _written(path: Path, text: str, rng: np.random.Generator) -> np.ndarray:
    """Return `text` as one writer would put it down: a random weight and a slight slant."""
    ink = glyph_ink(path, text, stroke=int(rng.integers(0, 5)))
    slanted = Image.fromarray(ink, mode="F").rotate(
        float(rng.uniform(-8, 8)), resample=Image.Resampling.BILINEAR, expand=True
    )
    return np.asarray(slanted, dtype=np.float32)


def font_digits(
    count: int, seed: int, *, fonts: tuple[Path, ...] | None = None
) -> tuple[list[bytes], list[int], list[str]]:
    """Return `count` single digits as file bytes, their labels and fonts, fonts and renderings in turn.

    `fonts` defaults to the installed handwriting fonts; FileNotFoundError when there are none.
    """
    fonts = _installed(fonts)
    rng = np.random.default_rng([0x464F4E54, seed])
    images, labels, names = [], [], []
    for index in range(count):
        path, digit = fonts[index % len(fonts)], int(rng.integers(0, 10))
        height = int(rng.choice([24, 40, 64, 110, 180]))
        how = RENDERINGS[(index // len(fonts)) % len(RENDERINGS)]
        images.append(render(on_page(_written(path, str(digit), rng), rng, height), rng, how))
        labels.append(digit)
        names.append(path.stem)
    return images, labels, names


def font_numbers(
    count: int, seed: int, *, lengths: tuple[int, int] = (2, 8), fonts: tuple[Path, ...] | None = None
) -> list[WrittenNumber]:
    """Return `count` numbers in handwriting fonts: fonts, layouts and renderings in turn."""
    fonts = _installed(fonts)
    rng = np.random.default_rng([0x4E464F, seed])
    out = []
    for index in range(count):
        path = fonts[index % len(fonts)]
        layout = NUMBER_LAYOUTS[(index // len(fonts)) % len(NUMBER_LAYOUTS)]
        how = RENDERINGS[(index // (len(fonts) * len(NUMBER_LAYOUTS))) % len(RENDERINGS)]
        digits = "".join(str(int(d)) for d in rng.integers(0, 10, int(rng.integers(lengths[0], lengths[1] + 1))))
        if layout == "typed":
            ink = _written(path, digits, rng)
        else:
            ink = ink_row(rng, [_written(path, digit, rng) for digit in digits], layout)
        height = int(rng.choice([24, 40, 64, 110, 180]))
        out.append(WrittenNumber(digits, layout, f"font {path.stem}", how, render(on_page(ink, rng, height), rng, how)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write handwriting-font digits and numbers as files to look at.")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels, names = font_digits(args.count, args.seed)
    for index, (data, label, name) in enumerate(zip(images, labels, names, strict=True)):
        (folder / f"digit-{index:04d}-{label}-{name}.img").write_bytes(data)
    for index, number in enumerate(font_numbers(args.count, args.seed)):
        (folder / f"number-{index:04d}-{number.digits}-{number.layout}-{number.rendering}.img").write_bytes(number.data)
    print(f"wrote {args.count} digits and {args.count} numbers in {len(handwriting_fonts())} fonts to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
