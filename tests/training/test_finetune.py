"""Fine-tuning on corrections: replay, the check set and the blend with the base model."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from training.data import load_sample
from training.finetune import FinetuneConfig, check_sample, choose_blend, finetune, outlined, replay_sample


def test_the_check_set_never_overlaps_the_replay_sample():
    data = load_sample()
    config = FinetuneConfig(replay_images=1000, check_images=500)
    replay_x, _ = replay_sample(data, config.replay_images, config.seed)
    check_x, check_y = check_sample(data, config)
    assert len(check_x) == len(check_y) == 500
    replayed = {image.tobytes() for image in replay_x}
    assert not any(image.tobytes() in replayed for image in check_x)


def test_with_every_training_image_replayed_there_is_no_check_set():
    data = load_sample()
    check_x, _ = check_sample(data, FinetuneConfig(replay_images=len(data.x_train)))
    assert len(check_x) == 0


def test_the_blend_keeps_the_largest_share_within_the_allowed_drop():
    config = FinetuneConfig(blend_steps=(1.0, 0.75, 0.5, 0.25), max_check_drop=0.0005)
    # Forgetting grows with the share of the change kept.
    measured = []

    def accuracy_at(share: float) -> float:
        measured.append(share)
        return 0.998 - 0.002 * share**2

    blend = choose_blend(accuracy_at, config)
    assert blend["share"] == 0.5
    assert blend["base_accuracy"] == 0.998
    assert [row["share"] for row in blend["tried"]] == [1.0, 0.75, 0.5]
    assert measured == [0.0, 1.0, 0.75, 0.5]


def test_when_no_share_keeps_the_check_accuracy_the_whole_change_goes_to_the_gate():
    blend = choose_blend(lambda share: 0.99 - 0.01 * share, FinetuneConfig(blend_steps=(1.0, 0.5)))
    assert blend["share"] == 1.0
    assert len(blend["tried"]) == 2
    assert "note" in blend


def test_a_change_that_costs_nothing_is_kept_whole():
    assert choose_blend(lambda share: 0.99, FinetuneConfig())["share"] == 1.0


@pytest.fixture(scope="module")
def small_finetune():
    data = load_sample()
    images = outlined(data.x_train[:120])
    labels = data.y_train[:120]
    config = FinetuneConfig(epochs=1, replay_images=1000, check_images=1000)
    return finetune(
        base_model_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
        train_x=images[:100],
        train_y=labels[:100],
        holdout_x=images[100:],
        holdout_y=labels[100:],
        config=config,
        data=data,
    )


def test_finetuning_records_the_blend_and_both_models_measurements(small_finetune):
    metrics = small_finetune.metrics
    blend = metrics["blend"]
    assert blend["check_images"] == 1000
    assert blend["share"] in FinetuneConfig().blend_steps
    chosen = next(row for row in blend["tried"] if row["share"] == blend["share"])
    assert blend["base_accuracy"] - chosen["accuracy"] <= FinetuneConfig().max_check_drop
    assert small_finetune.counts["blend_share"] == blend["share"]
    for key in ("mnist", "holdout"):
        assert metrics[key]["count"] == metrics["parent"][key]["count"]
    assert metrics["holdout"]["count"] == 20


def test_the_returned_model_is_the_chosen_blend(small_finetune):
    import keras

    from training.evaluate import evaluate_model

    config = FinetuneConfig(epochs=1, replay_images=1000, check_images=1000)
    check_x, check_y = check_sample(load_sample(), config)
    blend = small_finetune.metrics["blend"]
    chosen = next(row for row in blend["tried"] if row["share"] == blend["share"])
    assert evaluate_model(small_finetune.model, check_x, check_y, served=False)["accuracy"] == chosen["accuracy"]
    base = keras.models.load_model(settings.RECOGNIZER["INITIAL_MODEL_PATH"], compile=False)
    pairs = zip(small_finetune.model.get_weights(), base.get_weights(), strict=True)
    assert max(float(np.abs(new - old).max()) for new, old in pairs) > 0  # it learned something
