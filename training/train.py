"""Train the digit CNN on MNIST.

    python -m training.train --data-dir ../shared/datasets/mnist --output model.keras

Reads top to bottom: options, data, augmentation, model, schedule, fit,
evaluation on the untouched test set, then the model and its metrics on disk.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.augment import augmented_batches
from training.data import Dataset, load_mnist, load_sample
from training.evaluate import evaluate_model, format_report
from training.model import build_model
from training.runtime import import_keras, import_tensorflow

DEFAULTS = {
    "epochs": 30,
    "batch_size": 128,
    "learning_rate": 2e-3,
    "seed": 1234,
    "val_size": 5000,
    "elastic": 0.0,
}


def share(text: str) -> float:
    """Parse a share of images, 0 to 1, for argparse."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train the digit CNN on MNIST.")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: $MNIST_DIR, else Keras download)")
    parser.add_argument("--sample", action="store_true", help="train on the small bundled sample (for smoke runs)")
    parser.add_argument("--output", default="model.keras", help="where to write the trained .keras model")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"])
    parser.add_argument(
        "--val-size", type=int, default=DEFAULTS["val_size"], help="training images held out for early stopping"
    )
    parser.add_argument("--patience", type=int, default=8, help="epochs without validation gain before stopping")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    parser.add_argument(
        "--elastic", type=share, default=DEFAULTS["elastic"], help="share of training images elastically warped"
    )
    parser.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    return parser.parse_args(argv)


def validation_indices(count: int, *, size: int = DEFAULTS["val_size"], seed: int = DEFAULTS["seed"]) -> np.ndarray:
    """Return the indices of the training images held out for validation: `size` (at most a tenth), by `seed`.

    With the defaults, the 5,000 images the shipped classifier never trained on.
    """
    return np.random.default_rng(seed).permutation(count)[: min(size, count // 10)]


def split_validation(data: Dataset, *, size: int, seed: int) -> tuple[tuple, tuple]:
    """Return (images, labels) for training and for validation: `size` (at most a tenth) picked by `seed`.

    Images come as float32 (N, 28, 28, 1), labels as they are stored.
    """
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    size = min(size, len(order) // 10)
    train_idx, val_idx = order[size:], order[:size]
    return (
        (data.x_train[train_idx, ..., None].astype("float32"), data.y_train[train_idx]),
        (data.x_train[val_idx, ..., None].astype("float32"), data.y_train[val_idx]),
    )


def compiled_model(*, train_images: int, args: argparse.Namespace):
    """Return a new model compiled for `args.epochs` over `train_images` images.

    The schedule: AdamW with a short warm-up, then cosine decay to ~0.
    """
    keras = import_keras()
    model = build_model()
    steps_per_epoch = int(np.ceil(train_images / args.batch_size))
    total_steps = steps_per_epoch * args.epochs
    warmup_steps = min(steps_per_epoch, total_steps // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=args.learning_rate,
        warmup_steps=warmup_steps,
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit(model, train_ds, val_ds, *, args: argparse.Namespace, checkpoint: Path):
    """Train `model`, keeping the best epoch by validation loss; return Keras's History.

    The best epoch by validation accuracy is also written to `checkpoint` as training goes.
    """
    keras = import_keras()

    callbacks = [
        keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_accuracy", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True),
    ]
    return model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        callbacks=callbacks,
        verbose=2 if args.quiet else 1,
        shuffle=False,  # the dataset reshuffles itself every epoch
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keras = import_keras()
    tf = import_tensorflow()
    keras.utils.set_random_seed(args.seed)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    # Data: hold out part of the training set for early stopping; the test set is only read once, after training.
    data = load_sample() if args.sample else load_mnist(args.data_dir)
    print(f"data: {data.source}: {len(data.x_train)} train, {len(data.x_test)} test images")
    (x_train, y_train), (x_val, y_val) = split_validation(data, size=args.val_size, seed=args.seed)

    # Augmentation runs in the input pipeline, on whole batches.
    train_ds = augmented_batches(x_train, y_train, batch_size=args.batch_size, seed=args.seed, elastic=args.elastic)
    val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(500)

    model = compiled_model(train_images=len(x_train), args=args)
    model.summary(print_fn=lambda line, **_: print(line))
    checkpoint = output.with_suffix(".best.keras")
    started = time.monotonic()
    history = fit(model, train_ds, val_ds, args=args, checkpoint=checkpoint)
    train_seconds = time.monotonic() - started

    # Evaluation on the test set, which training never saw.
    metrics = evaluate_model(model, data.x_test, data.y_test)
    print(format_report(metrics))
    model.save(output)
    checkpoint.unlink(missing_ok=True)
    summary = {
        "test": metrics,
        "data_source": data.source,
        "train_images": int(len(x_train)),
        "validation_images": int(len(x_val)),
        "epochs_run": len(history.history["loss"]),
        "history": {name: [round(float(v), 5) for v in values] for name, values in history.history.items()},
        "train_seconds": round(train_seconds, 1),
        "params": int(model.count_params()),
        "seed": args.seed,
        "elastic": args.elastic,
    }
    output.with_suffix(".metrics.json").write_text(json.dumps(summary, indent=2))
    print(f"saved {output} ({output.stat().st_size / 1e6:.2f} MB) after {train_seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
