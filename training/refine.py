"""Refine a trained digit model on pen-drawn digits, the way retraining learns from corrections.

    python -m training.refine base.keras --data-dir ../shared/datasets/mnist --output refined.keras

MNIST's writers rarely flagged their 1s, barred their 7s or left their 4s
open; people drawing on a canvas often do, and a model trained on MNIST
alone reads a flagged 1 as a 7. This script draws such digits
(`training.drawn_digits`, a seed of their own), fine-tunes the base model on
them with MNIST replayed beside them and blends the result with the base
(`training.finetune`, the same code a retraining runs), then measures both
models on the MNIST test set and on drawn digits that neither trained on.
With `--number-digits` it also learns digits as the segmenter cuts them out
of touching pen-drawn numbers (`training.number_pieces`). It writes the
refined model only if it keeps the base's accuracy on MNIST training images
held out of the replay (the blend's check set); the MNIST test set is
reported, never used to decide.

Reads top to bottom: options, the drawn digits, fine-tuning, the comparison,
the model and its metrics on disk.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from training.finetune import FinetuneResult

# Drawn digits for training use this seed; the checks (robustness, tests) draw with small seeds (0, 1, ...).
TRAIN_SEED = 1_000_003
CHECK_SEED = 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Refine a digit model on pen-drawn digits.")
    parser.add_argument("model", help="the trained .keras model to start from")
    parser.add_argument("--output", required=True, help="where to write the refined .keras model")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR, else the sample)")
    parser.add_argument("--sample", action="store_true", help="use the small bundled sample (for smoke runs)")
    parser.add_argument("--drawn", type=int, default=1000, help="pen-drawn digits to learn from")
    parser.add_argument(
        "--number-digits", type=int, default=0, help="pen-drawn digits cut out of touching numbers to learn from"
    )
    parser.add_argument("--check", type=int, default=500, help="pen-drawn digits to measure on, never trained on")
    return parser.parse_args(argv)


def chosen_check_accuracy(blend: dict) -> float | None:
    """The MNIST check-image accuracy of the share the blend kept (None: nothing was measured)."""
    return next((step["accuracy"] for step in blend.get("tried", []) if step["share"] == blend["share"]), None)


def keeps_mnist(blend: dict, *, max_drop: float) -> bool:
    """Whether the blend's chosen share reads the MNIST check images within `max_drop` of the base."""
    from training.finetune import keeps_check_accuracy

    chosen = chosen_check_accuracy(blend)
    return chosen is not None and keeps_check_accuracy(blend["base_accuracy"], chosen, max_drop=max_drop)


def _report(event: dict) -> None:
    if event.get("message"):
        print(event["message"])
    elif "loss" in event:
        print(f"epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.4f}, accuracy {event['accuracy']:.4f}")


def print_comparison(metrics: dict) -> None:
    """Print the base model and the refined one side by side, as the service runs them (served copies)."""
    base, blend = metrics["parent"], metrics["blend"]
    chosen = chosen_check_accuracy(blend)
    print(f"{'':<34}{'base':>10}{'refined':>10}")
    if chosen is not None:
        print(f"{'MNIST check images (decides)':<34}{blend['base_accuracy']:>10.4f}{chosen:>10.4f}")
    for name, key in (("MNIST test", "mnist"), ("drawn digits (held out)", "holdout")):
        print(f"{name:<34}{base[key]['accuracy']:>10.4f}{metrics[key]['accuracy']:>10.4f}")


def refined_summary(base_model: str | Path, result: FinetuneResult, drawn: int) -> dict:
    """Return the refined model's metrics JSON: the base model's, with the new test figures and how they came."""
    base, new = result.metrics["parent"], result.metrics
    base_summary_path = Path(base_model).with_suffix(".metrics.json")
    base_summary = json.loads(base_summary_path.read_text()) if base_summary_path.exists() else {}
    return {
        **{key: value for key, value in base_summary.items() if key != "test"},
        "test": new["mnist"],
        "refined": {
            "base_test": base["mnist"],
            "drawn_digits": drawn,
            "drawn_seed": TRAIN_SEED,
            "drawn_check": {"seed": CHECK_SEED, "base": base["holdout"], "refined": new["holdout"]},
            "counts": result.counts,
            "blend": new["blend"],
            "history": result.history,
            "seconds": round(result.seconds["total"], 1),
        },
    }


def with_number_digits(x: np.ndarray, y: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Add `count` digits as the segmenter cuts them out of touching pen-drawn numbers, a neighbour's ink and all."""
    from training.detector import DIGIT
    from training.number_pieces import number_pieces

    pixels, classes, digits = number_pieces(3 * count, TRAIN_SEED)
    keep = np.flatnonzero(classes == DIGIT)[:count]
    return np.concatenate([x, pixels[keep]]), np.concatenate([y, digits[keep]])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    from training.data import load_best_available, load_sample
    from training.drawn_digits import drawn_inputs
    from training.finetune import FinetuneConfig, finetune, save_model

    # The digits to learn from, and the ones to judge by, drawn with different seeds.
    train_x, train_y = drawn_inputs(args.drawn, seed=TRAIN_SEED)
    if args.number_digits:
        train_x, train_y = with_number_digits(train_x, train_y, args.number_digits)
    check_x, check_y = drawn_inputs(args.check, seed=CHECK_SEED)
    data = load_sample() if args.sample else load_best_available(args.data_dir)
    print(f"data: {data.source}; {len(train_x)} drawn digits to learn from, {len(check_x)} to check on")

    config = FinetuneConfig()
    result = finetune(
        base_model_path=args.model,
        train_x=train_x,
        train_y=train_y,
        holdout_x=check_x,
        holdout_y=check_y,
        data=data,
        config=config,
        on_event=_report,
    )

    print_comparison(result.metrics)
    if not keeps_mnist(result.metrics["blend"], max_drop=config.max_check_drop):
        print("not written: the refined model reads the MNIST check images less well than the base")
        return 1

    output = save_model(result.model, args.output)
    summary = refined_summary(args.model, result, drawn=len(train_x))
    summary["refined"]["number_digits"] = args.number_digits
    output.with_suffix(".metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"saved {output} ({output.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
