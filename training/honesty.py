"""How honest a classifier and its detector are: the measures issue 12 asks for, on sets they never trained on.

    python -m training.honesty CLASSIFIER.keras DETECTOR.keras --threshold T --data-dir ../shared/datasets/mnist

Reports, on the served copies (what the service runs): MNIST test accuracy
(the verdict ignored) and the share of MNIST test digits flagged; the share
flagged of other digits (MNIST test digits re-drawn the ways people send
them, printed digits, pen-drawn check digits; digits in handwriting fonts, with their accuracy,
when the fonts are installed); per kind of non-digit drawn
from check styles the detector never trained on, the share flagged and the
AUROC of the detector's `digit` probability against MNIST test digits;
Fashion-MNIST (never trained on) when installed; several-digit rows flagged
`several_digits`; and the calibration error (ECE, 15 bins) before and after
the temperature fitted on the MNIST validation images.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np

from training import outliers
from training.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_bins
from training.data import Dataset, load_fashion_test, load_mnist, load_sample
from training.detector import DIGIT, SEVERAL_DIGITS, verdicts
from training.drawn_digits import drawn_inputs
from training.font_digits import font_digits
from training.preprocessing import ImageRejected, preprocess_bytes
from training.reports import print_report
from training.robustness import preprocessed, renderings
from training.train import split_validation

CHECK_SEED = 0
NON_DIGIT_KINDS = ("letters", "symbols", "shapes", "scribbles", "glyphs", "noise", "marks", "partial", "crops")

Predict = Callable[[np.ndarray], np.ndarray]


def auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Return the chance a random positive scores above a random negative (ties count half)."""
    scores = np.concatenate([positives, negatives])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average the ranks of ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    positive_ranks = ranks[: len(positives)].sum()
    return float((positive_ranks - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))


def flagged_share(detect: Predict, inputs: np.ndarray, threshold: float) -> float:
    is_digit, _reasons = verdicts(detect(inputs), threshold=threshold)
    return float(1 - is_digit.mean())


def _rendered_test_digits(data: Dataset, count: int) -> dict[str, np.ndarray]:
    """MNIST test digits re-drawn each way people send them, preprocessed (refused ones left out)."""
    rng = np.random.default_rng(CHECK_SEED)
    pick = rng.choice(len(data.x_test), size=min(count, len(data.x_test)), replace=False)
    out = {}
    for name, make in renderings(rng).items():
        inputs = []
        for pixels in data.x_test[pick]:
            try:
                inputs.append(preprocess_bytes(make(pixels)))
            except ImageRejected:
                continue
        out[name] = np.stack(inputs)
    return out


