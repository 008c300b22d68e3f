"""Refining a model on pen-drawn digits: measured against its base, never written when worse on MNIST."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from training import refine


@pytest.mark.slow
def test_refine_compares_with_the_base_and_writes_only_a_model_that_keeps_mnist(tmp_path, capsys):
    output = tmp_path / "refined.keras"
    base = str(settings.RECOGNIZER["INITIAL_MODEL_PATH"])

    status = refine.main([base, "--output", str(output), "--sample", "--drawn", "60", "--check", "40"])

    printed = capsys.readouterr().out
    assert "60 drawn digits to learn from, 40 to check on" in printed
    assert "MNIST test" in printed and "drawn digits (held out)" in printed
    assert "epoch 3/3" in printed
    if status == 1:
        assert "not written" in printed and not output.exists()
        return
    assert status == 0 and output.exists()
    summary = json.loads(output.with_suffix(".metrics.json").read_text())
    assert summary["test"]["count"] == 2000
    assert summary["test"]["accuracy"] >= summary["refined"]["base_test"]["accuracy"]
    assert summary["refined"]["drawn_digits"] == 60 and summary["refined"]["drawn_seed"] == refine.TRAIN_SEED
    assert summary["refined"]["drawn_check"]["seed"] == refine.CHECK_SEED != refine.TRAIN_SEED
    assert summary["refined"]["drawn_check"]["refined"]["count"] == 40
