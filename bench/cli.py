"""The ``gradscale`` command line: one parser built from the modules in ``bench.commands``.

A ``ValueError``, ``TypeError`` or ``FileNotFoundError`` that escapes a command is bad input
by the time it gets here (commands validate their options first), so it is printed as one
line with exit code 2 instead of a traceback. Set GRADSCALE_TRACEBACK=1 to see the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMANDS = (
    "bench.commands.run",
    "bench.commands.train",
    "bench.commands.report",
    "bench.commands.check",
    "bench.commands.peers",
)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the option, the rule and the value."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="gradscale",
        description="Measure what each way of computing a neural network's gradient costs.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # a command that is not part of this installation
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as error:
        if os.environ.get("GRADSCALE_TRACEBACK"):
            raise
        message = " ".join(str(error).split())
        print(f"gradscale {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
