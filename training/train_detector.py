"""Train the digit detector: one digit, not a digit, or several digits.

    python -m training.train_detector --data-dir ../shared/datasets/mnist --output detector.keras

Reads top to bottom: options; the digits (MNIST training images, the same
digits re-drawn the ways people send them, pen-drawn digits); the non-digits
and the several-digit rows we generate (`training.outliers`, training styles
only); with `--pieces`, pieces of touching numbers as the segmenter cuts
them (`training.number_pieces`); training, or with `--refine` more training of a
detector we have, on a smaller replay of the same kinds (`--scale`); then
the threshold, fitted so that at most `--max-flagged` of held-out digits
(MNIST validation images and drawn check digits) are flagged. Never the
MNIST test set, never a public set of non-digits: those are for
`python -m training.honesty`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training import outliers
from training.data import load_mnist, load_sample
from training.detector import (
    DIGIT,
    NOT_A_DIGIT,
    SEVERAL_DIGITS,
    DetectorData,
    fit_threshold,
    refine_detector,
    train_detector,
)
from training.drawn_digits import drawn_inputs
from training.number_pieces import number_pieces
from training.preprocessing import ImageRejected, preprocess_bytes
from training.robustness import renderings
from training.train import split_validation

SEED = 1234
# How many training pictures of each non-digit kind, per unit of --scale.
OUTLIER_COUNTS = {
    "letters": 16000,
    "symbols": 6000,
    "shapes": 8000,
    "scribbles": 4000,
    "glyphs": 24000,
    "noise": 3000,
    "marks": 3000,
    "partial": 5000,
    "crops": 3000,
}
SEVERAL_COUNT = 24000
# Digits turned into what no one writes: mirrored, or turned a quarter or half way. They teach the detector
# where digits end. Only digits that do not read as a digit (or as another digit) once turned are used.
TURNED_COUNT = 16000
MIRRORED_DIGITS = (2, 3, 4, 5, 6, 7, 9)  # 0, 1 and 8 are still themselves in a mirror
QUARTER_TURNED_DIGITS = (2, 3, 4, 5, 6, 7, 9)  # 0 stays a 0; a 1 becomes a dash, which the marks cover
HALF_TURNED_DIGITS = (3, 4, 5, 7)  # 6 and 9 swap; 0, 1, 8 and 2 still read as digits
RENDERED_DIGITS = 24000
# Pieces of touching numbers cut between columns, labelled by the ink they hold (`training.number_pieces`), to
# teach the detector what the segmenter's wrong cuts look like. None by default: refining v2 on 40,000 of them
# (`--refine ... --scale 0.25 --pieces 40000`) read numbers better (seed 5: 72.4 -> 73.8% exact, 75.6% with
# narrower spans) but flagged fewer non-digits (letters 93.5 -> 80.5%, partial strokes 98.4 -> 79.3%) and more
# hair-thin digits (2.4 -> 4.6%); docs/benchmarks.md.
NUMBER_PIECES = 0
DRAWN_DIGITS = 8000
CHECK_DRAWN_SEED = 1  # check seeds are small (DEVELOPERS.md); training seeds start at outliers.TRAIN_SEED


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the digit detector (digit / not a digit / several).")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--sample", action="store_true", help="use the small bundled sample (smoke runs)")
    parser.add_argument("--output", default="detector.keras")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every generated count (0.1: a quick run)")
    parser.add_argument("--max-flagged", type=float, default=0.005, help="share of held-out digits flagged at most")
    parser.add_argument("--refine", metavar="DETECTOR", help="go on training this detector instead of a new one")
    parser.add_argument("--pieces", type=int, help="pieces of touching numbers to add (default: none)")
    parser.add_argument("--learning-rate", type=float, default=3e-4, help="with --refine: the learning rate")
    return parser.parse_args(argv)


def rendered_digits(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Re-draw `count` of these digits the ways people send them (canvas, photo, marker...) and preprocess them."""
    rng = np.random.default_rng(seed)
    makers = list(renderings(rng).values())
    inputs = []
    for index in rng.choice(len(images), size=min(count, len(images)), replace=False):
        make = makers[int(rng.integers(len(makers)))]
        try:
            inputs.append(preprocess_bytes(make(images[index])))
        except ImageRejected:  # a hair-thin rendering can lose its ink; nothing to learn from then
            continue
    return np.stack(inputs)


