"""``gradscale peers``: our providers side by side with PyTorch, JAX and HIPS autograd."""

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
from bench.peers import (
    BATCH_SIZES,
    DEPTHS,
    OURS,
    PEER_NAMES,
    REFERENCE,
    WIDTHS,
    PeersConfig,
    quick_config,
    run_peers,
)
from bench.peers_summary import summary_markdown
from gradients.validation import check_choice

RUNS_FOLDER = Path("reports") / "runs"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "peers",
        help="time our providers against PyTorch, JAX and HIPS autograd, cell by cell",
        description="Build the same network in every installed peer library, check each "
        "gradient against our backprop, then time all providers and each one's loss alone, "
        "interleaved, with one thread per library. Writes a run folder with results.csv, "
        "timings.csv, metadata.json, summary.json, summary.md and ratio.png/.svg. Peers come "
        "with the optional extra: pip install torch==2.13.0 'gradscale[peers]'.",
    )
    parser.add_argument(
        "--widths", type=int_list, default=None,
        help=f"units per hidden layer (default: {','.join(map(str, WIDTHS))})",
    )  # fmt: skip
    parser.add_argument(
        "--depths", type=int_list, default=None,
        help=f"hidden-layer counts (default: {','.join(map(str, DEPTHS))})",
    )  # fmt: skip
    parser.add_argument(
        "--batch-sizes", type=int_list, default=BATCH_SIZES,
        help="samples per gradient (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--peers", type=name_list, default=PEER_NAMES,
        help="comma-separated peer names (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--ours", type=name_list, default=OURS,
        help="our providers to run, backprop among them (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=positive_int, default=None,
        help="interleaved timing rounds per cell (default: 7; 3 where a call takes > 0.5 s)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=positive_float, default=None, metavar="SECONDS",
        help="longest predicted time of one gradient of naive or finite differences; "
        "cells past it are skipped and recorded (default: 0.1)",
    )  # fmt: skip
    parser.add_argument("--seed", type=non_negative_int, default=0, help="network seed")
    parser.add_argument(
        "--all-cpus", action="store_true",
        help="let the run's threads use every CPU (default: all on one CPU, so that no "
        "library gains from a runtime thread of its own)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=None, metavar="FOLDER",
        help="run folder to write (default: reports/runs/peers-<UTC time>)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="a small grid for CI (widths 2,64; depths 1,4; budget 0.02 s; 5 rounds)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def config_from(args: argparse.Namespace) -> PeersConfig:
    for name in args.peers:
        check_choice("--peers", name, PEER_NAMES)
    for name in args.ours:
        check_choice("--ours", name, OURS)
    if REFERENCE not in args.ours:
        raise ValueError(f"`--ours` must include {REFERENCE}, the reference, got {args.ours}")
    chosen = {
        "widths": args.widths,
        "depths": args.depths,
        "rounds": args.rounds,
        "budget_s": args.budget,
    }
    overrides = {key: value for key, value in chosen.items() if value is not None}
    overrides.update(
        batch_sizes=args.batch_sizes,
        peers=args.peers,
        ours=args.ours,
        seed=args.seed,
        one_cpu=not args.all_cpus,
    )
    config = quick_config(**overrides) if args.quick else PeersConfig(**overrides)
    return config.checked()


def run(args: argparse.Namespace) -> int:
    config = config_from(args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = prepared_folder(args.output or RUNS_FOLDER / f"peers-{stamp}")

    progress = tqdm(total=None, unit="cell", file=sys.stderr, dynamic_ncols=True)

    def on_cell(cell, done: int, total: int) -> None:
        progress.total = total
        progress.set_postfix_str(f"batch {cell.batch_size} w{cell.width} d{cell.depth}")
        progress.update(done - progress.n)

    try:
        result = run_peers(config, folder, on_cell=on_cell)
    finally:
        progress.close()

    print(summary_markdown(result.summary, result.metadata))
    print(f"run folder: {folder}")
    # A peer that disagrees with backprop is a finding, not bad input.
    return 1 if result.summary["failed"] else 0
