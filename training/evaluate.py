"""Measure a model on labelled digits: accuracy, per-class accuracy, confusion."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.model import NUM_CLASSES
from training.runtime import import_keras


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Return the 10x10 matrix counting true label (row) against prediction (column)."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def metrics_from_predictions(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Summarise predictions as plain JSON-ready numbers."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    matrix = confusion_matrix(y_true, y_pred)
    per_class_total = matrix.sum(axis=1)
    per_class = [float(matrix[d, d] / per_class_total[d]) if per_class_total[d] else None for d in range(NUM_CLASSES)]
    count = int(len(y_true))
    return {
        "count": count,
        "accuracy": float((y_true == y_pred).mean()) if count else None,
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def predict_probabilities(model, images: np.ndarray, *, served: bool = True, batch_size: int = 500) -> np.ndarray:
    """Run `model` over uint8 (N, 28, 28) images; return (N, 10) floats.

    By default this measures the copy the service runs (see
    `training.serving`); `served=False` runs the float Keras model itself.
    `model` may also be a `ServingModel` already exported.
    """
    from training.serving import ServingModel

    if isinstance(model, ServingModel):
        return model.predict_probabilities(images)
    if served:
        return ServingModel.from_keras(model).predict_probabilities(images)

    # Keras compiles `predict` once per model and reuses it, also after its weights change.
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28, 1)
    if not len(images):
        return np.zeros((0, NUM_CLASSES), np.float32)
    return model.predict(images, batch_size=batch_size, verbose=0)


def evaluate_model(model, images: np.ndarray, labels: np.ndarray, *, served: bool = True) -> dict:
    """Predict `images` with `model` (as served, unless `served=False`) and compare with `labels`."""
    probabilities = predict_probabilities(model, images, served=served)
    return metrics_from_predictions(labels, probabilities.argmax(axis=1))


def format_report(metrics: dict) -> str:
    """Render metrics as the text `evaluate_model` prints."""
    lines = [f"accuracy: {metrics['accuracy']:.4f}", f"images: {metrics['count']}", "per-class accuracy:"]
    for digit, value in enumerate(metrics["per_class_accuracy"]):
        lines.append(f"  {digit}: {'n/a' if value is None else f'{value:.4f}'}")
    lines.append("confusion matrix (rows: true digit, columns: predicted):")
    lines.append("      " + " ".join(f"{d:>5}" for d in range(NUM_CLASSES)))
    for digit, row in enumerate(metrics["confusion_matrix"]):
        lines.append(f"  {digit}:  " + " ".join(f"{v:>5}" for v in row))
    return "\n".join(lines)


def plot_metrics(metrics: dict, path: str | Path, title: str = "") -> None:
    """Draw per-class accuracy and the confusion matrix into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(metrics["confusion_matrix"])
    errors = matrix.copy()
    np.fill_diagonal(errors, 0)
    figure, (bars, grid) = plt.subplots(1, 2, figsize=(11, 4.5))
    per_class = [v or 0.0 for v in metrics["per_class_accuracy"]]
    bars.bar(range(NUM_CLASSES), per_class, color="#3b6fd4")
    low = max(0.0, min(per_class) - 0.01)
    bars.set_ylim(low, 1.0)
    bars.set_xticks(range(NUM_CLASSES))
    bars.set_xlabel("digit")
    bars.set_title("per-class accuracy")
    image = grid.imshow(errors, cmap="Reds")
    for (row, col), value in np.ndenumerate(matrix):
        if value:
            grid.text(
                col, row, str(value), ha="center", va="center", fontsize=7, color="black" if row != col else "#1a7f37"
            )
    grid.set_xticks(range(NUM_CLASSES))
    grid.set_yticks(range(NUM_CLASSES))
    grid.set_xlabel("predicted")
    grid.set_ylabel("true")
    grid.set_title("confusion matrix (errors shaded)")
    figure.colorbar(image, ax=grid, fraction=0.046)
    figure.suptitle(title or f"accuracy {metrics['accuracy']:.4f} on {metrics['count']} images")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Evaluate a saved model on the MNIST test set from the command line."""
    from training.data import load_best_available, load_mnist

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="path to a .keras file")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR)")
    parser.add_argument("--sample", action="store_true", help="use the bundled sample, no download")
    parser.add_argument("--json", help="write the metrics here")
    parser.add_argument("--plot", help="write a PNG plot here")
    parser.add_argument("--float", action="store_true", help="run the float Keras model, not the served copy")
    args = parser.parse_args(argv)

    keras = import_keras()
    data = load_best_available(args.data_dir) if args.sample else load_mnist(args.data_dir)
    model = keras.models.load_model(args.model)
    metrics = evaluate_model(model, data.x_test, data.y_test, served=not args.float)
    print(format_report(metrics))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2))
    if args.plot:
        plot_metrics(metrics, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
