"""``gradscale report FOLDER``: judge the claims on a run and write its REPORT.md."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.report import RERUN, REUSE, RUN, SKIP, produce_report


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="judge the seven claims on a run folder and write its REPORT.md",
        description="Write REPORT.md into a run folder of `gradscale run`: the machine and "
        "versions, the configuration, the claims table with each measured figure, its 95% "
        "interval and a verdict, the figures, a results table and a conclusion per claim. "
        "The claims also need measurements the sweep does not take (the naive provider at "
        "widths 3 and 4, and the experiments); by default those missing are run (about a "
        "minute) and those already in the folder are reused.",
    )
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="a run folder")
    extras = parser.add_mutually_exclusive_group()
    extras.add_argument(
        "--no-extra", dest="extras", action="store_const", const=SKIP,
        help="run no extra measurement and use none: the claims that need them are "
        "reported as undecided (not measured)",
    )  # fmt: skip
    extras.add_argument(
        "--reuse-extra", dest="extras", action="store_const", const=REUSE,
        help="use the extra measurements already in the folder, run none",
    )  # fmt: skip
    extras.add_argument(
        "--rerun-extra", dest="extras", action="store_const", const=RERUN,
        help="run every extra measurement again, replacing those in the folder",
    )  # fmt: skip
    parser.set_defaults(func=run, extras=RUN)


def run(args: argparse.Namespace) -> int:
    folder = args.folder
    if not folder.is_dir():
        raise FileNotFoundError(f"`FOLDER` {folder}: no such run folder")
    started_s = time.perf_counter()

    def on_step(message: str) -> None:
        print(f"[{time.perf_counter() - started_s:5.1f} s] {message}", file=sys.stderr)

    written = produce_report(folder, extras=args.extras, on_step=on_step)
    for claim in written.claims:
        print(f"{claim.number}. {claim.verdict:<13} {claim.title}")
        print(f"   {claim.conditions}")
    print(f"wrote {written.path} in {time.perf_counter() - started_s:.0f} s")
    return 0
