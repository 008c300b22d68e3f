"""Pictures that are not one digit, made here: what the not-a-digit detector learns from and is checked on.

The recognizer must say `not_a_digit` for a drawn letter, symbol, shape,
scribble or noise, and `several_digits` for "42". Training and fitting use
only the pictures this module makes: letters, symbols and shapes drawn with
the pen of `training.drawn_digits` from hand-made stroke templates (several
styles each), procedural scribbles, noise, lone marks, fragments and crops of
digits, and rows of 2-4 digits. Public sets (Fashion-MNIST, fonts) are for
checks only.

Kinds (`KINDS`) are made of styles. Each style is either a training style or
a check style, never both: `styles="check"` draws only letters, symbols,
shapes and procedures that `styles="train"` never draws, so a check measures
kinds of drawing the detector never saw; `styles="all"` draws both.
Templates in `AMBIGUOUS` (O, l, Z, S, B, b, g, q, /, ...) read as a digit even
to a person; they are left out unless asked for, so a check reports them apart.

Seeds follow `training.drawn_digits`: checks draw with small seeds (0, 1, 7),
training with large ones (TRAIN_SEED = 1,000,003 and up); never train on a
small seed. A kind's pictures depend on its name, the seed and the styles
chosen, so two kinds with one seed are still unrelated.

MNIST enters only through `mnist_train`, MNIST training images the caller
passes for the several-digit rows; this module never loads MNIST and
refuses an array holding MNIST test images.

    python -m training.outliers --kind letters --count 40 --out /tmp/outliers   # write PNGs to look at
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import math
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from training import digit_pieces, glyphs, numbers
from training.data import training_images_only
from training.drawn_digits import (
    Stroke,
    arc,
    pick_colours,
    png_bytes,
    render_strokes,
    transform_strokes,
)
from training.outlier_templates import AMBIGUOUS, CHECK_NAMES, LETTERS, SHAPES, SYMBOLS
from training.preprocessing import EmptyImage, preprocess_bytes, preprocess_image

logger = logging.getLogger(__name__)

TRAIN_SEED = 1_000_003
CHECK_SEEDS = (0, 1, 7)

KINDS = {
    "letters": "the 52 Latin letters, upper and lower case, pen-drawn from stroke templates",
    "symbols": "+ - = × ÷ % ? ! # @ & * / \\ < > $ ( ) [ ] ~ ^ : ; pen-drawn from stroke templates",
    "shapes": "stars, arrows, houses, hearts, smileys, spirals, clouds, ... pen-drawn from stroke templates",
    "scribbles": "random smooth curves, loops, scratching back and forth, tangles",
    "glyphs": "made-up symbols: strokes of templates recombined or bent, lines, arcs, rings and dots thrown together",
    "noise": "salt and pepper, blotches, blurred random texture, ruled and squared paper",
    "marks": "lines or dots only, tiny scribbles, hair-thin marks",
    "partial": "a fragment of one stroke of a drawn digit",
    "crops": "a drawn digit cut to a half or a corner, through its ink",
    "several": "2 to 4 digits in a row: separated, close, touching or overlapping",
    "blank": "empty paper, paper grain, a faint gradient: the service answers empty_image",
}

StyleSet = Literal["train", "check", "all"]
Ambiguity = Literal["leave_out", "include", "only"]


def _spline(points: np.ndarray, *, closed: bool = False, per: int = 10) -> np.ndarray:
    """Return a Catmull-Rom curve through `points`, the smooth path a hand takes between them."""
    p = np.asarray(points, dtype=float)
    p = np.vstack([p[-1], p, p[0], p[1]]) if closed else np.vstack([p[0], p, p[-1]])
    t = np.linspace(0, 1, per, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1 : i + 3]
        pieces.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    pieces.append(p[-2][None])
    return np.vstack(pieces)


def _parse(spec: str) -> list[Stroke]:
    """Turn a template string (see LETTERS) into strokes in the unit box."""
    strokes = []
    for part in spec.split("|"):
        part = part.strip()
        points: Stroke = []
        for token in part.lstrip("~").split():
            numbers = [float(value) for value in token.strip("()").split(",")]
            if token.startswith("("):
                cx, cy, rx, ry, start, end = numbers
                steps = max(4, int(abs(end - start) / 8))
                points += arc(cx / 100, cy / 100, rx / 100, ry / 100, start, end, steps)
            else:
                points.append((numbers[0] / 100, numbers[1] / 100))
        if part.startswith("~"):
            points = [tuple(point) for point in _spline(np.array(points))]
        strokes.append(points)
    return strokes


@functools.cache
def templates() -> dict[str, dict[str, list[list[Stroke]]]]:
    """Return kind -> template name -> its styles, each a list of strokes in the unit box (y down)."""
    tables = {"letters": LETTERS, "symbols": SYMBOLS, "shapes": SHAPES}
    return {
        kind: {name: [_parse(spec) for spec in specs] for name, specs in table.items()}
        for kind, table in tables.items()
    }


# --- Drawing: every maker takes the generator and the MNIST training images (or None) and returns a picture.

Maker = Callable[[np.random.Generator, "np.ndarray | None"], Image.Image]


def _draw_template(strokes: list[Stroke]) -> Maker:
    """Return a maker drawing one template style with the digits' hands and pens."""
    return lambda rng, mnist: render_strokes(transform_strokes(strokes, rng), rng, longest=True)


