"""The depth sweep: planning, budget, isolation, interruption and resumption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.sweep import (
    Cell,
    SweepConfig,
    load_results,
    plan_cells,
    predict_seconds,
    run_sweep,
)
from gradients import Provider, get_provider, register_provider, unregister_provider

PROJECT = Path(__file__).resolve().parents[1]
FAST = {"min_measure_s": 1e-4, "warmup_s": 0.0, "min_sampling_s": 0.0}
TINY = SweepConfig(providers=("backprop", "naive"), depths=(1, 2, 3), repeats=3, **FAST)


def test_plan_interleaves_providers_within_each_depth_and_rotates_their_order():
    config = SweepConfig(providers=("a", "b", "c"), depths=(1, 2, 3), widths=(2,))
    cells = plan_cells(config)

    assert [c.provider for c in cells if c.depth == 1] == ["a", "b", "c"]
    assert [c.provider for c in cells if c.depth == 2] == ["b", "c", "a"]
    assert [c.provider for c in cells if c.depth == 3] == ["c", "a", "b"]
    assert len(set(cell.key for cell in cells)) == 9


@pytest.mark.parametrize(
    ("measured", "multiplications", "expected"),
    [
        ([], 10**9, 0.1),  # nothing measured: the optimistic 1e-10 s per multiplication
        ([{"status": "ok", "median_s": 2.0, "multiplications": 100}], 300, 6.0),
        # 1 s + 1e-2 s per multiplication fits both points; 400 multiplications: 5 s.
        (
            [
                {"status": "ok", "median_s": 2.0, "multiplications": 100},
                {"status": "ok", "median_s": 3.0, "multiplications": 200},
            ],
            400,
            5.0,
        ),
        # Work too close together to separate overhead from rate: scaled from the last.
        (
            [
                {"status": "ok", "median_s": 2.0, "multiplications": 100},
                {"status": "ok", "median_s": 3.0, "multiplications": 110},
            ],
            220,
            6.0,
        ),
    ],
)
def test_predict_seconds_from_previous_depths(measured, multiplications, expected):
    assert predict_seconds(measured, multiplications) == pytest.approx(expected)


def test_a_naive_cell_at_width_64_and_depth_30_is_refused_at_once_with_its_prediction(
    tmp_path,
):
    config = SweepConfig(providers=("naive",), widths=(64,), depths=(30,), budget_s=10.0)

    started = time.perf_counter()
    state = run_sweep(config, tmp_path / "run")
    elapsed_s = time.perf_counter() - started

    (row,) = state.rows
    assert row["status"] == "skipped"
    assert "exceeds the budget" in row["reason"]
    naive = get_provider("naive")
    expected = naive.predict_counts((64, *[64] * 30, 10), 1).multiplications
    assert row["predicted_multiplications"] == expected > 10**50
    assert elapsed_s < 5.0  # it never started the work (which would take longer than the universe)


def test_a_provider_past_its_budget_stops_and_its_deeper_cells_are_recorded_as_skipped(
    tmp_path,
):
    config = SweepConfig(
        providers=("backprop", "naive"),
        depths=(1, 2, 3, 4, 12, 13),
        budget_s=0.01,
        repeats=3,
        **FAST,
    )
    results, _, _ = load_results(run_sweep(config, tmp_path / "run").folder)

    naive = results[results["provider"] == "naive"].set_index("depth")
    assert naive.loc[1, "status"] == "ok"
    assert naive.loc[13, "status"] == "skipped"
    first_skip = naive.index[naive["status"] == "skipped"].min()
    assert (naive.loc[first_skip:, "status"] == "skipped").all()
    assert (results[results["provider"] == "backprop"]["status"] == "ok").all()


def test_every_measured_cell_records_counts_equal_to_its_prediction_and_its_check(tmp_path):
    state = run_sweep(TINY, tmp_path / "run")
    results, timings, metadata = load_results(state.folder)

    assert (results["status"] == "ok").all()
    assert (results["multiplications"] == results["predicted_multiplications"]).all()
    naive = results[results["provider"] == "naive"]
    assert (naive["max_rel_diff"] < 1e-12).all()
    assert len(timings) == results["repeats"].sum()
    assert metadata["status"] == "complete"
    assert metadata["config"]["sweep"]["depths"] == [1, 2, 3]


class _Sleeper(Provider):
    name = "test-sleeper"

    def compute(self, network, loss, inputs, targets):
        time.sleep(60)

    def predict_counts(self, layer_sizes, batch_size, *, bias=True):
        return get_provider("backprop").predict_counts(layer_sizes, batch_size, bias=bias)


@pytest.fixture
def sleeper():
    register_provider(_Sleeper.name, _Sleeper)
    yield _Sleeper.name
    unregister_provider(_Sleeper.name)


def test_a_cell_that_overruns_the_hard_limit_is_killed_and_recorded_as_timed_out(
    tmp_path, sleeper
):
    config = SweepConfig(providers=(sleeper,), depths=(1, 2), hard_limit_s=1.0)

    started = time.perf_counter()
    state = run_sweep(config, tmp_path / "run")

    assert time.perf_counter() - started < 10
    assert [row["status"] for row in state.rows] == ["timed out", "skipped"]
    assert "hard limit of 1 s" in state.rows[0]["reason"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sweep_command(folder: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "bench.cli", "run", "--output", str(folder), "--no-report",
        "--providers", "backprop,fd-forward,fd-central", "--depths", "1-40", "--repeats", "3",
        "--quick",
        *extra,
    ]  # fmt: skip


def test_an_interrupted_sweep_keeps_its_cells_and_resumes_without_repeating_any(tmp_path):
    folder = tmp_path / "run"
    process = subprocess.Popen(
        _sweep_command(folder),
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As at a terminal: a shell's background job inherits SIGINT ignored, and Python then
        # keeps ignoring it, which is not the Ctrl-C this test is about.
        preexec_fn=_default_sigint,
    )
    results_file = folder / "results.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sweep ended before it could be interrupted"
        if results_file.exists() and len(pd.read_csv(results_file)) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "--resume" in stderr and str(folder) in stderr
    kept = pd.read_csv(results_file)
    assert 2 <= len(kept) < 120
    assert json.loads((folder / "metadata.json").read_text())["status"] == "interrupted"

    resumed = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--resume", str(folder), "--no-report"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    results, _, metadata = load_results(folder)
    assert metadata["status"] == "complete"
    assert len(results) == 120
    assert not results.duplicated(["provider", "width", "depth"]).any()
    before = kept.set_index(["provider", "width", "depth"])["median_s"]
    after = results.set_index(["provider", "width", "depth"]).loc[before.index, "median_s"]
    assert (before == after).all()  # finished cells were kept, not measured again


def test_sigterm_is_an_interruption_too(tmp_path):
    folder = tmp_path / "run"
    process = subprocess.Popen(
        _sweep_command(folder), cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (folder / "results.csv").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)

    assert process.returncode == 130
    assert json.loads((folder / "metadata.json").read_text())["status"] == "interrupted"
    pd.read_csv(folder / "results.csv")


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("provider,width\nnaive,2\n", "missing columns"),
        ("", "empty"),
    ],
)
def test_resuming_from_a_broken_results_file_is_refused_with_the_file_named(
    tmp_path, broken, message
):
    state = run_sweep(TINY, tmp_path / "run")
    (state.folder / "results.csv").write_text(broken)

    with pytest.raises(ValueError, match=message) as error:
        run_sweep(TINY, state.folder, resume=True)
    assert "results.csv" in str(error.value)


def test_resuming_a_folder_without_metadata_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises((ValueError, FileNotFoundError), match="metadata.json"):
        run_sweep(TINY, tmp_path / "run", resume=True)


def test_the_cell_key_names_provider_width_and_depth():
    assert Cell("naive", 2, 5).key == ("naive", 2, 5)


def test_the_sweep_leaves_no_temporary_files_behind(tmp_path):
    state = run_sweep(TINY, tmp_path / "run")
    names = sorted(os.listdir(state.folder))
    assert names == ["metadata.json", "results.csv", "sweep.json", "timings.csv"]


@pytest.mark.parametrize(
    ("median_s", "predicted_s", "n_measured", "expected"),
    [
        (0.002, 0.001, 2, True),  # twice the prediction of two measured depths
        (0.0014, 0.001, 2, False),  # within the factor
        (0.002, 0.001, 1, False),  # one measured depth predicts too little to judge by
        (0.6, 0.1, 5, False),  # a slow cell outlasts the machine's slow spells
    ],
)
def test_only_a_fast_cell_far_slower_than_its_neighbours_predict_is_measured_again(
    median_s, predicted_s, n_measured, expected
):
    from bench.sweep import _surprisingly_slow

    measured = [{"status": "ok"}] * n_measured
    assert _surprisingly_slow(median_s, predicted_s, measured) is expected
