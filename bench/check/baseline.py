"""The committed baseline: the record a ``--update-baseline`` run writes, and reading it back.

For: ``Baseline``, the record written, the metadata of a run, and loading a baseline with
every malformed entry named.
Not for: comparing with it (``bench.check.compare``) or reading JSON files in general
(``bench.files``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.check.instructions import InstructionCount
from bench.check.measure import Measurement, grid_config
from bench.files import read_json
from bench.metadata import run_metadata

if TYPE_CHECKING:
    from bench.check.options import CheckOptions

BASELINE_FORMAT = "gradscale-check-baseline/1"
DEFAULT_BASELINE = Path(__file__).resolve().parents[1] / "baseline.json"
CREATE_HINT = "run `gradscale check --update-baseline` to create one"


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: cells and instruction counts by provider and (width, depth)."""

    path: Path
    metadata: dict
    grid: str
    cells: dict[str, dict[tuple[int, int], Measurement]]
    instructions: dict[str, dict[tuple[int, int], InstructionCount]]


def baseline_record(
    measurements: Sequence[Measurement],
    instruction_counts: Sequence[InstructionCount],
    options: CheckOptions,
) -> dict:
    cells: dict[str, list[dict]] = {}
    for measurement in measurements:
        cells.setdefault(measurement.provider, []).append(measurement.to_dict())
    instructions: dict[str, list[dict]] = {}
    for count in instruction_counts:
        instructions.setdefault(count.provider, []).append(count.to_dict())
    return {
        "format": BASELINE_FORMAT,
        "grid": options.grid,
        "metadata": check_metadata(options),
        "cells": cells,
        "instructions": instructions,
    }


def check_metadata(options: CheckOptions) -> dict:
    """The machine and software of this run, with the check's options and grid."""
    return run_metadata({"check": {**options.to_dict(), **grid_config()}})


def load_baseline(path: Path) -> Baseline:
    """The baseline at ``path``; a missing or malformed one fails with how to create one."""
    try:
        record = read_json(path, what="baseline", required_keys=("format", "metadata", "cells"))
        if record["format"] != BASELINE_FORMAT:
            raise ValueError(
                f"baseline '{path}': format must be {BASELINE_FORMAT!r}, got {record['format']!r}"
            )
        cells = {
            provider: cells_by_key(path, provider, entries, measurement_from_dict)
            for provider, entries in mapping(path, record, "cells").items()
        }
        instructions = {
            provider: cells_by_key(path, provider, entries, instruction_count_from_dict)
            for provider, entries in mapping(path, record, "instructions").items()
        }
        metadata = mapping(path, record, "metadata")
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}; {CREATE_HINT}") from None
    except ValueError as error:
        raise ValueError(f"{error}; {CREATE_HINT}") from None
    return Baseline(path, metadata, str(record.get("grid", "")), cells, instructions)


def mapping(path: Path, record: dict, key: str) -> dict:
    value = record.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"baseline '{path}': {key!r} must be an object, got {value!r}")
    return value


def cells_by_key(path: Path, provider: str, entries: object, parse: Callable) -> dict:
    if not isinstance(entries, list):
        raise ValueError(f"baseline '{path}': cells of {provider!r} must be a list")
    parsed = {}
    for index, entry in enumerate(entries):
        where = f"baseline '{path}': {provider!r} entry {index}"
        item = parse(entry, provider, where)
        parsed[(item.width, item.depth)] = item
    return parsed


def required_number(entry: object, key: str, where: str, kind: type) -> int | float:
    """``entry[key]`` if it is a finite number of ``kind`` (int, or float accepting ints)."""
    if not isinstance(entry, dict) or key not in entry:
        raise ValueError(f"{where}: lacks {key!r}")
    value = entry[key]
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed) or not math.isfinite(value):
        raise ValueError(f"{where}: {key!r} must be a finite {kind.__name__}, got {value!r}")
    return value


def measurement_from_dict(entry: object, provider: str, where: str) -> Measurement:
    sizes = entry.get("layer_sizes") if isinstance(entry, dict) else None
    if not isinstance(sizes, list) or not all(isinstance(size, int) for size in sizes):
        raise ValueError(f"{where}: 'layer_sizes' must be a list of integers, got {sizes!r}")
    return Measurement(
        provider=provider,
        width=required_number(entry, "width", where, int),
        depth=required_number(entry, "depth", where, int),
        layer_sizes=tuple(sizes),
        n_parameters=required_number(entry, "n_parameters", where, int),
        multiplications=required_number(entry, "multiplications", where, int),
        loss_evaluations=required_number(entry, "loss_evaluations", where, int),
        gradient_median_s=required_number(entry, "gradient_median_s", where, float),
        forward_median_s=required_number(entry, "forward_median_s", where, float),
        time_ratio=required_number(entry, "time_ratio", where, float),
        rounds=required_number(entry, "rounds", where, int),
    )


def instruction_count_from_dict(entry: object, provider: str, where: str) -> InstructionCount:
    return InstructionCount(
        provider=provider,
        width=required_number(entry, "width", where, int),
        depth=required_number(entry, "depth", where, int),
        per_gradient=required_number(entry, "per_gradient", where, float),
        repeat_counts=tuple(entry.get("repeat_counts", ())),
        totals=tuple(entry.get("totals", ())),
    )
