"""One ``gradscale check`` from start to end, and the report it writes.

For: ``run_check`` (measure, then write the baseline or compare with it), ``CheckOutcome``,
and ``main``, the command run in process.
Not for: the measurements, the baseline or the comparisons themselves (the other modules of
``bench.check``), or the command line's printing (``bench.commands.check``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.check.baseline import baseline_record, check_metadata, load_baseline
from bench.check.compare import (
    compare_instructions,
    compare_machines,
    compare_shape,
    compare_time,
    compare_work,
    providers_not_measured,
)
from bench.check.instructions import InstructionCount, measure_instructions
from bench.check.measure import (
    BASELINE_ROUNDS,
    REMEASURE_ATTEMPTS,
    REMEASURE_ROUNDS,
    ROUNDS,
    Measurement,
    measure_cell,
    measure_grid,
)
from bench.check.options import CheckOptions
from bench.check.verdicts import (
    FASTER,
    INSTRUCTIONS_METRIC,
    RECORDED,
    REMEASURED,
    TIME_METRIC,
    Row,
    exit_code_of,
)
from bench.files import write_json_atomic
from bench.timing import single_thread_blas

REPORT_FORMAT = "gradscale-check-report/1"
RUNS_FOLDER = Path("reports") / "runs"
REPORT_NAME = "check.json"


@dataclass(frozen=True)
class CheckOutcome:
    """What a check found, and where it wrote it."""

    rows: list[Row]
    notices: list[str]
    measurements: list[Measurement]
    instruction_counts: list[InstructionCount]
    written: Path
    elapsed_s: float

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.rows)


def default_output() -> Path:
    return RUNS_FOLDER / f"check-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def run_check(
    options: CheckOptions, *, on_cell: Callable[[str, int, int], None] | None = None
) -> CheckOutcome:
    """Measure, then write the baseline (``update_baseline``) or compare and write the table."""
    started = datetime.now(UTC)
    options = options.checked()
    # Read the baseline first, so that a missing one fails before minutes of measuring.
    baseline = None if options.update_baseline else load_baseline(options.baseline)

    notices: list[str] = []
    rounds = BASELINE_ROUNDS if options.update_baseline else ROUNDS
    measurements = measure_grid(
        options.providers, quick=options.quick, rounds=rounds, on_cell=on_cell
    )
    instruction_counts, instruction_failures = [], []
    if options.count_instructions:
        instruction_counts, instruction_failures = measure_instructions(options.providers, notices)
    else:
        notices.append("instructions: not counted in --quick; add --instructions to count them")

    if options.update_baseline:
        record = baseline_record(measurements, instruction_counts, options)
        written = write_json_atomic(options.baseline, record)
        rows = [
            Row("work", m.cell, "multiplications", None, m.multiplications, None, RECORDED)
            for m in measurements
        ] + [
            Row("time", m.cell, TIME_METRIC, None, m.time_ratio, None, RECORDED)
            for m in measurements
        ] + [
            Row("instructions", c.cell, INSTRUCTIONS_METRIC, None, c.per_gradient, None, RECORDED)
            for c in instruction_counts
        ] + instruction_failures  # fmt: skip
        elapsed_s = (datetime.now(UTC) - started).total_seconds()
        return CheckOutcome(rows, notices, measurements, instruction_counts, written, elapsed_s)

    def remeasure(measurement: Measurement) -> Measurement:
        with single_thread_blas():
            return measure_cell(
                measurement.provider, measurement.width, measurement.depth,
                rounds=REMEASURE_ROUNDS,
            )  # fmt: skip

    metadata = check_metadata(options)
    time_rows, measurements = compare_time(baseline, measurements, options.tolerance, remeasure)
    n_remeasured = sum(row.verdict.endswith(REMEASURED) for row in time_rows)
    if n_remeasured:
        notices.append(
            f"time: flagged and re-measured (up to {REMEASURE_ATTEMPTS} times, "
            f"{REMEASURE_ROUNDS} rounds each) in {n_remeasured} of {len(time_rows)} cells"
        )
    n_faster = sum(row.verdict.startswith(FASTER) for row in time_rows)
    if n_faster:
        # A stale baseline would let the provider slow down again unnoticed.
        notices.append(
            f"time: faster than the baseline beyond the tolerance in {n_faster} of "
            f"{len(time_rows)} cells: a gain to record with `gradscale check --update-baseline`, "
            "or a baseline measured under load"
        )
    rows = (
        compare_machines(baseline.metadata, metadata)
        + providers_not_measured(baseline, options.providers)
        + compare_work(baseline, measurements)
        + compare_shape(baseline, measurements)
        + time_rows
        + compare_instructions(baseline, instruction_counts, options.instruction_tolerance)
        + instruction_failures
    )

    elapsed_s = (datetime.now(UTC) - started).total_seconds()
    folder = options.output or default_output()
    report = {
        "format": REPORT_FORMAT,
        "exit_code": exit_code_of(rows),
        "elapsed_s": elapsed_s,
        "options": options.to_dict(),
        "notices": notices,
        "rows": [asdict(row) for row in rows],
        "measurements": [m.to_dict() for m in measurements],
        "instructions": [c.to_dict() for c in instruction_counts],
        "metadata": metadata,
    }
    written = write_json_atomic(Path(folder) / REPORT_NAME, report)
    return CheckOutcome(rows, notices, measurements, instruction_counts, written, elapsed_s)


def main(argv: Sequence[str] | None = None) -> int:
    """``gradscale check`` with ``argv`` through the real command line; the exit code."""
    from bench import cli  # the command line imports this package

    try:
        return cli.main(["check", *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as error:  # argparse's exit on a bad option
        return int(error.code or 0)
