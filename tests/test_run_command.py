"""`gradscale run --quick` end to end: the run folder it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]


def test_run_quick_writes_results_metadata_figures_and_report(tmp_path):
    folder = tmp_path / "run"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--quick", "--output", str(folder)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert finished.returncode == 0, finished.stderr
    for name in ("results.csv", "timings.csv", "metadata.json", "scaling.png", "scaling.svg"):
        assert (folder / name).stat().st_size > 0, name
    results = pd.read_csv(folder / "results.csv")
    assert set(results["provider"]) == {"backprop", "naive", "fd-forward", "fd-central"}
    measured = results[results["status"] == "ok"]
    assert (measured["multiplications"] == measured["predicted_multiplications"]).all()
    assert "growth with depth" in finished.stdout
    assert str(folder) in finished.stdout
