"""Find the digits of a written number: one 28x28 model input per digit, left to right, with its box.

The same path serves training, inference and tests. A number goes through
the single-digit preprocessing up to the ink map (`training.preprocessing`:
either polarity, transparency, tinted paper, any size), then:

1. the ink is cut into connected pieces; specks far smaller than the
   writing are dropped;
2. pieces that share columns are one digit: the detached bar of a 7, the
   flag of a 5, a dot, a stroke broken in two;
3. a group too wide for one digit holds touching digits: candidate cuts are
   the columns where the ink is thinnest, and the split kept is the one the
   classifier reads best (`score`), or without a classifier the one whose
   pieces are the most even;
4. each digit is cropped to its own ink (a neighbour's stroke reaching into
   its box is left out) and centred as MNIST expects.

Boxes are `(x, y, width, height)` in the original picture's pixels.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from training.preprocessing import (
    DEFAULT_MAX_PIXELS,
    EmptyImage,
    ImageRejected,
    UnsupportedFormat,
    center_digit,
    ink_map,
    open_image,
    resize_ink,
    to_gray_on_white,
)

MAX_DIGITS = 16
# Work on at most this many pixels along the longer side: plenty for digits of a number, and labelling a
# 4,000 px photo at full size would cost more than reading its digits.
WORK_SIDE = 1200
WORK_HEIGHT = 40  # the writing's height to work at, at most
INK_LEVEL = 64  # ink map level (0-255) that counts as ink when cutting into pieces
SPECK = 0.004  # a piece with less ink than this share of the largest piece's box area is dirt
SHARED_COLUMNS = 0.45  # pieces overlapping by this share of the narrower one's width are one digit
WIDE = 1.15  # a group wider than this times its height may hold touching digits
PIECE_WIDTH = (0.22, 1.15)  # a digit's width, in heights of the text line
SURE = 0.5  # a piece scoring this well reads as one digit and is not looked at again
# What one more digit costs a reading, in log score: without it a piece that reads as a good "1" is split off any
# digit it touches or crosses (an open 4 becomes "41"). Chosen on numbers of seed 5, not on the check set's seed 0;
# exact matches there with detector v2 for costs 0 / 1 / 1.5 / 2 / 2.5: 71.3 / 72.0 / 72.2 / 72.1 / 72.6%.
SPLIT_COST = 2.5

Score = Callable[[np.ndarray], np.ndarray]  # (N, 28, 28) uint8 -> (N, 10) probabilities


class TooManyDigits(ImageRejected):
    """The picture holds more digits than a number may have."""


@dataclass(frozen=True)
class DigitCrop:
    """One digit of a number: its box in the original picture and its 28x28 model input."""

    box: tuple[int, int, int, int]  # x, y, width, height
    pixels: np.ndarray  # uint8 (28, 28), ink white on black


@dataclass
class _Group:
    """Pieces of ink read as one digit (or, while too wide, as several touching ones)."""

    labels: list[int]
    left: int
    right: int  # exclusive
    top: int
    bottom: int  # exclusive

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def absorb(self, other: _Group) -> None:
        self.labels += other.labels
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)


def _working_ink(image: Image.Image) -> tuple[np.ndarray, float]:
    """Return the ink map at working size and the factor from working to original pixels.

    Digits need no more than some 64 pixels of height to be told apart, and every step after this one
    costs by the pixel: a number written large is worked on smaller, and so is any picture over WORK_SIDE.
    """
    try:
        gray = to_gray_on_white(image)
    except (ValueError, OSError) as error:
        raise UnsupportedFormat(f"Images in the {image.mode} colour mode are not supported: {error}.") from None
    ink = ink_map(gray)
    rows = np.flatnonzero((ink > 127).sum(axis=1) >= 2)
    writing = rows[-1] - rows[0] + 1 if rows.size else ink.shape[0]
    factor = max(max(ink.shape) / WORK_SIDE, writing / WORK_HEIGHT, 1.0)
    if factor <= 1.0:
        return ink, 1.0
    size = (max(1, round(ink.shape[1] / factor)), max(1, round(ink.shape[0] / factor)))
    small = resize_ink(ink, size, Image.Resampling.BOX)
    # Averaging dims thin strokes; bring the ink back to full strength.
    return small * (255.0 / max(float(small.max()), 1e-6)), factor


def _pieces(ink: np.ndarray) -> tuple[np.ndarray, list[_Group]]:
    """Label the connected pieces of ink (8-neighbours) and return them as groups, specks left out."""
    labels, count = ndimage.label(ink > INK_LEVEL, structure=np.ones((3, 3), bool))
    if count == 0:
        raise EmptyImage("No digit found: the image is blank or has too little contrast.")
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    slices = ndimage.find_objects(labels)
    boxes = [(s[1].start, s[1].stop, s[0].start, s[0].stop) for s in slices]
    largest = max((right - left) * (bottom - top) for left, right, top, bottom in boxes)
    groups = [
        _Group([index + 1], left, right, top, bottom)
        for index, (left, right, top, bottom) in enumerate(boxes)
        if areas[index + 1] >= max(3, SPECK * largest)
    ]
    return labels, groups


def _overlap(a: _Group, b: _Group) -> float:
    shared = min(a.right, b.right) - max(a.left, b.left)
    return shared / max(1, min(a.width, b.width))


def _merge_stacked(groups: list[_Group]) -> list[_Group]:
    """Join pieces that share most of their columns, until none do; return them left to right."""
    groups = sorted(groups, key=lambda group: group.left)
    merged = True
    while merged:
        merged = False
        for a, b in itertools.combinations(groups, 2):
            if _overlap(a, b) >= SHARED_COLUMNS:
                a.absorb(b)
                groups.remove(b)
                merged = True
                break
    return sorted(groups, key=lambda group: (group.left + group.right) / 2)


def _line_height(groups: list[_Group]) -> float:
    """Return the height of the writing: the tallest groups' median, so a dash or a dot does not set it."""
    heights = sorted((group.height for group in groups), reverse=True)
    return float(np.median(heights[: max(1, (len(heights) + 1) // 2)]))


@dataclass(frozen=True)
class _Piece:
    """A candidate digit: the ink of some pieces of ink, within a range of columns."""

    labels: tuple[int, ...]
    left: int
    right: int  # exclusive


class _Reader:
    """Cuts candidate digits out of the ink, centres them once each, and scores them in batches."""

    def __init__(self, ink: np.ndarray, labels: np.ndarray, score: Score):
        self.ink, self.labels, self.score = ink, labels, score
        self.inputs: dict[_Piece, tuple[np.ndarray, tuple[int, int, int, int]] | None] = {}
        self.fit: dict[_Piece, float] = {}
        self._chosen = np.zeros(int(labels.max()) + 1, bool)  # which labels a window keeps, reused

    def window(self, piece: _Piece) -> tuple[np.ndarray, int]:
        """Return the piece's own ink in its columns (a neighbour's ink left out), and its top row."""
        columns = slice(piece.left, piece.right)
        self._chosen[list(piece.labels)] = True
        own = self._chosen[self.labels[:, columns]]  # a table lookup: np.isin sorts, this does not
        self._chosen[:] = False
        rows = np.flatnonzero(own.any(axis=1))
        top, bottom = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 0)
        # Soft edges below the ink level belong to whichever piece they touch: grow the mask by a pixel.
        own = _grown(own[top:bottom])
        return self.ink[top:bottom, columns] * own, top

    def prepare(self, piece: _Piece) -> None:
        if piece in self.inputs:
            return
        window, top = self.window(piece)
        pixels = _centred(window) if window.size else None
        strong = window > INK_LEVEL
        rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
        if pixels is None or not rows.size:
            self.inputs[piece] = None
            return
        box = (piece.left + int(cols[0]), top + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
        self.inputs[piece] = (pixels, box)

    def rate(self, pieces: list[_Piece]) -> None:
        """Score every piece not scored yet, in one batch; a piece with no usable ink scores nothing."""
        for piece in pieces:
            self.prepare(piece)
        todo = [piece for piece in pieces if piece not in self.fit and self.inputs[piece] is not None]
        if todo:
            values = self.score(np.stack([self.inputs[piece][0] for piece in todo]))
            self.fit.update(zip(todo, (float(value) for value in values), strict=True))
        for piece in pieces:
            self.fit.setdefault(piece, 0.0)

    def total_log(self, pieces: list[_Piece]) -> float:
        """Return the log of the chance that every piece is one digit, as the score has it."""
        self.rate(pieces)
        return float(sum(np.log(max(self.fit[piece], 1e-6)) for piece in pieces)) - SPLIT_COST * (len(pieces) - 1)


def _grown(mask: np.ndarray) -> np.ndarray:
    """Grow a mask by one pixel up, down, left and right (a binary dilation by a cross, nothing beyond the edge)."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def _cut_candidates(column_ink: np.ndarray, height: float) -> list[int]:
    """Return columns where the ink is thinnest locally: where touching digits most likely meet."""
    smooth = np.convolve(column_ink, np.ones(3) / 3, mode="same")
    low = int(PIECE_WIDTH[0] * height)
    inside = range(max(1, low), len(smooth) - max(1, low))
    minima = [x for x in inside if smooth[x] <= smooth[x - 1] and smooth[x] <= smooth[x + 1]]
    # Keep the thinnest few: a long number has many minima, most of them inside digits.
    minima.sort(key=lambda x: smooth[x])
    chosen = sorted(minima[: 3 * max(1, round(len(smooth) / height))])
    # Where no thin column falls for longer than a digit is wide, cut evenly too, so some cut fits.
    edges, step = [0, *chosen, len(smooth)], 0.5 * height
    for a, b in itertools.pairwise(edges):
        pieces = int((b - a) // step)
        if b - a > PIECE_WIDTH[1] * height and pieces > 1:
            chosen += [round(a + (b - a) * i / pieces) for i in range(1, pieces)]
    return sorted(set(chosen))


def _centred(ink: np.ndarray) -> np.ndarray | None:
    try:
        return center_digit(ink)
    except EmptyImage:
        return None


def _spans(reader: _Reader, piece: _Piece, height: float) -> tuple[dict[tuple[int, int], _Piece], int]:
    """Return the spans between candidate cuts of a piece that are a plausible digit's width, and the cut count."""
    window, _ = reader.window(piece)
    positions = [0, *_cut_candidates(window.sum(axis=0), height), piece.right - piece.left]
    low, high = PIECE_WIDTH[0] * height, PIECE_WIDTH[1] * height
    pairs = [
        (i, j)
        for i, j in itertools.combinations(range(len(positions)), 2)
        if low <= positions[j] - positions[i] <= high
    ]
    spans = {
        (i, j): _Piece(piece.labels, piece.left + positions[i], piece.left + positions[j])
        for i, j in _on_some_cover(pairs, len(positions))
    }
    return spans, len(positions)


def _on_some_cover(pairs: list[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """Return the spans (i, j) that lie on some chain of spans from position 0 to the last one.

    Only those can be part of a cut, so only those are worth centring and scoring.
    """
    reached = [True] + [False] * (count - 1)  # from position 0
    for i, j in sorted(pairs):
        reached[j] = reached[j] or reached[i]
    reaches = [False] * (count - 1) + [True]  # to the last position
    for i, j in sorted(pairs, reverse=True):
        reaches[i] = reaches[i] or reaches[j]
    return [(i, j) for i, j in pairs if reached[i] and reaches[j]]


def _best_of(reader: _Reader, piece: _Piece, spans: dict[tuple[int, int], _Piece], count: int) -> list[_Piece]:
    """Return the scored spans covering the piece whose total is best: splitting a digit must pay for both halves."""
    # best[j][k]: the highest total log score of k digits covering positions[0]..positions[j], and them.
    best: list[dict[int, tuple[float, list[_Piece]]]] = [{} for _ in range(count)]
    best[0][0] = (0.0, [])
    for (i, j), span in sorted(spans.items(), key=lambda item: item[0]):
        value = float(np.log(max(reader.fit[span], 1e-6))) - (SPLIT_COST if i else 0.0)
        for k, (total, chosen) in list(best[i].items()):
            if k + 1 not in best[j] or best[j][k + 1][0] < total + value:
                best[j][k + 1] = (total + value, [*chosen, span])
    finished = best[-1]
    if not finished:  # no cut leaves every digit a plausible width: keep the piece whole
        return [piece]
    k = max(finished, key=lambda digits: finished[digits][0])
    return finished[k][1]


def _best_cuts(
    reader: _Reader, pieces: list[_Piece], height: float, *, also: list[_Piece] = ()
) -> dict[_Piece, list[_Piece]]:
    """Return, per piece, its cut into digits most likely to be single digits, all of them.

    Every span between two candidate cuts of every piece (and the pieces in `also`) is scored in one
    batch: the model is called once, however many pieces need cutting.
    """
    plans = {piece: _spans(reader, piece, height) for piece in pieces}
    reader.rate([span for spans, _ in plans.values() for span in spans.values()] + list(also))
    return {piece: _best_of(reader, piece, spans, count) for piece, (spans, count) in plans.items()}


def _apart(piece: _Piece, components: dict[int, _Group]) -> list[_Piece] | None:
    """Return a piece's pieces of ink as digits of their own, left to right, if none sits inside another."""
    parts = sorted((components[label] for label in piece.labels), key=lambda group: group.left + group.right)
    for before, after in itertools.pairwise(parts):
        if (after.left + after.right) / 2 <= before.right or (before.left + before.right) / 2 >= after.left:
            return None  # a loop inside a 2, the bar across a 7: one digit, or at least not two side by side
    return [_Piece((part.labels[0],), part.left, part.right) for part in parts]


def _reread_doubtful(
    reader: _Reader, pieces: list[_Piece], components: dict[int, _Group], height: float
) -> list[_Piece]:
    """Replace each doubtful piece by its best reading: as it is, its pieces of ink apart, or cut into digits."""
    doubtful = [piece for piece in pieces if reader.fit[piece] < SURE]
    apart = {piece: _apart(piece, components) for piece in doubtful if len(piece.labels) > 1}
    wide = [piece for piece in doubtful if piece.right - piece.left > 2 * PIECE_WIDTH[0] * height]
    cuts = _best_cuts(reader, wide, height, also=[part for parts in apart.values() if parts for part in parts])
    final = []
    for piece in pieces:
        options = [[piece]] if reader.fit[piece] >= SURE else [[piece], apart.get(piece), cuts.get(piece)]
        final += max((option for option in options if option), key=reader.total_log)
    return final


def _join_detached(reader: _Reader, pieces: list[_Piece], height: float) -> list[_Piece]:
    """Join a small doubtful piece to a neighbour when together they read better: the flag of a 5, a 7's bar."""
    pieces = list(pieces)
    index = 0
    while index < len(pieces):
        piece = pieces[index]
        small = reader.inputs[piece] is None or max(reader.inputs[piece][1][2:]) < 0.6 * height
        if reader.fit[piece] >= SURE or not small:
            index += 1
            continue
        best, choice = reader.total_log([piece]), None
        for other in (index - 1, index + 1):
            if 0 <= other < len(pieces):
                joined = _joined(piece, pieces[other])
                if joined.right - joined.left <= PIECE_WIDTH[1] * height:
                    gain = reader.total_log([joined]) - reader.total_log([pieces[other]])
                    if gain > best:
                        best, choice = gain, (other, joined)
        if choice is None:
            index += 1
            continue
        other, joined = choice
        pieces[min(index, other)] = joined
        del pieces[max(index, other)]
        index = min(index, other)
    return pieces


def _joined(a: _Piece, b: _Piece) -> _Piece:
    return _Piece(tuple(sorted(set(a.labels) | set(b.labels))), min(a.left, b.left), max(a.right, b.right))


def _first_pieces(reader: _Reader, groups: list[_Group], height: float) -> list[_Piece]:
    """Return each group as one piece or, when too wide for one digit, cut where it reads best; all scored."""
    wholes = [_Piece(tuple(group.labels), group.left, group.right) for group in groups]
    wide = [whole for whole, group in zip(wholes, groups, strict=True) if group.width > WIDE * height]
    cuts = _best_cuts(reader, wide, height, also=[whole for whole in wholes if whole not in wide])
    return [piece for whole in wholes for piece in cuts.get(whole, [whole])]


def segment_image(image: Image.Image, *, score: Score, max_digits: int = MAX_DIGITS) -> list[DigitCrop]:
    """Return the digits of a written number, left to right.

    `score` maps a batch of 28x28 inputs to how well each reads as one digit (0-1): pieces it doubts are
    read again, as their pieces of ink apart or cut where touching digits meet. Raises EmptyImage when
    there is no ink and TooManyDigits beyond `max_digits`.
    """
    ink, factor = _working_ink(image)
    labels, components = _pieces(ink)
    if len(components) > 4 * max_digits:  # merging is quadratic; this much scatter is not a number anyway
        raise TooManyDigits(f"Found more than {max_digits} digits; a number may have at most {max_digits}.")
    by_label = {
        group.labels[0]: _Group(list(group.labels), group.left, group.right, group.top, group.bottom)
        for group in components
    }
    groups = _merge_stacked(components)
    height = _line_height(groups)
    # Dots and specks well below the writing's size are punctuation or dirt, not digits.
    groups = [group for group in groups if max(group.width, group.height) >= 0.25 * height]
    reader = _Reader(ink, labels, score)
    pieces = _first_pieces(reader, groups, height)
    reader.rate(pieces)
    final = _join_detached(reader, _reread_doubtful(reader, pieces, by_label, height), height)
    crops = [
        DigitCrop(box=tuple(int(round(v * factor)) for v in reader.inputs[piece][1]), pixels=reader.inputs[piece][0])
        for piece in final
        if reader.inputs[piece] is not None
    ]
    if not crops:
        raise EmptyImage("No digit found: the image is blank or has too little contrast.")
    if len(crops) > max_digits:
        raise TooManyDigits(f"Found more than {max_digits} digits; a number may have at most {max_digits}.")
    return crops


def segment_bytes(
    data: bytes, *, score: Score, max_digits: int = MAX_DIGITS, max_pixels: int = DEFAULT_MAX_PIXELS
) -> list[DigitCrop]:
    """Decode image bytes and return the digits of the number they show (see segment_image)."""
    return segment_image(open_image(data, max_pixels=max_pixels), score=score, max_digits=max_digits)
