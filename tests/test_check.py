"""The regression gate fails when it should and passes when it should.

Most tests run the real command in process (``bench.check.main``) on backprop's quick grid,
against baselines written by the command itself and then edited. Tests that are about other
layers than time pass ``--tolerance 3x``, so that a burst of load on the shared machine cannot
fail them through layer 3.
"""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

import bench.check
from bench.check import (
    INSTRUCTION_CELLS,
    REMEASURED,
    Baseline,
    InstructionCount,
    Measurement,
    collected_instructions,
    compare_instructions,
    compare_shape,
    compare_time,
    compare_work,
    count_instructions,
    main,
    measure_instructions,
)
from bench.thresholds import parse_limit
from gradients import Evaluation, get_provider, register_provider, unregister_provider
from gradients.providers import Backprop

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HINT = "run `gradscale check --update-baseline` to create one"
TEST_PROVIDER = "test-only-backprop"


class DoubledBackprop(Backprop):
    """Backprop that computes every gradient twice: twice the work and about twice the time."""

    name = TEST_PROVIDER

    def compute(self, network, loss, inputs, targets):
        first = super().compute(network, loss, inputs, targets)
        second = super().compute(network, loss, inputs, targets)
        return Evaluation(first.loss, first.gradient, first.counts + second.counts)


class SlowedBackprop(Backprop):
    """Backprop that wastes a second, uncounted gradient: the same counts in twice the time."""

    name = TEST_PROVIDER

    def compute(self, network, loss, inputs, targets):
        super().compute(network, loss, inputs, targets)
        return super().compute(network, loss, inputs, targets)


class PlainBackprop(Backprop):
    name = TEST_PROVIDER


def check(*arguments: str | Path) -> int:
    return main([str(argument) for argument in arguments])


def quick_check(provider: str, baseline: Path, output: Path, *extra: str) -> int:
    """``gradscale check --quick`` of one provider; its table goes to ``output``."""
    return check(
        "--quick", "--providers", provider, "--baseline", baseline, "--output", output, *extra
    )


def write_baseline(provider: str, path: Path) -> Path:
    assert check("--update-baseline", "--quick", "--providers", provider, "--baseline", path) == 0
    return path


def read_rows(folder: Path) -> list[dict]:
    return json.loads((folder / "check.json").read_text())["rows"]


def failed_rows(folder: Path) -> list[dict]:
    return [row for row in read_rows(folder) if row["verdict"].startswith("FAIL")]


@pytest.fixture(scope="module")
def backprop_baseline(tmp_path_factory) -> Path:
    """A quick-grid baseline of backprop, written by the command; copy it before editing."""
    return write_baseline("backprop", tmp_path_factory.mktemp("baseline") / "baseline.json")


def edited_copy(source: Path, folder: Path, edit) -> Path:
    record = json.loads(source.read_text())
    edit(record)
    path = folder / "edited.json"
    path.write_text(json.dumps(record))
    return path


def test_clean_run_against_a_freshly_written_baseline_passes(backprop_baseline, tmp_path, capsys):
    code = quick_check("backprop", backprop_baseline, tmp_path)

    output = capsys.readouterr().out
    assert code == 0, output
    assert "passed" in output
    assert {row["layer"] for row in read_rows(tmp_path)} >= {"work", "shape", "time"}
    assert failed_rows(tmp_path) == []


CELL_AND_METRIC = ["backprop", "w2", "d4", "multiplications"]


@pytest.mark.parametrize("change", [+1, -1], ids=["larger", "smaller"])
def test_one_changed_count_fails_layer_one_naming_that_cell(
    backprop_baseline, tmp_path, capsys, change
):
    def edit(record):
        record["cells"]["backprop"][2]["multiplications"] += change

    baseline = edited_copy(backprop_baseline, tmp_path, edit)
    code = quick_check("backprop", baseline, tmp_path, "--tolerance", "3x")

    assert code == 1
    failed = [(row["layer"], row["cell"], row["metric"]) for row in failed_rows(tmp_path)]
    assert failed == [("work", "backprop w2 d4", "multiplications")]
    lines = capsys.readouterr().out.splitlines()
    edited = [line.split() for line in lines if line.split()[:4] == CELL_AND_METRIC]
    assert len(edited) == 1 and edited[0][-1] == "FAIL"


