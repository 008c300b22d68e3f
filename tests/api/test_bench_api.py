import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_api_measures_the_api_and_the_baseline_in_one_run():
    # Its own process: the command makes and drops its own throwaway database.
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "digitsite.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "bench_api", "--requests", "3", "--warmup", "1"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "POST /api/v1/submissions/ (product)" in result.stdout
    assert "POST naive model.predict view (baseline)" in result.stdout
    assert "baseline / product at the median:" in result.stdout
    assert "POST /api/v1/submissions/, 8-digit number" in result.stdout
    assert "8-digit number / one digit at the median:" in result.stdout