def digit_report(classify: Predict, detect: Predict, data: Dataset, threshold: float, count: int = 1000) -> dict:
    """Accuracy and the share flagged on MNIST test (all of it), and of `count` other real digits of each kind."""
    probabilities = classify(data.x_test)
    report = {
        "mnist_test_accuracy": float((probabilities.argmax(1) == data.y_test).mean()),
        "mnist_test_flagged": flagged_share(detect, data.x_test, threshold),
        "drawn_digits_flagged": flagged_share(detect, drawn_inputs(count, seed=CHECK_SEED)[0], threshold),
    }
    # Half as many per rendering: there are eight renderings, and each picture costs an encode and a decode.
    rendered = _rendered_test_digits(data, max(1, count // 2))
    report["rendered_flagged"] = {name: flagged_share(detect, x, threshold) for name, x in rendered.items()}
    return report


def font_digit_report(classify: Predict, detect: Predict, threshold: float, count: int) -> dict | None:
    """Accuracy and the share flagged of `count` digits in handwriting fonts; None when none are installed."""
    try:
        images, labels, _fonts = font_digits(count, CHECK_SEED)
    except FileNotFoundError:
        return None
    inputs, kept = preprocessed(images, labels)  # a refused one is neither right nor flagged: see "refused"
    inputs = np.stack(inputs)
    right = classify(inputs).argmax(axis=1) == np.array(kept)
    return {
        "count": len(images),
        "refused": len(images) - len(inputs),
        "accuracy": float(right.sum() / len(images)),
        "flagged": flagged_share(detect, inputs, threshold),
    }


def non_digit_report(detect: Predict, data: Dataset, threshold: float, count: int) -> dict:
    """Per kind of non-digit from check styles: the share flagged and the AUROC against MNIST test digits."""
    digit_scores = detect(data.x_test)[:, DIGIT]
    rows = {}
    for kind in NON_DIGIT_KINDS:
        inputs = outliers.outlier_inputs(kind, count, CHECK_SEED, styles="check")
        scores = detect(inputs)[:, DIGIT]
        rows[kind] = {
            "count": int(len(inputs)),
            "flagged": float((scores < threshold).mean()),
            "auroc": auroc(digit_scores, scores),
        }
    ambiguous = outliers.outlier_inputs("letters", count, CHECK_SEED, styles="all", ambiguous="only")
    rows["ambiguous letters (reported apart)"] = {
        "count": int(len(ambiguous)),
        "flagged": flagged_share(detect, ambiguous, threshold),
    }
    fashion = load_fashion_test()
    if fashion is not None:
        scores = detect(fashion)[:, DIGIT]
        rows["fashion-mnist test"] = {
            "count": int(len(fashion)),
            "flagged": float((scores < threshold).mean()),
            "auroc": auroc(digit_scores, scores),
        }
    return rows


def several_report(detect: Predict, data: Dataset, threshold: float, count: int) -> dict:
    """Several-digit rows (check styles; MNIST training digits and drawn ones): flagged, and flagged as several."""
    (x_train, _), _ = split_validation(data, size=5000, seed=1234)
    inputs = outliers.outlier_inputs(
        "several", count, CHECK_SEED, styles="check", mnist_train=x_train[..., 0].astype(np.uint8)
    )
    is_digit, reasons = verdicts(detect(inputs), threshold=threshold)
    return {
        "count": int(len(inputs)),
        "flagged": float(1 - is_digit.mean()),
        "flagged_several": float(np.mean([reason == "several_digits" for reason in reasons])),
        "mean_several_probability": float(detect(inputs)[:, SEVERAL_DIGITS].mean()),
    }


def calibration_report(classify: Predict, data: Dataset, *, temperature: float | None = None) -> dict:
    """The ECE on MNIST test before and after calibration, with `temperature` or one fitted on MNIST validation."""
    if temperature is None:
        (_, _), (x_val, y_val) = split_validation(data, size=5000, seed=1234)
        temperature = fit_temperature(classify(x_val[..., 0]), y_val)
    test = classify(data.x_test)
    calibrated = apply_temperature(test, temperature)
    return {
        "temperature": temperature,
        "ece_before": expected_calibration_error(test, data.y_test),
        "ece_after": expected_calibration_error(calibrated, data.y_test),
        "reliability": reliability_bins(calibrated, data.y_test),
    }


def honesty_report(
    classify: Predict, detect: Predict, data: Dataset, *, threshold: float, count: int, temperature: float | None = None
) -> dict:
    """Every measure above, for one classifier and its detector."""
    return {
        "digits": digit_report(classify, detect, data, threshold, count),
        "font_digits": font_digit_report(classify, detect, threshold, count),
        "non_digits": non_digit_report(detect, data, threshold, count),
        "several": several_report(detect, data, threshold, count),
        "calibration": calibration_report(classify, data, temperature=temperature),
    }


def main(argv: list[str] | None = None) -> int:
    from training.serving import ServingModel

    parser = argparse.ArgumentParser(description="Measure a classifier and its detector on sets they never saw.")
    parser.add_argument("classifier")
    parser.add_argument("detector")
    parser.add_argument("--threshold", type=float, required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--sample", action="store_true")
    parser.add_argument("--count", type=int, default=1000, help="pictures per kind of non-digit and of real digit")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    classifier = ServingModel.from_keras_file(args.classifier)
    detector = ServingModel.from_keras_file(args.detector)
    data = load_sample() if args.sample else load_mnist(args.data_dir)
    report = honesty_report(
        classifier.predict_probabilities,
        detector.predict_probabilities,
        data,
        threshold=args.threshold,
        count=args.count,
    )
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
