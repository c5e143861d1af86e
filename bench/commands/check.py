"""``gradscale check``: the performance-regression gate against bench/baseline.json.

For: the command's options, its progress line, and the verdict table it prints.
Not for: measuring or comparing, which ``bench.check`` does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from bench import thresholds
from bench.check import (
    DEFAULT_BASELINE,
    DEFAULT_INSTRUCTION_TOLERANCE,
    DEFAULT_PROVIDERS,
    DEFAULT_TOLERANCE,
    CheckOptions,
    CheckOutcome,
    Row,
    run_check,
    shown_path,
)
from bench.options import name_list

COLUMNS = ("cell", "metric", "baseline", "now", "ratio", "verdict")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="fail when a provider does more work or runs slower than the committed baseline",
        description="Measure a small grid of cells and compare it with a baseline in four "
        "layers: counted work (exact), growth with depth (scale-free), time relative to the "
        "forward pass (tolerant; flagged cells are measured again) and, where valgrind is "
        "installed, instructions per gradient. Exit 0 when all hold, 1 on a regression, 2 on "
        "a usage error or a missing or malformed baseline.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline", type=Path, default=DEFAULT_BASELINE, metavar="PATH",
        help="baseline to compare with or to write (default: bench/baseline.json)",
    )  # fmt: skip
    parser.add_argument(
        "--update-baseline", action="store_true",
        help="measure and write the baseline instead of comparing with it",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="a smaller grid, part of the full one, without instruction counts",
    )  # fmt: skip
    parser.add_argument(
        "--providers", type=name_list, default=DEFAULT_PROVIDERS,
        help="comma-separated registered provider names (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--tolerance", default=DEFAULT_TOLERANCE,
        help="largest allowed factor on time / forward time against the baseline, as 1.5, "
        "1.5x or 50%% (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--instruction-tolerance", default=DEFAULT_INSTRUCTION_TOLERANCE,
        help="largest allowed increase of instructions per gradient, as 5%% or 0.05 "
        "(default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--instructions", action=argparse.BooleanOptionalAction, default=None,
        help="count instructions under valgrind (default: in the full run, not in --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=None, metavar="DIR",
        help="folder for check.json (default: reports/runs/check-<UTC time>)",
    )  # fmt: skip


def options_from(args: argparse.Namespace) -> CheckOptions:
    """The options of one check, with both tolerances parsed (bad ones raise ValueError)."""
    return CheckOptions(
        baseline=args.baseline,
        providers=tuple(args.providers),
        quick=args.quick,
        tolerance=thresholds.parse_limit(args.tolerance, name="--tolerance", bare="factor"),
        instruction_tolerance=thresholds.parse_limit(
            args.instruction_tolerance, name="--instruction-tolerance"
        ),
        instructions=args.instructions,
        update_baseline=args.update_baseline,
        output=args.output,
    ).checked()


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    # Shown only on a terminal and only after a second, so that an error comes out alone.
    progress = tqdm(
        total=None, unit="cell", file=sys.stderr, dynamic_ncols=True, leave=False,
        disable=None, delay=1.0,
    )  # fmt: skip

    def on_cell(cell: str, done: int, total: int) -> None:
        progress.total = total
        progress.set_postfix_str(cell)
        progress.update(done - progress.n)

    try:
        outcome = run_check(options, on_cell=on_cell)
    finally:
        progress.close()

    print_outcome(outcome, options)
    return outcome.exit_code


def print_outcome(outcome: CheckOutcome, options: CheckOptions) -> None:
    for notice in outcome.notices:
        print(notice)
    print(format_table(outcome.rows))
    print()
    if options.update_baseline:
        print(f"wrote {shown_path(outcome.written)} in {outcome.elapsed_s:.0f} s")
        return
    failed = [row for row in outcome.rows if row.failed]
    verdict = f"FAILED: {len(failed)} rows" if failed else "passed"
    print(
        f"{verdict} against {shown_path(options.baseline)} in {outcome.elapsed_s:.0f} s; "
        f"table written to {shown_path(outcome.written)}"
    )


def format_value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_ratio(ratio: float | None) -> str:
    """A ratio to four digits, with more where four would hide a change of an exact count."""
    if ratio is None:
        return "-"
    if ratio == 1:
        return "1"
    shown = f"{ratio:.4g}"
    return shown if float(shown) != 1 else f"{ratio:.10g}"


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width table under a header."""
    lines = [COLUMNS] + [
        (row.cell, row.metric, format_value(row.baseline), format_value(row.now),
         format_ratio(row.ratio), row.verdict)
        for row in rows
    ]  # fmt: skip
    widths = [max(len(text) for text in column) for column in zip(*lines)]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
        for line in lines
    )