@pytest.fixture(scope="module")
def test_provider_baseline(tmp_path_factory) -> Path:
    """A baseline of a test-only provider registered as plain backprop."""
    register_provider(TEST_PROVIDER, PlainBackprop)
    yield write_baseline(TEST_PROVIDER, tmp_path_factory.mktemp("test") / "baseline.json")
    unregister_provider(TEST_PROVIDER)


@pytest.fixture
def swap_test_provider(test_provider_baseline):
    """Re-register the test-only provider as another class; plain backprop again after."""
    yield lambda factory: register_provider(TEST_PROVIDER, factory, replace=True)
    register_provider(TEST_PROVIDER, PlainBackprop, replace=True)


def test_provider_doing_twice_the_work_fails_layers_one_and_three(
    test_provider_baseline, swap_test_provider, tmp_path
):
    swap_test_provider(DoubledBackprop)

    code = quick_check(TEST_PROVIDER, test_provider_baseline, tmp_path)

    assert code == 1
    rows = read_rows(tmp_path)
    work = [row for row in rows if row["layer"] == "work"]
    assert work and all(row["verdict"] == "FAIL" and row["ratio"] == 2.0 for row in work)
    time_failures = [row for row in rows if row["layer"] == "time" and row["verdict"] != "ok"]
    assert time_failures
    assert all(row["verdict"] == "FAIL" + REMEASURED for row in time_failures)


def test_provider_slowed_without_more_counted_work_fails_layer_three_only(
    test_provider_baseline, swap_test_provider, tmp_path
):
    swap_test_provider(SlowedBackprop)

    code = quick_check(TEST_PROVIDER, test_provider_baseline, tmp_path)

    assert code == 1
    rows = read_rows(tmp_path)
    assert {row["layer"] for row in failed_rows(tmp_path)} == {"time"}
    assert all(row["verdict"] == "ok" for row in rows if row["layer"] == "work")


def test_missing_baseline_exits_2_before_measuring(tmp_path, capsys):
    code = check("--quick", "--baseline", tmp_path / "nowhere.json")

    error = capsys.readouterr().err
    assert code == 2
    assert "nowhere.json': no such file" in error and HINT in error
    assert len(error.strip().splitlines()) == 1


def without_key(key):
    def edit(record):
        del record[key]

    return edit


def set_count(value):
    def edit(record):
        record["cells"]["backprop"][0]["multiplications"] = value

    return edit


def drop_count(record):
    del record["cells"]["backprop"][0]["loss_evaluations"]


def other_format(record):
    record["format"] = "something-else/9"


def cells_not_a_list(record):
    record["cells"]["backprop"] = {"depth": 1}


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (without_key("cells"), "missing keys: cells"),
        (other_format, "format must be 'gradscale-check-baseline/1'"),
        (drop_count, "'backprop' entry 0: lacks 'loss_evaluations'"),
        (set_count("318"), "'multiplications' must be a finite int, got '318'"),
        (set_count(318.5), "'multiplications' must be a finite int, got 318.5"),
        (cells_not_a_list, "cells of 'backprop' must be a list"),
    ],
)
def test_malformed_baseline_exits_2_with_the_problem_and_the_fix(
    backprop_baseline, tmp_path, capsys, edit, problem
):
    baseline = edited_copy(backprop_baseline, tmp_path, edit)

    code = quick_check("backprop", baseline, tmp_path)

    error = capsys.readouterr().err
    assert code == 2
    assert problem in error and HINT in error


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "is empty"), ("{", "truncated"), ("not json", "not valid JSON"), ("[1]", "object")],
)
def test_corrupt_baseline_file_exits_2(tmp_path, capsys, text, problem):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(text)

    code = check("--quick", "--baseline", baseline)

    error = capsys.readouterr().err
    assert code == 2
    assert problem in error and HINT in error


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--tolerance", "0.5x"), "`--tolerance` must be a factor >= 1"),
        (("--tolerance", "fast"), "`--tolerance` must be a percentage like 10%"),
        (("--instruction-tolerance=-5%",), "`--instruction-tolerance` must be a percentage"),
        (("--providers", "no-such-provider"), "`--providers` must name registered providers"),
        (("--providers", "backprop,backprop"), "`--providers` must not repeat a name"),
    ],
)
def test_bad_option_is_a_usage_error(tmp_path, capsys, arguments, message):
    code = check("--quick", "--baseline", tmp_path / "unused.json", *arguments)

    assert code == 2
    assert message in capsys.readouterr().err


