"""REPORT.md of a run folder: its sections, claims and figures, the extra measurements run
once and then reused, the command line, and field case C12 on the claim figures.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench.report as report
from bench.claims import Sweep
from bench.cli import main
from bench.commands.run import finish
from bench.experiments import quadratic
from bench.figures import depth_figure
from bench.logplot import left_out_notes
from bench.sweep import RESULT_COLUMNS, TIMING_COLUMNS, SweepConfig, load_results, run_sweep

# Two repeats a cell keep the fits on regression intervals, which are quick to compute; the
# bootstrap intervals are the claims tests' business.
TINY = SweepConfig(
    providers=("backprop", "naive", "fd-forward", "fd-central"), widths=(2,),
    depths=(1, 2, 3, 4, 5), budget_s=0.05, repeats=2, min_measure_s=1e-4, warmup_s=0.0,
    min_sampling_s=0.0,
)  # fmt: skip
FIGURE_LINK = re.compile(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)")
SVG_LINK = re.compile(r"\[SVG\]\((figures/[^)]+\.svg)\)")


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep") / "tiny"
    run_sweep(TINY, folder)
    return folder


@pytest.fixture
def run_folder(swept, tmp_path) -> Path:
    """A fresh copy of the tiny run, so each test writes its own report and extras."""
    return Path(shutil.copytree(swept, tmp_path / "run"))


@pytest.fixture(scope="module")
def reported(swept, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the tiny run with its report written without extras, and the report."""
    folder = Path(shutil.copytree(swept, tmp_path_factory.mktemp("reported") / "run"))
    path = report.write_report(folder, extras=report.SKIP)
    assert path == folder / "REPORT.md"
    return folder, path.read_text(encoding="utf-8")


def short_quadratic_experiment(calls: list) -> report.Experiment:
    def run():
        calls.append(1)
        return quadratic.run(rates=(0.5, 1.0, 1.1), max_updates=60)

    return report.Experiment("quadratic", run, quadratic.plot, "x² trajectories")


def test_a_report_without_extras_has_every_section_and_all_seven_claims(reported):
    _, text = reported

    for heading in ("## Machine and versions", "## Configuration", "## Claims", "## Results"):
        assert heading in text
    table = text.split("## Claims")[1].split("###")[0]
    table_rows = [line for line in table.splitlines() if re.match(r"\| [1-7] \|", line)]
    assert len(table_rows) == 7
    for number in range(1, 8):
        assert f"### {number}. " in text
    for number in (6, 7):
        section = text.split(f"### {number}. ")[1].split("### ")[0]
        assert "undecided" in section and "not measured" in section


def test_every_figure_the_report_shows_exists_as_png_and_svg(reported):
    run_folder, text = reported

    pngs, svgs = FIGURE_LINK.findall(text), SVG_LINK.findall(text)
    assert len(pngs) >= 4 and len(svgs) == len(pngs)
    for link in pngs + svgs:
        assert (run_folder / link).stat().st_size > 0, link


