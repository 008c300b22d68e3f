"""Refining a model on pen-drawn digits: measured against its base, never written when worse on MNIST."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from training import refine


def _blend(base: float, share: float, tried: dict[float, float]) -> dict:
    return {"share": share, "base_accuracy": base, "tried": [{"share": s, "accuracy": a} for s, a in tried.items()]}


@pytest.mark.parametrize(
    ("blend", "kept"),
    [
        (_blend(0.9975, 0.75, {1.0: 0.9969, 0.75: 0.9972}), True),  # 3 of 10,000 lower, within 0.0005
        (_blend(0.9975, 0.5, {1.0: 0.9960, 0.75: 0.9965, 0.5: 0.9980}), True),
        (_blend(0.9975, 1.0, {1.0: 0.9960, 0.25: 0.9966}), False),  # no step kept it: the whole change, too low
        ({"share": 1.0, "note": "no check images"}, False),
    ],
)
def test_a_refined_model_is_kept_only_if_the_mnist_check_images_say_so(blend, kept):
    assert refine.keeps_mnist(blend, max_drop=0.0005) is kept


@pytest.mark.slow
def test_refine_compares_with_the_base_and_writes_only_a_model_that_keeps_mnist(tmp_path, capsys):
    output = tmp_path / "refined.keras"
    base = str(settings.RECOGNIZER["INITIAL_MODEL_PATH"])

    status = refine.main([base, "--output", str(output), "--sample", "--drawn", "60", "--check", "40"])

    printed = capsys.readouterr().out
    assert "60 drawn digits to learn from, 40 to check on" in printed
    assert "MNIST check images (decides)" in printed
    assert "MNIST test" in printed and "drawn digits (held out)" in printed
    assert "epoch 3/3" in printed
    if status == 1:
        assert "not written" in printed and not output.exists()
        return
    assert status == 0 and output.exists()
    summary = json.loads(output.with_suffix(".metrics.json").read_text())
    assert summary["test"]["count"] == 2000
    assert refine.keeps_mnist(summary["refined"]["blend"], max_drop=0.0005)
    assert summary["refined"]["drawn_digits"] == 60 and summary["refined"]["drawn_seed"] == refine.TRAIN_SEED
    assert summary["refined"]["drawn_check"]["seed"] == refine.CHECK_SEED != refine.TRAIN_SEED
    assert summary["refined"]["drawn_check"]["refined"]["count"] == 40