def _random_curve(rng: np.random.Generator, low: int, high: int, *, closed: bool = False) -> np.ndarray:
    """Return a smooth curve through `low` to `high` - 1 random places in the unit box."""
    points = rng.uniform(0, 1, (int(rng.integers(low, high)), 2))
    return _spline(points, closed=closed)


def _loops(rng: np.random.Generator) -> np.ndarray:
    """Return a coil of 3-6 loops, as people doodle or fake cursive writing."""
    turns = int(rng.integers(3, 7))
    angle = np.linspace(0, 2 * math.pi * turns, 40 * turns) + math.pi / 2
    advance = rng.uniform(0.5, 1.2)  # how far each loop moves on, in loop radii: less piles them into a 0
    x = advance * angle / (2 * math.pi) + np.cos(angle)
    y = np.sin(angle) * rng.uniform(0.6, 1.4)
    return np.column_stack([x, y]) / (advance * turns + 2)


def _scrawl(rng: np.random.Generator) -> np.ndarray:
    """Return a stroke scratching back and forth, the way things are crossed out."""
    turns = int(rng.integers(6, 15))
    x = np.where(np.arange(turns) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.06, turns)
    y = np.sort(rng.uniform(0, rng.uniform(0.3, 1.0), turns))
    return _spline(np.column_stack([x, y]), per=6)


_SCRIBBLES = {
    "spline": lambda rng: [_random_curve(rng, 7, 12)],
    "loops": lambda rng: [_loops(rng)],
    "scrawl": lambda rng: [_scrawl(rng)],
    "tangle": lambda rng: [_random_curve(rng, 7, 11, closed=True)],
}


def _draw_scribble(shape: Callable[[np.random.Generator], list[np.ndarray]]) -> Maker:
    return lambda rng, mnist: render_strokes(transform_strokes(shape(rng), rng), rng, longest=True)