def test_writing_the_report_leaves_no_temporary_file(reported):
    run_folder, _ = reported

    leftovers = [p.name for p in run_folder.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_missing_experiments_run_once_then_are_reused_until_asked_to_rerun(
    run_folder, monkeypatch
):
    calls = []
    monkeypatch.setattr(report, "EXPERIMENTS", (short_quadratic_experiment(calls),))

    def frames(extras: str) -> tuple[dict, dict]:
        return report.experiment_frames(run_folder, extras, lambda message: None)

    _, first = frames(report.RUN)
    reused, second = frames(report.RUN)
    _, third = frames(report.RERUN)

    assert first["quadratic"] == "run now into experiments/quadratic.csv"
    assert second["quadratic"] == "reused from experiments/quadratic.csv"
    assert third["quadratic"] == first["quadratic"]
    assert len(calls) == 2
    assert set(reused["quadratic"]["learning_rate"]) == {0.5, 1.0, 1.1}


def test_reuse_and_skip_run_no_experiment_and_mark_it_not_run(run_folder, monkeypatch):
    calls = []
    monkeypatch.setattr(report, "EXPERIMENTS", (short_quadratic_experiment(calls),))

    for extras in (report.REUSE, report.SKIP):
        frames, provenance = report.experiment_frames(run_folder, extras, lambda m: None)
        assert frames == {} and provenance == {"quadratic": "not run"}
    assert calls == []


def test_the_missing_claim_widths_are_swept_for_naive_and_backprop_once(run_folder):
    results, _, metadata = load_results(run_folder)

    def extra(extras: str):
        return report.extra_sweep(run_folder, results, metadata, extras, lambda m: None)

    (first, _), first_note = extra(report.RUN)
    stamp = (run_folder / report.EXTRA_SWEEP_FOLDER / "results.csv").stat().st_mtime_ns
    (second, _), second_note = extra(report.RUN)
    skipped, skipped_note = extra(report.SKIP)
    _, extra_metadata = load_results(run_folder / report.EXTRA_SWEEP_FOLDER)[1:]

    assert set(first["provider"]) == {"naive", "backprop"}
    assert set(first["width"]) == {3, 4}
    assert first_note.startswith("run now") and second_note.startswith("reused")
    assert len(second) == len(first)
    assert (run_folder / report.EXTRA_SWEEP_FOLDER / "results.csv").stat().st_mtime_ns == stamp
    assert extra_metadata["config"]["sweep"]["budget_s"] == TINY.budget_s
    assert skipped is None and "3, 4 not measured" in skipped_note


def test_unknown_extras_mode_is_refused_with_the_choices(run_folder):
    with pytest.raises(ValueError, match="`extras` must be one of"):
        report.write_report(run_folder, extras="sometimes")


def test_the_report_command_prints_the_seven_verdicts(run_folder, capsys):
    code = main(["report", str(run_folder), "--no-extra"])
    out = capsys.readouterr().out

    assert code == 0
    verdict_lines = [line for line in out.splitlines() if re.match(r"[1-7]\. ", line)]
    assert len(verdict_lines) == 7
    assert (run_folder / "REPORT.md").exists()


def test_the_report_command_on_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    code = main(["report", str(tmp_path / "absent")])
    err = capsys.readouterr().err

    assert code == 2
    assert err.count("\n") == 1 and "no such run folder" in err


def test_the_run_command_ends_by_writing_the_report_with_its_experiments(run_folder, monkeypatch):
    calls = []
    monkeypatch.setattr(report, "EXPERIMENTS", (short_quadratic_experiment(calls),))
    monkeypatch.setattr(report, "CLAIM_WIDTHS", (2,))  # no extra sweep for this test
    (run_folder / "REPORT.md").unlink(missing_ok=True)

    assert finish(run_folder) == 0
    text = (run_folder / "REPORT.md").read_text(encoding="utf-8")
    section = text.split("### 6. ")[1].split("### ")[0]

    assert calls == [1]
    assert "— holds" in section.splitlines()[0]
    assert (run_folder / "figures" / "quadratic.png").exists()


def c12_sweep() -> Sweep:
    """Field case C12: times 0, 2e-6, 8e-6, 3.2e-5 s at depths 1-4, on a log axis."""
    times = [0.0, 2e-6, 8e-6, 3.2e-5]
    rows, timings = [], []
    for depth, time_s in enumerate(times, start=1):
        row = dict.fromkeys(RESULT_COLUMNS, math.nan)
        row.update(
            provider="backprop", width=2, depth=depth, batch_size=1, status="ok", reason="",
            layer_sizes="-".join(["64"] + ["2"] * depth + ["10"]),
            multiplications=304 + 14 * depth, predicted_multiplications=304 + 14 * depth,
            median_s=time_s, iqr_s=0.0, seed=0, activation="tanh", data="digits",
            blas_threads=1,
        )  # fmt: skip
        rows.append(row)
        timings += [
            {"provider": "backprop", "width": 2, "depth": depth, "repeat": r, "time_s": time_s}
            for r in range(3)
        ]
    return Sweep(
        pd.DataFrame(rows, columns=RESULT_COLUMNS), pd.DataFrame(timings, columns=TIMING_COLUMNS)
    )


def test_a_zero_time_is_left_out_of_the_log_axis_with_a_visible_note_field_case_c12():
    figure = depth_figure(c12_sweep())
    time_ax = figure.axes[0]

    notes = left_out_notes(time_ax)
    drawn = [line for line in time_ax.lines if line.get_label() == "backprop"]

    assert any("depth 1" in note for note in notes)
    assert np.all(drawn[0].get_ydata() > 0)
    assert list(drawn[0].get_xdata()) == [2, 3, 4]
