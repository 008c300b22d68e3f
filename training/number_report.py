"""How well the service reads written numbers: exact matches by length and spacing, digits, wrong lengths.

The numbers come from `training.numbers` with check seeds: pen-drawn digits
and MNIST *training* digits (the test set stays for single digits), in rows
separated, close and touching, as canvas exports, files and photos. Each is
read the way the service reads it: `training.segmentation` finds the digits
(the classifier choosing where touching ones are cut), then the classifier
reads them in one batch.

    python -m training.number_report training/artifacts/digit_cnn_v1.keras \
        training/artifacts/digit_detector_v2.keras --data-dir ../shared/datasets/mnist

With `--fonts` it reads numbers in handwriting fonts instead (`training.font_digits`): other people's hands,
typed with the font's own spacing or placed like the others.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from training.data import load_mnist, load_sample
from training.detector import DIGIT
from training.font_digits import font_numbers
from training.numbers import WrittenNumber, written_numbers
from training.preprocessing import ImageRejected
from training.reports import print_report
from training.segmentation import segment_bytes

CHECK_SEED = 0
Predict = Callable[[np.ndarray], np.ndarray]


def one_digit_score(classify: Predict, detect: Predict) -> Callable[[np.ndarray], np.ndarray]:
    """Return how well each input reads as one digit: the classifier's confidence times the detector's."""
    return lambda pixels: classify(pixels).max(axis=1) * detect(pixels)[:, DIGIT]


def read_number(data: bytes, classify: Predict, detect: Predict) -> str:
    """Return the digits the service would read in a picture ("" when it finds none)."""
    try:
        crops = segment_bytes(data, score=one_digit_score(classify, detect))
    except ImageRejected:
        return ""
    probabilities = classify(np.stack([crop.pixels for crop in crops]))
    return "".join(str(int(digit)) for digit in probabilities.argmax(axis=1))


def _share(hits: list[bool]) -> float:
    return round(float(np.mean(hits)), 4) if hits else float("nan")


def number_report(classify: Predict, detect: Predict, numbers: list[WrittenNumber]) -> dict:
    """Exact-match accuracy overall, by length, by spacing and by rendering; per-digit accuracy; wrong lengths."""
    exact: dict[str, list[bool]] = defaultdict(list)
    digits_right, wrong_length = [], []
    for number in numbers:
        read = read_number(number.data, classify, detect)
        hit = read == number.digits
        for key in ("all", f"length {len(number.digits)}", number.layout, number.rendering, number.source):
            exact[key].append(hit)
        wrong_length.append(len(read) != len(number.digits))
        if len(read) == len(number.digits):
            digits_right += [a == b for a, b in zip(read, number.digits, strict=True)]
    return {
        "numbers": len(numbers),
        "exact_match": {key: _share(hits) for key, hits in sorted(exact.items())},
        "digit_accuracy_where_length_right": _share(digits_right),
        "wrong_length": _share(wrong_length),
    }


def main(argv: list[str] | None = None) -> int:
    from training.serving import ServingModel

    parser = argparse.ArgumentParser(description="Measure how well a classifier reads written numbers.")
    parser.add_argument("classifier")
    parser.add_argument("detector")
    parser.add_argument("--data-dir")
    parser.add_argument("--sample", action="store_true")
    parser.add_argument("--count", type=int, default=900, help="numbers to read")
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument(
        "--fonts", action="store_true", help="read numbers in handwriting fonts (training.font_digits) instead"
    )
    args = parser.parse_args(argv)
    classifier = ServingModel.from_keras_file(args.classifier)
    detector = ServingModel.from_keras_file(args.detector)
    if args.fonts:
        numbers = font_numbers(args.count, CHECK_SEED)
    else:
        data = load_sample() if args.sample else load_mnist(args.data_dir)
        numbers = written_numbers(args.count, CHECK_SEED, mnist_train=(data.x_train, data.y_train))
    report = number_report(classifier.predict_probabilities, detector.predict_probabilities, numbers)
    print_report(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