def turned_digits(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Return `count` digits mirrored or turned so that they no longer read as any digit."""
    rng = np.random.default_rng(seed)
    turns = (
        (MIRRORED_DIGITS, lambda x: x[:, ::-1]),
        (QUARTER_TURNED_DIGITS, lambda x: np.rot90(x, 1)),
        (QUARTER_TURNED_DIGITS, lambda x: np.rot90(x, 3)),
        (HALF_TURNED_DIGITS, lambda x: np.rot90(x, 2)),
    )
    out = []
    for index in range(count):
        digits, turn = turns[index % len(turns)]
        candidates = np.flatnonzero(np.isin(labels, digits))
        out.append(turn(images[int(rng.choice(candidates))]))
    return np.stack(out).astype(np.uint8)


def generated(kind: str, count: int, mnist_train: np.ndarray) -> np.ndarray:
    return outliers.outlier_inputs(
        kind, count, outliers.TRAIN_SEED, styles="train", ambiguous="leave_out", mnist_train=mnist_train
    )


def training_data(x_train: np.ndarray, y_train: np.ndarray, scale: float, pieces: int | None = None) -> DetectorData:
    """Build the three classes from MNIST training images and what we generate."""
    plain = x_train.reshape(-1, 28, 28).astype(np.uint8)
    digits = np.concatenate(
        [
            plain,
            rendered_digits(plain, int(RENDERED_DIGITS * scale), SEED),
            drawn_inputs(int(DRAWN_DIGITS * scale), seed=outliers.TRAIN_SEED)[0],
        ]
    )
    not_digits = np.concatenate(
        [
            *(generated(kind, int(n * scale), plain) for kind, n in OUTLIER_COUNTS.items()),
            turned_digits(plain, y_train, int(TURNED_COUNT * scale), SEED),
        ]
    )
    several = generated("several", int(SEVERAL_COUNT * scale), plain)
    count = int(NUMBER_PIECES * scale) if pieces is None else pieces
    if count:
        pieces, kinds, _digits = number_pieces(count, outliers.TRAIN_SEED, mnist=(plain, y_train))
        digits, not_digits, several = (
            np.concatenate([part, pieces[kinds == kind]])
            for part, kind in ((digits, DIGIT), (not_digits, NOT_A_DIGIT), (several, SEVERAL_DIGITS))
        )
    print(f"classes: {len(digits)} digits, {len(not_digits)} non-digits, {len(several)} several-digit rows")
    return DetectorData(digits=digits, not_digits=not_digits, several=several)


def held_out_digits(x_val: np.ndarray) -> np.ndarray:
    """Digits no training saw: MNIST validation images and pen-drawn check digits."""
    drawn = drawn_inputs(1000, seed=CHECK_DRAWN_SEED)[0]
    return np.concatenate([x_val.reshape(-1, 28, 28).astype(np.uint8), drawn])


def main(argv: list[str] | None = None) -> int:
    from training.serving import ServingModel

    args = parse_args(argv)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    data = load_sample() if args.sample else load_mnist(args.data_dir)
    # The classifier's split: its validation images stay out of every training set.
    (x_train, y_train), (x_val, _) = split_validation(data, size=5000, seed=SEED)
    started = time.monotonic()
    classes = training_data(x_train, y_train, args.scale, args.pieces)
    print(f"generated in {time.monotonic() - started:.0f} s")

    started = time.monotonic()
    if args.refine:
        model = refine_detector(args.refine, classes, epochs=args.epochs, learning_rate=args.learning_rate, seed=SEED)
    else:
        model = train_detector(
            classes,
            epochs=args.epochs,
            seed=SEED,
            on_epoch=lambda epoch, logs: print(f"epoch {epoch + 1}: loss {logs['loss']:.4f}"),
        )
    train_seconds = time.monotonic() - started

    # The threshold is fitted on the served copy's answers: what the service will compute.
    served = ServingModel.from_keras(model)
    held_out = held_out_digits(x_val)
    threshold = fit_threshold(served.predict_probabilities(held_out)[:, DIGIT], max_flagged=args.max_flagged)
    model.save(output)
    summary = {
        "threshold": threshold,
        "max_flagged": args.max_flagged,
        "held_out_digits": int(len(held_out)),
        "counts": {
            "digits": len(classes.digits),
            "not_digits": len(classes.not_digits),
            "several": len(classes.several),
        },
        "epochs": args.epochs,
        "refined_from": args.refine,
        "scale": args.scale,
        "train_seconds": round(train_seconds, 1),
        "params": int(model.count_params()),
        "data_source": data.source,
    }
    output.with_suffix(".metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"threshold {threshold:.4f}; saved {output} after {train_seconds / 60:.1f} min of training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
