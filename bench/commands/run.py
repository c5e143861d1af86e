"""``gradscale run``: the depth sweep, its table, its fits, its figure and its report.

Every option is checked here, under its own name, before any work starts or any folder is
made, so bad input costs one line on stderr and exit code 2, not a half-written run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from bench.options import (
    int_list,
    name_list,
    non_negative_int,
    positive_float,
    positive_int,
    prepared_folder,
)
from bench.plots import write_scaling_figure
from bench.report import write_report
from bench.scaling import growth_summary
from bench.sweep import (
    DEFAULT_DEPTHS,
    DEFAULT_PROVIDERS,
    QUICK_DEPTHS,
    SweepConfig,
    load_results,
    load_state,
    run_sweep,
)
from gradients import ACTIVATIONS, provider_names
from gradients.data import check_data_spec, load_dataset
from gradients.validation import check_choice

RUNS_FOLDER = Path("reports") / "runs"
RUN_FILES = ("results.csv", "timings.csv", "metadata.json")

# Options that shape a sweep, with their defaults: a resumed run takes all of them from its
# folder, so they default to None here, which tells "not given" apart from any value.
_SWEEP = SweepConfig()
SWEEP_DEFAULTS = {
    "providers": _SWEEP.providers,
    "widths": _SWEEP.widths,
    "budget": _SWEEP.budget_s,
    "repeats": _SWEEP.repeats,
    "seed": _SWEEP.seed,
    "data": _SWEEP.data,
    "activation": _SWEEP.activation,
    "batch_size": _SWEEP.batch_size,
}


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
        "--providers", type=name_list, default=None,
        help=f"comma-separated provider names (default: {','.join(DEFAULT_PROVIDERS)})",
    )  # fmt: skip
    parser.add_argument(
        "--depths", type=int_list, default=None,
        help="hidden-layer counts, e.g. 1-16,20,32 (default: 1-20,24,28,32,40,48,56,64)",
    )  # fmt: skip
    parser.add_argument(
        "--widths", type=int_list, default=None,
        help="units per hidden layer; the naive cost grows by this factor per layer (default: 2)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=positive_float, default=None, metavar="SECONDS",
        help="longest predicted time of one gradient; deeper cells of a provider past it are "
        "skipped and recorded (default: 1.0)",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=positive_int, default=None,
        help="timed samples per cell (default: 7; cells slower than 0.25 s get 3)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=non_negative_int, default=None, help="network seed (default: 0)"
    )
    parser.add_argument(
        "--data", default=None,
        help="digits (bundled with scikit-learn), teacher-student, or mnist:FOLDER with the "
        "IDX files (default: digits)",
    )  # fmt: skip
    parser.add_argument("--activation", default=None, help="tanh, sigmoid or relu (default: tanh)")
    parser.add_argument(
        "--batch-size", type=positive_int, default=None,
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


# A quick run trades the robustness of the medians for time.
QUICK_SAMPLING = {"warmup_s": 0.02, "min_sampling_s": 0.05}


def config_from(args: argparse.Namespace) -> SweepConfig:
    """The sweep the options ask for; a bad option fails here, named as it was typed."""
    options = {
        key: default if getattr(args, key) is None else getattr(args, key)
        for key, default in SWEEP_DEFAULTS.items()
    }
    for name in options["providers"]:
        check_choice("--providers", name, provider_names())
    check_choice("--activation", options["activation"], ACTIVATIONS)
    check_data_spec("--data", options["data"])

    depths = args.depths or (QUICK_DEPTHS if args.quick else DEFAULT_DEPTHS)
    budget_s, repeats = options["budget"], options["repeats"]
    return SweepConfig(
        providers=options["providers"],
        widths=options["widths"],
        depths=depths,
        activation=options["activation"],
        data=options["data"],
        batch_size=options["batch_size"],
        budget_s=min(budget_s, 0.2) if args.quick else budget_s,
        repeats=min(repeats, 5) if args.quick else repeats,
        seed=options["seed"],
        **(QUICK_SAMPLING if args.quick else {}),
    ).checked()


def check_data(config: SweepConfig, *, data_option: str, batch_option: str) -> None:
    """Load the sweep's data once, so that broken files and a batch too large fail now."""
    # NOTE: run_sweep loads the data set again; letting it take the loaded Dataset would
    # save that second read (about a second for the whole of MNIST).
    data = load_dataset(config.data, seed=config.seed, argument=data_option)
    n_train = data.train_inputs.shape[0]
    if config.batch_size > n_train:
        raise ValueError(
            f"`{batch_option}` must be at most the {n_train} training samples of "
            f"{config.data}, got {config.batch_size}"
        )


def check_resumable(args: argparse.Namespace) -> None:
    """The ``--resume`` folder must hold a sweep that can go on, and no option may change it."""
    folder = args.resume
    given = [
        key for key in (*SWEEP_DEFAULTS, "depths", "output") if getattr(args, key) is not None
    ]
    given += ["quick"] if args.quick else []
    if given:
        options = ", ".join("--" + key.replace("_", "-") for key in given)
        raise ValueError(
            f"`--resume` continues a run with the configuration saved in it, got {options} "
            f"too; drop them, or start a new run with --output"
        )
    if not folder.is_dir():
        raise FileNotFoundError(f"`--resume` must name a run folder, got {str(folder)!r}")

    try:
        config = load_state(folder).config
        check_data(config, data_option="data", batch_option="batch_size")
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise ValueError(f"`--resume` {str(folder)!r} cannot be resumed: {error}") from error


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        check_resumable(args)
        folder, config = args.resume, None
    else:
        config = config_from(args)
        check_data(config, data_option="--data", batch_option="--batch-size")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        folder = prepared_folder(
            args.output or RUNS_FOLDER / stamp,
            busy_hint="use --resume {folder} to continue it or choose another folder",
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

    return finish(state.folder, no_report=args.no_report, quick=args.quick)


def finish(folder: Path, *, no_report: bool = False, quick: bool = False) -> int:
    """Print the table and fits of a finished run and write its figure and report.

    A quick run's report skips the extra measurements (other widths, the experiments), so
    the claims that need them are reported as not measured.
    """
    results, timings, metadata = load_results(folder)
    print(results_table(results))
    for line in stopped_lines(results):
        print(line)
    print()
    print(growth_summary(results, timings))
    budget_s = metadata.get("config", {}).get("sweep", {}).get("budget_s")
    paths = write_scaling_figure(results, folder / "scaling", budget_s=budget_s)
    if not no_report:
        extras = "skip" if quick else "run"
        try:
            paths.append(write_report(folder, extras=extras, on_step=_say))
        except KeyboardInterrupt:
            print(
                f"interrupted while writing the report; the sweep in {folder} is complete "
                f"and what the report had measured is kept; finish it with: "
                f"gradscale report {folder}",
                file=sys.stderr,
            )
            return 130
    print(f"\nrun folder: {folder}")
    for path in [folder / name for name in RUN_FILES] + paths:
        print(f"  {path.name}")
    return 0


def stopped_lines(results) -> list[str]:
    """Where each provider stopped and why: its first cell that was not measured."""
    lines = []
    for (provider, width), rows in results.groupby(["provider", "width"], sort=False):
        stopped = rows[rows["status"] != "ok"].sort_values("depth")
        if not stopped.empty:
            first = stopped.iloc[0]
            lines.append(
                f"{provider} (width {width}) stopped at depth {first['depth']}: "
                f"{first['status']}, {first['reason']}"
            )
    return lines


def _say(message: str) -> None:
    print(f"report: {message}", file=sys.stderr, flush=True)


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
