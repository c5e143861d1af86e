"""Parsing of command-line option values shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

# More values than any sweep could run; a typo like 1-1000000000 is refused, not expanded.
MAX_LIST_VALUES = 10_000


def int_list(text: str) -> tuple[int, ...]:
    """``"1-4,8,16"`` -> (1, 2, 3, 4, 8, 16); every value must be an integer >= 1."""
    values: list[int] = []
    try:
        for part in text.split(","):
            first, dash, last = part.strip().partition("-")
            start = int(first)
            stop = int(last) if dash else start  # "1-" has a dash and no end: int("") fails
            if stop < start:
                raise ValueError
            if len(values) + stop - start + 1 > MAX_LIST_VALUES:
                raise argparse.ArgumentTypeError(
                    f"must hold at most {MAX_LIST_VALUES} values, got {text!r}"
                )
            values.extend(range(start, stop + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be integers or ranges like 1-4,8,16, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be integers >= 1, got {text!r}")
    return tuple(values)


def name_list(text: str) -> tuple[str, ...]:
    """``"backprop,naive"`` -> ("backprop", "naive")."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"must name at least one, got {text!r}")
    return names


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _integer_at_least(text, 1)


def non_negative_int(text: str) -> int:
    return _integer_at_least(text, 0)


def _integer_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
    return value


def prepared_folder(folder: Path, *, busy_hint: str = "choose another folder") -> Path:
    """``folder`` for a new run of ``--output``, made if need be, or a one-line error.

    ``busy_hint`` says what to do when the folder already holds a run; ``{folder}`` in it is
    replaced by the folder.
    """
    folder = Path(folder)
    if (folder / "results.csv").exists():
        hint = busy_hint.format(folder=folder)
        raise ValueError(f"`--output` {folder} already holds a run; {hint}")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"`--output` must be a folder, got {str(folder)!r}, which is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file in the way, no permission, ...
        raise ValueError(
            f"`--output` must be a folder that can be written, got {str(folder)!r}: "
            f"{error.strerror}"
        ) from error
    return folder
