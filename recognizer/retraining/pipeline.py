"""From corrections to a fine-tuned model and its metrics, without the ORM.

The service hands in arrays and settings and gets back the model, its
metrics and a summary; progress goes out as plain events, which
`event_log_line` turns into the job's log lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TrainingData:
    """Corrections as model inputs: the ones to train on and the ones held out for the gate."""

    train_x: np.ndarray
    train_y: np.ndarray
    holdout_x: np.ndarray
    holdout_y: np.ndarray

    @property
    def counts(self) -> tuple[int, int]:
        return len(self.train_y), len(self.holdout_y)


def retrain_model(
    *,
    base_model_path: Path,
    data: TrainingData,
    epochs: int,
    replay_images: int,
    time_limit_seconds: float | None,
    mnist_dir: str | None,
    on_event: Callable[[dict], None] | None = None,
):
    """Fine-tune the model at `base_model_path` on `data`; return the FinetuneResult."""
    from training.finetune import FinetuneConfig, finetune

    config = FinetuneConfig(epochs=epochs, replay_images=replay_images, time_limit_seconds=time_limit_seconds)
    return finetune(
        base_model_path=base_model_path,
        train_x=data.train_x,
        train_y=data.train_y,
        holdout_x=data.holdout_x,
        holdout_y=data.holdout_y,
        config=config,
        data_dir=mnist_dir,
        on_event=on_event,
    )


def metrics_summary(metrics: dict) -> dict:
    """The accuracies the job's progress shows: new and parent, on MNIST and the held-out corrections."""

    def accuracy(part: dict) -> dict:
        return {"accuracy": part.get("accuracy"), "count": part.get("count")}

    return {
        "mnist": accuracy(metrics["mnist"]),
        "holdout": accuracy(metrics["holdout"]),
        "parent_mnist": accuracy(metrics["parent"]["mnist"]),
        "parent_holdout": accuracy(metrics["parent"]["holdout"]),
    }


def event_log_line(event: dict) -> tuple[str, str, dict]:
    """Turn a fine-tuning event into (log line, stage, progress)."""
    stage = event["stage"]
    if "loss" in event:
        message = f"Epoch {event['epoch']}/{event['epochs']}: loss {event['loss']:.4f}, acc {event['accuracy']:.4f}."
        progress = {"stage": stage, **{key: event[key] for key in ("epoch", "epochs", "loss", "accuracy")}}
        return message, stage, progress
    return event.get("message") or f"{stage[:1].upper()}{stage[1:]}.", stage, event