def test_provider_only_in_the_baseline_is_reported_not_failed(backprop_baseline, tmp_path):
    def edit(record):
        record["cells"]["retired-provider"] = record["cells"]["backprop"]

    baseline = edited_copy(backprop_baseline, tmp_path, edit)
    code = quick_check("backprop", baseline, tmp_path, "--tolerance", "3x")

    assert code == 0
    rows = [row for row in read_rows(tmp_path) if row["cell"] == "retired-provider"]
    assert [row["verdict"] for row in rows] == ["not measured"]


def test_cell_new_since_the_baseline_is_reported_not_failed(backprop_baseline, tmp_path):
    def edit(record):
        del record["cells"]["backprop"][-1]

    baseline = edited_copy(backprop_baseline, tmp_path, edit)
    code = quick_check("backprop", baseline, tmp_path, "--tolerance", "3x")

    assert code == 0
    new = {
        (row["layer"], row["metric"])
        for row in read_rows(tmp_path)
        if row["cell"] == "backprop w2 d16" and row["verdict"] == "new"
    }
    assert new == {
        ("work", "multiplications"),
        ("work", "loss_evaluations"),
        ("time", "time / forward"),
    }


def set_field(dotted: str, value):
    def edit(record):
        node = record["metadata"]
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "warned"),
    [
        (set_field("cpu.model", "Another CPU 9000"), ["CPU model"]),
        (set_field("numpy.version", "0.0.1"), ["numpy version"]),
        (set_field("hostname", "elsewhere"), []),
        (set_field("cpu.current_mhz", 1.0), []),
    ],
    ids=["cpu-model", "numpy-version", "hostname", "cpu-frequency"],
)
def test_machine_differences_warn_and_volatile_fields_are_ignored(
    backprop_baseline, tmp_path, edit, warned
):
    baseline = edited_copy(backprop_baseline, tmp_path, edit)

    code = quick_check("backprop", baseline, tmp_path, "--tolerance", "3x")

    assert code == 0
    machine = [row for row in read_rows(tmp_path) if row["layer"] == "machine"]
    assert [row["metric"] for row in machine] == warned
    assert all(row["verdict"] == "warning" for row in machine)