def _paper(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return a blank float canvas (height, width) and the paper and ink colours as RGB arrays."""
    paper, ink = pick_colours(rng)
    return np.zeros(size[::-1]), np.array(paper, dtype=float), np.array(ink, dtype=float)


def _painted(alpha: np.ndarray, paper: np.ndarray, ink: np.ndarray) -> Image.Image:
    """Return an RGB picture with `ink` where `alpha` (0-1) is 1 and paper where it is 0."""
    a = np.clip(alpha, 0, 1)[..., None]
    return Image.fromarray(np.round(paper * (1 - a) + ink * a).astype(np.uint8))


def _side(rng: np.random.Generator) -> tuple[int, int]:
    side = int(rng.integers(160, 641))
    return side, side


def _salt_and_pepper(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
    width, height = _side(rng)
    alpha, paper, ink = _paper(rng, (width, height))
    grain = int(rng.integers(1, 5))  # dots of 1-4 pixels
    dots = rng.random((height // grain + 1, width // grain + 1)) < rng.uniform(0.01, 0.3)
    alpha[:] = np.kron(dots, np.ones((grain, grain)))[:height, :width]
    return _painted(alpha, paper, ink)


def _blotches(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
    width, height = _side(rng)
    _, paper, ink = _paper(rng, (width, height))
    mask = Image.new("L", (width, height), 0)
    pencil = ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(2, 13))):
        cx, cy = rng.uniform(0, 1, 2) * (width, height)
        rx, ry = rng.uniform(0.02, 0.2, 2) * width
        pencil.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=int(rng.integers(128, 256)))
    mask = mask.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 6))))
    return _painted(np.asarray(mask) / 255.0, paper, ink)


def _texture(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
    """Return blurred random noise cut at a level: marbling, stains, a rough surface."""
    width, height = _side(rng)
    _, paper, ink = _paper(rng, (width, height))
    cells = int(rng.integers(3, 40))
    noise = Image.fromarray(rng.normal(0, 1, (cells, cells)).astype(np.float32), mode="F")
    field = np.asarray(noise.resize((width, height), Image.Resampling.BICUBIC))
    level = np.quantile(field, rng.uniform(0.5, 0.9))
    softness = rng.uniform(0.05, 1.0) * field.std()
    return _painted((field - level) / softness, paper, ink)


def _ruled_paper(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
    """Return ruled or squared paper with a little grain: a page photographed before anything was written."""
    width, height = _side(rng)
    alpha, paper, ink = _paper(rng, (width, height))
    step = int(rng.integers(12, 48))
    thickness = int(rng.integers(1, 4))
    strength = rng.uniform(0.3, 1.0)
    for offset in range(int(rng.integers(0, step)), height, step):
        alpha[offset : offset + thickness] = strength
    if rng.random() < 0.5:  # squared paper
        for offset in range(int(rng.integers(0, step)), width, step):
            alpha[:, offset : offset + thickness] = strength
    alpha += rng.normal(0, 0.03, alpha.shape)
    return _painted(alpha, paper, ink)


def _dots(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
    """Return one to six round dots, as a pen tapped on the page."""
    width, height = _side(rng)
    _, paper, ink = _paper(rng, (width, height))
    image = _painted(np.zeros((height, width)), paper, ink)
    pencil = ImageDraw.Draw(image)
    radius = width * rng.uniform(0.01, 0.05)
    spread = rng.uniform(0.1, 0.8)
    for _ in range(int(rng.integers(1, 7))):
        cx, cy = (0.5 + (rng.uniform(0, 1, 2) - 0.5) * spread) * (width, height)
        pencil.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=tuple(int(v) for v in ink))
    return image


def _lines(rng: np.random.Generator) -> list[np.ndarray]:
    """Return one to four straight lines near level: an upright one would read as a 1.

    The hand's slant and turn (transform_strokes) can tilt a line some 25 degrees more, so a lone
    line, which has nothing else to tell it from a 1, starts within 15 degrees of level.
    """
    lines = []
    count = int(rng.integers(1, 5))
    for _ in range(count):
        angle = rng.uniform(-1, 1) * (25 if count > 1 else 15) * math.pi / 180
        centre = rng.uniform(0.2, 0.8, 2)
        half = rng.uniform(0.15, 0.5) * np.array([math.cos(angle), math.sin(angle)])
        lines.append(np.array([centre - half, centre + half]))
    return lines


def _plain_mark(rng: np.random.Generator) -> list[np.ndarray]:
    """Return lines, a scrawl or a coil: marks that stay no digit however small or thin.

    Preprocessing scales every mark up to a digit's size, so a tiny random curve would be as likely to
    read as a 7 as a big one.
    """
    pick = rng.random()
    if pick < 0.5:
        return _lines(rng)
    return [_scrawl(rng)] if pick < 0.75 else [_loops(rng)]


def _draw_marks(shape: Callable[[np.random.Generator], list[np.ndarray]], **pen: tuple[float, float]) -> Maker:
    """Return a maker drawing `shape` with a pen of its own: tiny, or one pixel wide."""
    return lambda rng, mnist: render_strokes(transform_strokes(shape(rng), rng), rng, longest=True, **pen)


def _blank(rng: np.random.Generator, mnist: np.ndarray | None, *, grain: float, slope: float) -> Image.Image:
    """Return paper with nothing on it but a little grain and a faint gradient of light."""
    width, height = _side(rng)
    alpha, paper, ink = _paper(rng, (width, height))
    alpha += rng.normal(0, grain, alpha.shape) + np.linspace(0, slope, width)[None, :]
    return _painted(alpha, paper, ink)


def _on_canvas(alpha: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Return ink `alpha` (0-1, any size) scaled onto a canvas of random size, place and colours."""
    side = int(rng.integers(160, 641))
    scale = side * rng.uniform(0.3, 0.85) / alpha.shape[0]
    size = (max(1, round(alpha.shape[1] * scale)), max(1, round(alpha.shape[0] * scale)))
    width = max(side, int(size[0] * rng.uniform(1.05, 1.4)) + 4)
    big = np.asarray(Image.fromarray(alpha.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))
    canvas, paper, ink = _paper(rng, (width, side))
    left = int(rng.integers(0, width - size[0] + 1))
    top = int(rng.integers(0, side - size[1] + 1))
    canvas[top : top + size[1], left : left + size[0]] = big
    return _painted(canvas, paper, ink)


# --- Several digits in a row.


def _drawn_row(rng: np.random.Generator, layout: str) -> Image.Image:
    """Return 2-4 pen-drawn digits in a row, drawn with one pen."""
    digits = "".join(str(int(digit)) for digit in rng.integers(0, 10, int(rng.integers(2, 5))))
    strokes = numbers.drawn_row(rng, digits, layout)
    extent = np.ptp(np.concatenate(strokes), axis=0)
    return render_strokes(strokes, rng, wide=float(np.clip(extent[0] / extent[1] * rng.uniform(1.1, 1.6), 1.0, 4.0)))


def _mnist_row(rng: np.random.Generator, layout: str, mnist: np.ndarray) -> Image.Image:
    """Return 2-4 MNIST training digits in a row, each at its own size, on one canvas."""
    picks = rng.integers(0, len(mnist), int(rng.integers(2, 5)))
    return _on_canvas(numbers.mnist_row(rng, mnist[picks], layout), rng)


def _several(layout: str) -> Maker:
    """Return a maker of digit rows: from MNIST training images half the time when given, else pen-drawn."""

    def make(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
        if mnist is not None and rng.random() < 0.5:
            return _mnist_row(rng, layout, mnist)
        return _drawn_row(rng, layout)

    return make


# --- Made-up glyphs (training.glyphs), from the strokes of training templates or, for checks, of check ones.


def _glyph_reads_as_digit(image: Image.Image) -> bool:
    """Whether a made-up glyph came out as a lone upright stroke, a 1; other look-alikes are rare."""
    try:
        return digit_pieces.upright_line(preprocess_image(image) > 96)
    except EmptyImage:
        return True


@functools.cache
def _template_pool(check: bool) -> tuple[list[list[Stroke]], list[np.ndarray]]:
    """Return the unambiguous templates of the training (or check) styles, and all their strokes."""
    whole = [
        styles
        for kind, named in templates().items()
        for name, every in named.items()
        if name not in AMBIGUOUS and (name in CHECK_NAMES[kind]) == check
        for styles in every
    ]
    return whole, [np.asarray(stroke, dtype=float) for strokes in whole for stroke in strokes]


def _glyph(build: Callable[[np.random.Generator, bool], list[np.ndarray]], *, check: bool) -> Maker:
    """Return a maker drawing glyphs from `build` with the digits' hands and pens, none like a 1."""

    def make(rng: np.random.Generator, mnist: np.ndarray | None) -> Image.Image:
        def draw() -> Image.Image:
            return render_strokes(transform_strokes(build(rng, check), rng), rng, longest=True)

        return digit_pieces.unlike_a_digit(draw, reads_as_digit=_glyph_reads_as_digit)

    return make


def _borrowed(rng: np.random.Generator, check: bool) -> list[np.ndarray]:
    return glyphs.borrowed(rng, _template_pool(check)[1])


def _warped(rng: np.random.Generator, check: bool) -> list[np.ndarray]:
    whole = _template_pool(check)[0]
    return glyphs.warped(rng, [np.asarray(stroke, dtype=float) for stroke in whole[int(rng.integers(len(whole)))]])


def _glyph_procedures() -> dict[str, Maker]:
    return {
        "borrowed": _glyph(_borrowed, check=False),
        "warped": _glyph(_warped, check=False),
        "primitives": _glyph(lambda rng, check: glyphs.primitives(rng), check=False),
        "borrowed-from-checks": _glyph(_borrowed, check=True),
        "warped-checks": _glyph(_warped, check=True),
    }


# --- Styles: every way of drawing each kind, marked for training or for checks.


@dataclass(frozen=True)
class Style:
    """One way of drawing a kind: a template style ("letters:A#0") or a procedure ("noise:blotches")."""

    name: str
    check: bool  # held out of training, for checks only
    ambiguous: bool  # reads as a digit even to a person
    make: Maker


def _procedures() -> dict[str, dict[str, Maker]]:
    """Return kind -> procedure name -> maker, for the kinds not drawn from templates."""
    scribble = {name: _draw_scribble(shape) for name, shape in _SCRIBBLES.items()}
    return {
        "scribbles": scribble,
        "glyphs": _glyph_procedures(),
        "noise": {
            "salt-and-pepper": _salt_and_pepper,
            "blotches": _blotches,
            "texture": _texture,
            "ruled-paper": _ruled_paper,
        },
        "marks": {
            "dots": _dots,
            "lines": _draw_marks(_lines),
            "tiny": _draw_marks(_plain_mark, height=(0.02, 0.06), pen=(0.05, 0.2)),
            "hairline": _draw_marks(_plain_mark, height=(0.4, 0.9), pen=(0.0005, 0.004)),
        },
        # 1 is left out: nearly every piece of it is an upright stroke, which reads as a 1.
        "partial": {f"of-{digit}": digit_pieces.partial((digit,)) for digit in (0, 2, 3, 4, 5, 6, 7, 8, 9)},
        "crops": {part: digit_pieces.crop(part) for part in ("sides", "ends", "corner")},
        "several": {layout: _several(layout) for layout in ("separated", "close", "overlapping", "touching")},
        "blank": {
            "plain": functools.partial(_blank, grain=0.0, slope=0.0),
            "grain": functools.partial(_blank, grain=0.015, slope=0.0),
            "gradient": functools.partial(_blank, grain=0.01, slope=0.06),
        },
    }


# Procedures held out of training, one or more per kind.
_CHECK_PROCEDURES = {
    "scribbles": {"tangle"},
    "glyphs": {"borrowed-from-checks", "warped-checks"},
    "noise": {"ruled-paper"},
    "marks": {"hairline"},
    "partial": {"of-3", "of-7", "of-9"},
    "crops": {"corner"},
    "several": {"touching"},
    "blank": {"gradient"},
}


@functools.cache
def _styles() -> dict[str, tuple[Style, ...]]:
    """Return kind -> every style of that kind."""
    table = {
        kind: tuple(
            Style(f"{kind}:{name}#{index}", name in CHECK_NAMES[kind], name in AMBIGUOUS, _draw_template(strokes))
            for name, styles in named.items()
            for index, strokes in enumerate(styles)
        )
        for kind, named in templates().items()
    }
    for kind, makers in _procedures().items():
        table[kind] = tuple(
            Style(f"{kind}:{name}", name in _CHECK_PROCEDURES[kind], False, make) for name, make in makers.items()
        )
    return {kind: table[kind] for kind in KINDS}


def _chosen(kind: str, styles: StyleSet, ambiguous: Ambiguity) -> list[Style]:
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; choose from {', '.join(KINDS)}.")
    if styles not in ("train", "check", "all") or ambiguous not in ("leave_out", "include", "only"):
        raise ValueError("styles must be train, check or all and ambiguous leave_out, include or only.")
    chosen = [style for style in _styles()[kind] if styles == "all" or style.check == (styles == "check")]
    if ambiguous != "include":
        chosen = [style for style in chosen if style.ambiguous == (ambiguous == "only")]
    return chosen


def style_names(kind: str, styles: StyleSet = "all", ambiguous: Ambiguity = "include") -> list[str]:
    """Return the names of a kind's styles: its training ones, its check ones, or all."""
    return [style.name for style in _chosen(kind, styles, ambiguous)]


# --- The API.


@dataclass(frozen=True)
class Outlier:
    """One generated picture: its style's name ("letters:A#0"), whether it is ambiguous, and its PNG bytes."""

    name: str
    ambiguous: bool
    png: bytes


def draw_outliers(
    kind: str,
    count: int,
    seed: int,
    *,
    styles: StyleSet = "all",
    ambiguous: Ambiguity = "leave_out",
    mnist_train: np.ndarray | None = None,
) -> list[Outlier]:
    """Draw `count` pictures of `kind`, reproducibly for `seed`, going through the chosen styles in turn."""
    chosen = _chosen(kind, styles, ambiguous)
    if not chosen and count:
        raise ValueError(f"{kind} has no {styles} styles with ambiguous={ambiguous}.")
    mnist = None if mnist_train is None else training_images_only(mnist_train)
    rng = np.random.default_rng([zlib.crc32(kind.encode()), seed])
    drawn: list[Outlier] = []
    order: list[int] = []
    for _ in range(count):
        if not order:  # every style once, in a fresh order, before any comes again
            order = [int(index) for index in rng.permutation(len(chosen))]
        style = chosen[order.pop()]
        drawn.append(Outlier(style.name, style.ambiguous, png_bytes(style.make(rng, mnist))))
    return drawn


def generate(
    kind: str,
    count: int,
    seed: int,
    *,
    styles: StyleSet = "all",
    ambiguous: Ambiguity = "leave_out",
    mnist_train: np.ndarray | None = None,
) -> list[bytes]:
    """Return `count` PNG pictures of `kind`, reproducibly for `seed` (see draw_outliers)."""
    return [
        outlier.png
        for outlier in draw_outliers(kind, count, seed, styles=styles, ambiguous=ambiguous, mnist_train=mnist_train)
    ]


@dataclass(frozen=True)
class OutlierInputs:
    """Generated pictures as the model sees them, with the names of those preprocessing refused as empty."""

    inputs: np.ndarray  # uint8 (N, 28, 28), ink white on black
    names: list[str]  # the style of each input
    ambiguous: np.ndarray  # bool (N,)
    refused: list[str]  # styles of the pictures answered with empty_image, left out of `inputs`


def outlier_set(
    kind: str,
    count: int,
    seed: int,
    *,
    styles: StyleSet = "all",
    ambiguous: Ambiguity = "leave_out",
    mnist_train: np.ndarray | None = None,
) -> OutlierInputs:
    """Draw pictures of `kind` and preprocess them as the service does, setting aside those it refuses as empty."""
    kept, names, flags, refused = [], [], [], []
    for outlier in draw_outliers(kind, count, seed, styles=styles, ambiguous=ambiguous, mnist_train=mnist_train):
        try:
            kept.append(preprocess_bytes(outlier.png))
        except EmptyImage:
            refused.append(outlier.name)
            continue
        names.append(outlier.name)
        flags.append(outlier.ambiguous)
    if refused:
        logger.info("%s: preprocessing refused %d of %d pictures as empty", kind, len(refused), count)
    inputs = np.stack(kept) if kept else np.zeros((0, 28, 28), dtype=np.uint8)
    return OutlierInputs(inputs, names, np.array(flags, dtype=bool), refused)


def outlier_inputs(
    kind: str,
    count: int,
    seed: int,
    *,
    styles: StyleSet = "all",
    ambiguous: Ambiguity = "leave_out",
    mnist_train: np.ndarray | None = None,
) -> np.ndarray:
    """Return up to `count` pictures of `kind` as model inputs, uint8 (N, 28, 28); blank ones are left out."""
    return outlier_set(kind, count, seed, styles=styles, ambiguous=ambiguous, mnist_train=mnist_train).inputs


# --- Looking at them.


def contact_sheet(outliers: list[Outlier], *, columns: int = 10, cell: int = 120) -> Image.Image:
    """Return a grid showing each picture above what the model sees of it (red: refused as empty)."""
    rows = max(1, -(-len(outliers) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + 90)), (128, 128, 128))
    for index, outlier in enumerate(outliers):
        left, top = (index % columns) * cell, (index // columns) * (cell + 90)
        picture = Image.open(io.BytesIO(outlier.png)).convert("RGB")
        picture.thumbnail((cell - 4, cell - 4))
        sheet.paste(picture, (left + 2, top + 2))
        try:
            pixels = preprocess_bytes(outlier.png)
            seen = Image.fromarray(255 - pixels).resize((84, 84), Image.Resampling.NEAREST).convert("RGB")
        except EmptyImage:
            seen = Image.new("RGB", (84, 84), (200, 40, 40))
        sheet.paste(seen, (left + (cell - 84) // 2, top + cell + 3))
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write generated non-digits (and digit rows) as PNG files.")
    parser.add_argument("--kind", choices=[*KINDS, "all"], default="all")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--styles", choices=["train", "check", "all"], default="all")
    parser.add_argument("--ambiguous", choices=["leave_out", "include", "only"], default="include")
    parser.add_argument("--mnist", action="store_true", help="also use MNIST training images (never test ones)")
    parser.add_argument("--out", required=True, help="folder for the PNG files and a contact sheet per kind")
    args = parser.parse_args(argv)
    mnist = None
    if args.mnist:
        from training.data import load_best_available

        mnist = load_best_available().x_train
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for kind in KINDS if args.kind == "all" else [args.kind]:
        outliers = draw_outliers(
            kind, args.count, args.seed, styles=args.styles, ambiguous=args.ambiguous, mnist_train=mnist
        )
        for index, outlier in enumerate(outliers):
            name = outlier.name.split(":", 1)[1].replace("/", "slash").replace("\\", "backslash")
            (out / f"{kind}-{index:04d}-{name}.png").write_bytes(outlier.png)
        contact_sheet(outliers).save(out / f"sheet-{kind}.png")
        print(f"{kind}: wrote {len(outliers)} pictures and sheet-{kind}.png to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
