"""Fine-tuning on corrections: replay, the check set and the blend with the base model."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from training.data import load_sample
from training.finetune import (
    Deadline,
    FinetuneConfig,
    blend_with_base,
    choose_blend,
    finetune,
    split_check_and_replay,
    stop_at,
)
from training.robustness import outlined


def test_the_check_set_and_the_replay_sample_never_overlap():
    data = load_sample()
    check, replay = split_check_and_replay(data, FinetuneConfig(replay_images=1000, check_images=500))
    assert len(check) == 500 and len(replay) == 1000
    assert not set(check) & set(replay)


def test_a_small_training_set_still_keeps_a_fifth_for_the_check():
    data = load_sample()  # 3,000 training images, fewer than the default replay sample
    check, replay = split_check_and_replay(data, FinetuneConfig())
    assert len(check) == len(data.x_train) // 5
    assert len(replay) == len(data.x_train) - len(check)
    assert not set(check) & set(replay)


def test_the_split_is_fixed_by_the_seed():
    data = load_sample()
    first = split_check_and_replay(data, FinetuneConfig(replay_images=800, check_images=300))
    again = split_check_and_replay(data, FinetuneConfig(replay_images=800, check_images=300))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


def test_the_blend_keeps_the_largest_share_within_the_allowed_drop():
    config = FinetuneConfig(blend_steps=(1.0, 0.75, 0.5, 0.25), max_check_drop=0.0005)
    measured = []

    def accuracy_at(share: float) -> float:
        measured.append(share)
        return 0.998 - 0.002 * share**2  # forgetting grows with the share of the change kept

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


@pytest.fixture
def tiny_model():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.set_weights([np.full((2, 1), 4.0, np.float32), np.full((1,), 8.0, np.float32)])
    return model


def _share_of(model) -> float:
    """How much of the change from zeros to (4, 8) the tiny model's weights hold now."""
    return float(model.get_weights()[1][0] / 8.0)


@pytest.mark.parametrize(
    ("max_drop", "expected"),
    [(0.0005, 0.5), (-1.0, 1.0)],  # a share within the allowance; none, so the whole change after trying all
)
def test_the_model_is_left_with_the_chosen_blend_not_the_last_one_tried(tiny_model, max_drop, expected):
    config = FinetuneConfig(blend_steps=(1.0, 0.75, 0.5, 0.25), max_check_drop=max_drop)
    base = [np.zeros((2, 1), np.float32), np.zeros((1,), np.float32)]

    blend = blend_with_base(tiny_model, base, lambda model: 0.998 - 0.002 * _share_of(model) ** 2, config)

    assert blend["share"] == expected
    kernel, bias = tiny_model.get_weights()
    assert np.allclose(kernel, 4.0 * expected) and np.allclose(bias, 8.0 * expected)


@pytest.fixture(scope="module")
def small_finetune():
    data = load_sample()
    images = outlined(data.x_train[:120])
    labels = data.y_train[:120]
    return finetune(
        base_model_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
        train_x=images[:100],
        train_y=labels[:100],
        holdout_x=images[100:],
        holdout_y=labels[100:],
        config=FinetuneConfig(epochs=1, replay_images=1000, check_images=1000),
        data=data,
    )


def test_finetuning_records_the_blend_and_both_models_measurements(small_finetune):
    metrics = small_finetune.metrics
    blend = metrics["blend"]
    assert blend["check_images"] == small_finetune.counts["check_images"] == 600  # a fifth of 3,000
    assert small_finetune.counts["replay_images"] == 1000
    assert blend["share"] in FinetuneConfig().blend_steps
    assert small_finetune.counts["blend_share"] == blend["share"]
    for key in ("mnist", "holdout"):
        assert metrics[key]["count"] == metrics["parent"][key]["count"]
    assert metrics["holdout"]["count"] == 20


def test_the_returned_model_scores_the_chosen_blends_check_accuracy(small_finetune):
    from training.evaluate import evaluate_model

    data = load_sample()
    check, _ = split_check_and_replay(data, FinetuneConfig(epochs=1, replay_images=1000, check_images=1000))
    blend = small_finetune.metrics["blend"]
    chosen = next(row for row in blend["tried"] if row["share"] == blend["share"])
    assert evaluate_model(small_finetune.model, data.x_train[check], data.y_train[check])["accuracy"] == pytest.approx(
        chosen["accuracy"]
    )


def test_a_finetune_over_its_time_limit_stops_with_a_clear_error():
    data = load_sample()
    with pytest.raises(TimeoutError, match="time limit"):
        finetune(
            base_model_path=settings.RECOGNIZER["INITIAL_MODEL_PATH"],
            train_x=data.x_train[:20],
            train_y=data.y_train[:20],
            holdout_x=data.x_train[20:25],
            holdout_y=data.y_train[20:25],
            config=FinetuneConfig(epochs=1, replay_images=200, time_limit_seconds=0.0),
            data=data,
        )


def test_the_time_limit_stops_training_in_the_middle_of_an_epoch(tiny_model):
    import keras

    ticks = iter(range(1000))
    deadline = Deadline(2.5, started=0.0, clock=lambda: float(next(ticks)))  # expires on the 4th check
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    tiny_model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TimeoutError, match="time limit of 2 s"):
        tiny_model.fit(
            np.zeros((64, 2), np.float32),
            np.zeros((64, 1), np.float32),
            batch_size=4,
            epochs=1,
            verbose=0,
            callbacks=[Count(), stop_at(deadline.check)],
        )
    assert len(seen) == 4  # of 16 batches