def test_real_command_line_exits_2_on_missing_baseline_and_0_on_a_clean_run(
    backprop_baseline, tmp_path
):
    command = [sys.executable, "-m", "bench.cli", "check", "--quick", "--providers", "backprop"]
    missing_baseline = ["--baseline", str(tmp_path / "nowhere.json")]
    clean = ["--baseline", str(backprop_baseline), "--output", str(tmp_path), "--tolerance", "3x"]

    missing = subprocess.run(
        [*command, *missing_baseline], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    passed = subprocess.run([*command, *clean], cwd=PROJECT_ROOT, capture_output=True, text=True)

    assert missing.returncode == 2
    assert missing.stderr.startswith("gradscale check: error: baseline '")
    assert HINT in missing.stderr
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert (tmp_path / "check.json").exists()


# -- layers 2 and 3 on constructed measurements ---------------------------------------------


def measurement(provider, depth, multiplications, *, seconds, time_ratio=5.0) -> Measurement:
    return Measurement(
        provider=provider,
        width=2,
        depth=depth,
        layer_sizes=(64, *([2] * depth), 10),
        n_parameters=0,
        multiplications=multiplications,
        loss_evaluations=1,
        gradient_median_s=seconds,
        forward_median_s=seconds / time_ratio,
        time_ratio=time_ratio,
        rounds=1,
    )


def predicted_cells(provider_name: str, depths, seconds_per_multiplication=1e-9):
    provider = get_provider(provider_name)
    cells = []
    for depth in depths:
        counts = provider.predict_counts((64, *([2] * depth), 10), 1)
        seconds = 1e-4 + seconds_per_multiplication * counts.multiplications
        cells.append(measurement(provider_name, depth, counts.multiplications, seconds=seconds))
    return cells


def baseline_of(measurements) -> Baseline:
    cells = {}
    for m in measurements:
        cells.setdefault(m.provider, {})[(m.width, m.depth)] = m
    return Baseline(Path("baseline.json"), {}, "quick", cells, {})


def relabelled(cells, provider: str):
    return [
        measurement(provider, m.depth, m.multiplications, seconds=m.gradient_median_s)
        for m in cells
    ]


@pytest.mark.parametrize(
    ("provider", "depths"),
    [("naive", range(1, 7)), ("backprop", (1, 2, 4, 8, 16)), ("fd-central", range(1, 6))],
)
def test_uniformly_slower_machine_leaves_the_shape_unchanged(provider, depths):
    before = predicted_cells(provider, depths)
    slower = [
        measurement(m.provider, m.depth, m.multiplications, seconds=3 * m.gradient_median_s)
        for m in before
    ]

    rows = compare_shape(baseline_of(before), slower)

    assert len(rows) == 2
    assert all(row.verdict == "ok" and row.ratio == pytest.approx(1, rel=1e-9) for row in rows)


@pytest.mark.parametrize(
    ("provider", "impostor", "failing_metric"),
    [
        ("naive", "backprop", "count growth per layer"),  # a naive that reuses products
        ("backprop", "naive", "count depth exponent"),  # a backprop that expands paths
        ("fd-forward", "naive", "count depth exponent"),
    ],
)
def test_changed_growth_with_depth_fails_layer_two(provider, impostor, failing_metric):
    depths = range(1, 7)
    now = relabelled(predicted_cells(impostor, depths), provider)

    rows = compare_shape(baseline_of(now), now)

    failed = [row.metric for row in rows if row.failed]
    assert any(metric.startswith(failing_metric) for metric in failed), rows


def test_naive_time_growth_beyond_a_quarter_of_the_baseline_fails():
    before = predicted_cells("naive", range(1, 7))
    steeper = [
        measurement(
            "naive", m.depth, m.multiplications, seconds=m.gradient_median_s * 1.5**m.depth
        )
        for m in before
    ]

    rows = compare_shape(baseline_of(before), steeper)

    verdicts = {row.metric.split(" (")[0]: row.verdict for row in rows}
    assert verdicts == {"count growth per layer": "ok", "time growth per layer": "FAIL"}


@pytest.mark.parametrize(("count", "verdict"), [(0, "ok"), (3, "FAIL")])
def test_zero_count_in_the_baseline_is_compared_exactly_without_a_ratio(count, verdict):
    before = [measurement("counts-nothing", 1, 0, seconds=1e-4)]
    now = [measurement("counts-nothing", 1, count, seconds=1e-4)]

    rows = compare_work(baseline_of(before), now)

    multiplications = [row for row in rows if row.metric == "multiplications"]
    assert [(row.verdict, row.ratio) for row in multiplications] == [(verdict, None)]


def test_flagged_cell_is_remeasured_and_passes_when_the_slowdown_was_noise():
    before = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=5.0)]
    noisy = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=9.0)]
    calm = measurement("backprop", 1, 318, seconds=1e-4, time_ratio=5.5)

    rows, final = compare_time(baseline_of(before), noisy, parse_limit("1.5x"), lambda m: calm)

    assert [row.verdict for row in rows] == ["ok" + REMEASURED]
    assert final == [calm]


@pytest.mark.parametrize(
    ("remeasured_ratios", "verdict", "n_calls"),
    [((9.0, 5.5), "ok" + REMEASURED, 2), ((9.0, 8.0), "FAIL" + REMEASURED, 2)],
    ids=["second-attempt-passes", "slow-every-time"],
)
def test_flagged_cell_fails_only_when_every_measurement_is_slow(
    remeasured_ratios, verdict, n_calls
):
    before = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=5.0)]
    noisy = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=9.0)]
    results = iter(remeasured_ratios)
    calls = []

    def remeasure(m):
        calls.append(m)
        return measurement("backprop", 1, 318, seconds=1e-4, time_ratio=next(results))

    rows, final = compare_time(baseline_of(before), noisy, parse_limit("1.5x"), remeasure)

    assert [row.verdict for row in rows] == [verdict]
    assert len(calls) == n_calls == bench.check.REMEASURE_ATTEMPTS
    assert final[0].time_ratio == min(remeasured_ratios)


