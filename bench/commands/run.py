"""``gradscale run``: the depth sweep, its table, its fits, its figure and its report."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from bench.options import int_list, name_list, non_negative_int, positive_float, positive_int
from bench.plots import write_scaling_figure
from bench.scaling import growth_summary
from bench.sweep import (
    DEFAULT_DEPTHS,
    DEFAULT_PROVIDERS,
    QUICK_DEPTHS,
    SweepConfig,
    load_results,
    run_sweep,
)

RUNS_FOLDER = Path("reports") / "runs"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="time and count every provider across network depths (the main job)",
        description="Sweep network depth for every gradient provider on one batch of real "
        "samples: check each gradient against backprop, count multiplications and loss "
        "evaluations, time it, fit the growth with depth, and write a run folder with "
        "results.csv, metadata.json, the scaling figure and REPORT.md.",
    )
    parser.add_argument(
        "--providers", type=name_list, default=DEFAULT_PROVIDERS,
        help="comma-separated provider names (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--depths", type=int_list, default=None,
        help="hidden-layer counts, e.g. 1-16,20,32 (default: 1-20,24,28,32,40,48,56,64)",
    )  # fmt: skip
    parser.add_argument(
        "--widths", type=int_list, default=(2,),
        help="units per hidden layer; the naive cost grows by this factor per layer (default: 2)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=positive_float, default=1.0, metavar="SECONDS",
        help="longest predicted time of one gradient; deeper cells of a provider past it are "
        "skipped and recorded (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=positive_int, default=7,
        help="timed samples per cell (default: %(default)s; cells slower than 0.25 s get 3)",
    )  # fmt: skip
    parser.add_argument("--seed", type=non_negative_int, default=0, help="network seed")
    parser.add_argument(
        "--data", default="digits",
        help="digits (bundled with scikit-learn), teacher-student, or mnist:FOLDER with the "
        "IDX files (default: digits)",
    )  # fmt: skip
    parser.add_argument(
        "--activation", default="tanh", help="tanh, sigmoid or relu (default: tanh)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=1,
        help="samples per gradient (default: 1, the SGD case)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FOLDER",
        help="run folder to write (default: reports/runs/<UTC time>)",
    )  # fmt: skip
    parser.add_argument(
        "--resume", type=Path, default=None, metavar="FOLDER",
        help="continue an interrupted run in FOLDER without repeating its finished cells",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="a small grid (depths 1-6,8; budget 0.2 s; 5 repeats) in well under a minute",
    )  # fmt: skip
    parser.add_argument("--no-report", action="store_true", help="skip REPORT.md")
    parser.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> SweepConfig:
    depths = args.depths or (QUICK_DEPTHS if args.quick else DEFAULT_DEPTHS)
    return SweepConfig(
        providers=args.providers,
        widths=args.widths,
        depths=depths,
        activation=args.activation,
        data=args.data,
        batch_size=args.batch_size,
        budget_s=min(args.budget, 0.2) if args.quick else args.budget,
        repeats=min(args.repeats, 5) if args.quick else args.repeats,
        seed=args.seed,
    ).checked()


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        folder, config = args.resume, None
    else:
        config = config_from(args)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        folder = args.output or RUNS_FOLDER / stamp
        if (folder / "results.csv").exists():
            raise ValueError(
                f"`--output` {folder} already holds a run; use --resume {folder} to continue "
                "it or choose another folder"
            )

    progress = tqdm(total=None, unit="cell", file=sys.stderr, dynamic_ncols=True)

    def on_cell(row: dict, done: int, total: int) -> None:
        progress.total = total
        progress.set_postfix_str(f"{row['provider']} w{row['width']} d{row['depth']}")
        progress.update(done - progress.n)

    try:
        state = run_sweep(config, folder, on_cell=on_cell, resume=args.resume is not None)
    except KeyboardInterrupt:
        progress.close()
        print(
            f"interrupted: the completed cells are kept in {folder}; "
            f"continue with: gradscale run --resume {folder}",
            file=sys.stderr,
        )
        return 130
    finally:
        progress.close()

    return finish(state.folder, no_report=args.no_report)


def finish(folder: Path, *, no_report: bool = False) -> int:
    """Print the table and fits of a finished run and write its figure and report."""
    results, timings, metadata = load_results(folder)
    print(results_table(results))
    print()
    print(growth_summary(results, timings))
    budget_s = metadata.get("config", {}).get("sweep", {}).get("budget_s")
    paths = write_scaling_figure(results, folder / "scaling", budget_s=budget_s)
    if not no_report:
        try:
            from bench.report import write_report
        except ModuleNotFoundError:
            pass
        else:
            paths.append(write_report(folder))
    print(f"\nrun folder: {folder}")
    for path in paths:
        print(f"  {path.name}")
    return 0


def results_table(results) -> str:
    shown = results.assign(
        time_ms=results["median_s"] * 1e3,
        iqr_ms=results["iqr_s"] * 1e3,
    )[
        ["provider", "width", "depth", "status", "time_ms", "iqr_ms", "multiplications",
         "loss_evaluations", "max_rel_diff"]
    ]  # fmt: skip
    shown = shown.sort_values(["provider", "width", "depth"], kind="stable")
    return shown.to_string(
        index=False,
        na_rep="-",
        formatters={
            "time_ms": "{:.4g}".format,
            "iqr_ms": "{:.2g}".format,
            "max_rel_diff": "{:.1e}".format,
            "multiplications": lambda v: "-" if v != v else f"{int(v):,}",
            "loss_evaluations": lambda v: "-" if v != v else f"{int(v):,}",
        },
    )