@pytest.mark.parametrize(
    ("time_ratio", "verdict"),
    [(7.5, "ok"), (7.6, "FAIL" + REMEASURED), (3.3, "faster"), (10 / 3, "ok")],
)
def test_time_ratio_limit_is_inclusive_and_faster_cells_do_not_fail(time_ratio, verdict):
    before = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=5.0)]
    now = [measurement("backprop", 1, 318, seconds=1e-4, time_ratio=time_ratio)]

    rows, _ = compare_time(baseline_of(before), now, parse_limit("1.5x"), lambda m: m)

    assert [row.verdict for row in rows] == [verdict]


# -- layer 4 ----------------------------------------------------------------------------------


def test_collected_instruction_count_is_read_from_callgrind_output():
    output = "==61== Events    : Ir\n==61== Collected : 485816667\n==61==\n==61== I refs: 485,8"
    assert collected_instructions(output) == 485816667
    with pytest.raises(ValueError, match="no 'Collected : N' line"):
        collected_instructions("==61== ERROR SUMMARY: 0 errors")


def test_missing_valgrind_skips_layer_four_with_a_one_line_notice(monkeypatch):
    monkeypatch.setattr(bench.check.instructions.shutil, "which", lambda name: None)
    notices = []

    counts, failures = measure_instructions(["backprop"], notices)

    assert (counts, failures) == ([], [])
    assert notices == ["instructions: skipped, valgrind is not installed"]


needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")


@pytest.fixture(scope="module")
def backprop_instructions() -> InstructionCount:
    """Instructions per gradient of backprop's instruction cell, counted under callgrind."""
    return count_instructions(*INSTRUCTION_CELLS[0])


@needs_valgrind
def test_instructions_per_gradient_cancel_the_start_up(backprop_instructions):
    few, many = backprop_instructions.totals
    # Start-up (Python, numpy) is hundreds of millions of instructions; one backprop gradient
    # of a 64-2-2-10 network is a few hundred thousand: the difference must be of that size.
    assert many > few > 1e8
    assert 1e4 < backprop_instructions.per_gradient < 1e7
    assert backprop_instructions.per_gradient == (many - few) / 100


@needs_valgrind
@pytest.mark.parametrize(
    ("scale", "verdict"), [("1", "ok"), ("1.05", "ok"), ("1.06", "FAIL"), ("0.9", "faster")]
)
def test_instruction_tolerance_applies_to_the_measured_count(
    backprop_instructions, scale, verdict
):
    measured = backprop_instructions.per_gradient
    now = replace(
        backprop_instructions, per_gradient=float(Decimal(repr(measured)) * Decimal(scale))
    )
    baseline = Baseline(
        Path("b.json"), {}, "full", {}, {"backprop": {(2, 2): backprop_instructions}}
    )

    rows = compare_instructions(baseline, [now], parse_limit("5%"))

    assert [row.verdict for row in rows] == [verdict]


@needs_valgrind
def test_gate_fails_layer_four_when_instructions_grew(
    backprop_baseline, backprop_instructions, tmp_path, monkeypatch
):
    # The count measured under callgrind above, handed to the gate instead of a second run.
    def measured(provider, width, depth, **options):
        assert (provider, width, depth) == INSTRUCTION_CELLS[0]
        return backprop_instructions

    monkeypatch.setattr(bench.check.instructions, "count_instructions", measured)

    def edit(record):
        entry = backprop_instructions.to_dict()
        entry["per_gradient"] /= 1.10
        record["instructions"] = {"backprop": [entry]}

    baseline = edited_copy(backprop_baseline, tmp_path, edit)
    code = quick_check("backprop", baseline, tmp_path, "--instructions", "--tolerance", "3x")

    assert code == 1
    rows = [row for row in read_rows(tmp_path) if row["layer"] == "instructions"]
    assert [(row["cell"], row["verdict"]) for row in rows] == [("backprop w2 d2", "FAIL")]
    assert rows[0]["ratio"] == pytest.approx(1.10, rel=1e-12)
