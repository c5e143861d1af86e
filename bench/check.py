"""The regression gate behind ``gradscale check``: measure a small grid, compare it with a
committed baseline, and name every cell that moved.

Four layers, from exact to noisy, each immune to what makes the next one flaky:

1. Work: counted multiplications and loss evaluations of every cell equal the baseline's.
2. Shape: growth with depth fitted on counts and on times stays within stated bounds; a
   uniformly slower machine shifts every time by one factor, which leaves these unchanged.
3. Time: each cell's gradient time over the time of its forward pass, timed in interleaved
   rounds, against the baseline's ratio under a tolerant factor; a flagged cell is measured
   again before it fails.
4. Instructions: executed instructions per gradient under valgrind's callgrind, where valgrind
   is installed, against a tight tolerance.

The cells are digits-shaped networks (64 pixel inputs, tanh hidden layers of width 2, 10
classes, cross-entropy) at batch size 1, the case of SGD, on a seeded random sample: the
time of a gradient does not depend on the pixel values, and no data set has to be loaded.

For: measuring the grid, writing the baseline, comparing with it, the rows of the verdict.
Not for: the depth sweep (``bench.sweep``), parsing thresholds (``bench.thresholds``), or the
command line's options and printing (``bench.commands.check``).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from bench import thresholds
from bench.files import read_json, write_json_atomic
from bench.fits import fit_scaling
from bench.metadata import COMPARED_FIELDS, blas_summary, run_metadata
from bench.metadata import field as metadata_field
from bench.timing import interleaved, single_thread_blas
from gradients import MLP, Loss, get_loss, get_provider, provider_names

BASELINE_FORMAT = "gradscale-check-baseline/1"
REPORT_FORMAT = "gradscale-check-report/1"
DEFAULT_BASELINE = Path(__file__).resolve().with_name("baseline.json")
RUNS_FOLDER = Path("reports") / "runs"
REPORT_NAME = "check.json"
CREATE_HINT = "run `gradscale check --update-baseline` to create one"

DEFAULT_PROVIDERS = ("backprop", "naive", "fd-forward", "fd-central")

# The cells: digits-shaped networks at batch size 1 (see the module docstring).
N_INPUTS = 64
N_CLASSES = 10
WIDTH = 2
ACTIVATION = "tanh"
LOSS_NAME = "cross-entropy"
SEED = 0
BATCH_SIZE = 1

# Depths per provider. Each quick grid is part of its full grid, so a quick check compares
# with a baseline written by the full one. Five depths or more over a ratio of at least 4 is
# what the growth fits need (bench.fits); naive stops where one gradient takes about 1 ms
# (quick) or 4 ms (full), finite differences where one takes about 10 ms or 16 ms.
QUICK_DEPTHS = {
    "backprop": (1, 2, 4, 8, 16),
    "naive": (1, 2, 3, 4, 5, 6),
    "fd-forward": (1, 2, 3, 4, 5),
    "fd-central": (1, 2, 3, 4, 5),
}
FULL_DEPTHS = {
    "backprop": (1, 2, 4, 8, 16, 32),
    "naive": (1, 2, 3, 4, 5, 6, 7, 8),
    "fd-forward": (1, 2, 3, 4, 5, 6, 7, 8),
    "fd-central": (1, 2, 3, 4, 5, 6, 7, 8),
}
# Providers registered by users: a short range, since their cost is not known in advance.
OTHER_QUICK_DEPTHS = (1, 2, 3, 4, 5)
OTHER_FULL_DEPTHS = (1, 2, 3, 4, 5, 6)

# Rounds of interleaved samples per cell, each sample at least MIN_MEASURE_S long (many
# calls of a fast gradient), so one sample holds thousands of clock ticks and the median of
# the rounds is steady. The baseline, measured once and compared with many times, gets
# BASELINE_ROUNDS. A flagged cell is measured again with REMEASURE_ROUNDS, up to
# REMEASURE_ATTEMPTS times, and fails only if every measurement exceeds the tolerance: on this
# machine bursts of load from other jobs slowed one cell's gradient, not its forward pass, by
# 2.5 times for seconds on end, through one re-measurement.
ROUNDS = 15
BASELINE_ROUNDS = 45
REMEASURE_ROUNDS = 45
REMEASURE_ATTEMPTS = 2
MIN_MEASURE_S = 0.005

# Layer 3's default factor on (gradient time / forward time) against the baseline's. Five
# `check --quick` runs against the committed baseline, on this 2-core machine while other jobs
# kept the load average at 4.9 to 5.4, gave now / baseline ratios over the 21 cells from 0.46
# to 1.38 (median 0.99, 95th percentile 1.18); four cells were flagged and passed when
# measured again. 1.5 stays clear of the worst of them, and a provider doing twice the work
# (ratio 2) still fails.
DEFAULT_TOLERANCE = "1.5x"
DEFAULT_INSTRUCTION_TOLERANCE = "5%"

# Layer 4: small cells, since Python under callgrind runs about 40 times slower (one run of
# start-up and 120 backprop gradients: 0.26 s natively, 11 s under callgrind). Each cell is run
# twice, with two repeat counts; the difference cancels the start-up of Python and numpy.
INSTRUCTION_CELLS = (("backprop", WIDTH, 2), ("naive", WIDTH, 2))
INSTRUCTION_REPEATS = (20, 120)
VALGRIND_TIMEOUT_S = 600
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")

# What the subprocess under valgrind runs: only numpy and the library are imported, so its
# start-up stays short. Arguments: the .npz file of the cell and the number of gradients.
INSTRUCTION_SCRIPT = """
import sys
import numpy as np
from gradients import MLP, get_loss, get_provider
cell = np.load(sys.argv[1])
network = MLP(tuple(cell["layer_sizes"]), str(cell["activation"]), seed=int(cell["seed"]))
provider, loss = get_provider(str(cell["provider"])), get_loss(str(cell["loss"]))
inputs, targets = cell["inputs"], cell["targets"]
for _ in range(int(sys.argv[2])):
    provider.compute(network, loss, inputs, targets)
"""

# Layer 2's bounds, each with why it holds.
# Naive: the first layer's path products dominate the count on 64 inputs, each of 2D + 1
# multiplications over w^(D-1) * 10 paths, so counts / (2D + 1) grow by the width w per layer;
# measured 1.997 over depths 1..6 at w = 2. Anything outside +-5% of w is another algorithm.
NAIVE_PATH_GROWTH_BOUNDS = (0.95 * WIDTH, 1.05 * WIDTH)
# Naive's time grows by less than w at these depths (Python overhead per row of paths), by an
# amount that depends on the balance of interpreter and arithmetic, not on the clock speed:
# measured 1.22 to 1.48 per layer, now / baseline 0.83 to 0.99 over the five runs of the
# layer-3 tolerance.
# +-25% leaves room for another machine's balance of interpreter and BLAS.
NAIVE_TIME_GROWTH_TOLERANCE = Decimal("0.25")
# Backprop: one forward and one backward pass, each linear in depth, so the exponent k of the
# overhead model c0 + c1 L^k on exact counts is 1 (measured 1.000) and the power-law exponent
# of the times, which include a constant overhead, is below 1 (measured 0.39 to 0.58).
BACKPROP_COUNT_EXPONENT_MAX = 1.05
BACKPROP_TIME_EXPONENT_MAX = 1.05
# Finite differences: (parameters + 1) or 2 x parameters forward passes, both factors linear
# in depth, so at most quadratic (measured: 1.08 on counts, 0.10 to 0.76 on times).
FINITE_DIFFERENCES_EXPONENT_MAX = 2.05

OK = "ok"
FAIL = "FAIL"
NEW = "new"
FASTER = "faster"
WARNING = "warning"
NOT_MEASURED = "not measured"
RECORDED = "recorded"
REMEASURED = " (re-measured)"


@dataclass(frozen=True)
class Measurement:
    """One cell: its counted work, and its gradient and forward-pass medians timed together."""

    provider: str
    width: int
    depth: int
    layer_sizes: tuple[int, ...]
    n_parameters: int
    multiplications: int
    loss_evaluations: int
    gradient_median_s: float
    forward_median_s: float
    time_ratio: float  # median over rounds of gradient time / forward time in the round
    rounds: int

    @property
    def cell(self) -> str:
        return cell_name(self.provider, self.width, self.depth)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["layer_sizes"] = list(self.layer_sizes)
        return record


@dataclass(frozen=True)
class InstructionCount:
    """Instructions per gradient: the difference of two runs of different lengths."""

    provider: str
    width: int
    depth: int
    per_gradient: float
    repeat_counts: tuple[int, int]
    totals: tuple[int, int]

    @property
    def cell(self) -> str:
        return cell_name(self.provider, self.width, self.depth)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["repeat_counts"], record["totals"] = list(self.repeat_counts), list(self.totals)
        return record


@dataclass(frozen=True)
class Row:
    """One line of the verdict table."""

    layer: str
    cell: str
    metric: str
    baseline: object
    now: object
    ratio: float | None
    verdict: str

    @property
    def failed(self) -> bool:
        return self.verdict.startswith(FAIL)


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: cells and instruction counts by provider and (width, depth)."""

    path: Path
    metadata: dict
    grid: str
    cells: dict[str, dict[tuple[int, int], Measurement]]
    instructions: dict[str, dict[tuple[int, int], InstructionCount]]


@dataclass(frozen=True)
class CheckOptions:
    """What one ``gradscale check`` does; tolerances are limits on current / baseline."""

    baseline: Path = DEFAULT_BASELINE
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    quick: bool = False
    tolerance: Decimal = field(
        default_factory=lambda: thresholds.parse_limit(DEFAULT_TOLERANCE, bare="factor")
    )
    instruction_tolerance: Decimal = field(
        default_factory=lambda: thresholds.parse_limit(DEFAULT_INSTRUCTION_TOLERANCE)
    )
    instructions: bool | None = None  # None: counted in the full run, not in --quick
    update_baseline: bool = False
    output: Path | None = None

    def checked(self) -> CheckOptions:
        if not self.providers:
            raise ValueError("`--providers` must name at least one provider, got none")
        known = provider_names()
        for name in self.providers:
            if name not in known:
                raise ValueError(
                    f"`--providers` must name registered providers ({', '.join(known)}), "
                    f"got {name!r}"
                )
        if len(set(self.providers)) != len(self.providers):
            raise ValueError(f"`--providers` must not repeat a name, got {self.providers}")
        return self

    @property
    def grid(self) -> str:
        return "quick" if self.quick else "full"

    @property
    def count_instructions(self) -> bool:
        return (not self.quick) if self.instructions is None else self.instructions

    def to_dict(self) -> dict:
        return {
            "baseline": shown_path(self.baseline),
            "providers": list(self.providers),
            "grid": self.grid,
            "tolerance": str(self.tolerance),
            "instruction_tolerance": str(self.instruction_tolerance),
            "instructions": self.count_instructions,
        }


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
        return 1 if any(row.failed for row in self.rows) else 0


def cell_name(provider: str, width: int, depth: int) -> str:
    return f"{provider} w{width} d{depth}"


def shown_path(path: Path) -> str:
    """``path`` relative to the working folder where it lies inside it, as people type it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def grid_depths(provider: str, quick: bool) -> tuple[int, ...]:
    table, other = (
        (QUICK_DEPTHS, OTHER_QUICK_DEPTHS) if quick else (FULL_DEPTHS, OTHER_FULL_DEPTHS)
    )
    return table.get(provider, other)


def digits_shaped_problem(width: int, depth: int) -> tuple[MLP, Loss, np.ndarray, np.ndarray]:
    """(network, loss, inputs, targets) of one cell: 64 inputs in [0, 1), 10 classes."""
    layer_sizes = (N_INPUTS, *([width] * depth), N_CLASSES)
    network = MLP(layer_sizes, ACTIVATION, seed=SEED)
    rng = np.random.default_rng(SEED)
    inputs = rng.random((BATCH_SIZE, N_INPUTS))
    targets = rng.integers(0, N_CLASSES, size=BATCH_SIZE)
    return network, get_loss(LOSS_NAME), inputs, targets


def measure_cell(provider_name: str, width: int, depth: int, *, rounds: int) -> Measurement:
    """Count one gradient's work, then time gradient and forward pass in interleaved rounds.

    The forward pass is the reference: a machine that is slower at this moment is slower at
    both, so their ratio keeps what the provider itself costs. The ratio is taken within each
    round, whose two samples are adjacent in time, and the median over rounds is kept: on
    this 2-core machine under load that spread less between repeated runs than the ratio of
    the two medians or of the two minima (largest of 21 cells' max/min over five runs: 1.35
    against 1.68 and 2.18).
    """
    provider = get_provider(provider_name)
    network, loss, inputs, targets = digits_shaped_problem(width, depth)
    evaluation = provider.loss_and_gradient(network, loss, inputs, targets)

    # NOTE: wall-clock samples; time spent descheduled on an oversubscribed machine still lands
    # in them. A CPU-time clock (time.thread_time) as an option of bench.timing would remove it.
    timings = interleaved(
        {
            "gradient": lambda: provider.compute(network, loss, inputs, targets),
            "forward": lambda: network.forward(inputs),
        },
        rounds=rounds,
        min_measure_s=MIN_MEASURE_S,
    )
    gradient, forward = timings["gradient"], timings["forward"]
    return Measurement(
        provider=provider_name,
        width=width,
        depth=depth,
        layer_sizes=network.layer_sizes,
        n_parameters=network.n_parameters,
        multiplications=evaluation.counts.multiplications,
        loss_evaluations=evaluation.counts.loss_evaluations,
        gradient_median_s=gradient.median_s,
        forward_median_s=forward.median_s,
        time_ratio=float(np.median(np.divide(gradient.samples_s, forward.samples_s))),
        rounds=rounds,
    )


def measure_grid(
    providers: Sequence[str],
    *,
    quick: bool,
    rounds: int = ROUNDS,
    on_cell: Callable[[str, int, int], None] | None = None,
) -> list[Measurement]:
    """Every cell of the grid, with BLAS on one thread; ``on_cell(cell, done, total)``."""
    cells = [(name, WIDTH, depth) for name in providers for depth in grid_depths(name, quick)]
    measurements = []
    with single_thread_blas():
        for done, (name, width, depth) in enumerate(cells, start=1):
            measurements.append(measure_cell(name, width, depth, rounds=rounds))
            if on_cell is not None:
                on_cell(cell_name(name, width, depth), done, len(cells))
    return measurements


def collected_instructions(valgrind_output: str) -> int:
    """The total instruction count callgrind reports ("Collected : N") in its output."""
    match = COLLECTED.search(valgrind_output)
    if match is None:
        raise ValueError("valgrind output holds no 'Collected : N' line of callgrind")
    return int(match.group(1))


def count_instructions(
    provider: str,
    width: int,
    depth: int,
    *,
    repeat_counts: tuple[int, int] = INSTRUCTION_REPEATS,
    valgrind: str = "valgrind",
) -> InstructionCount:
    """Instructions per gradient of one cell under callgrind, start-up cancelled out."""
    few, many = repeat_counts
    if not 0 < few < many:
        raise ValueError(
            f"`repeat_counts` must be two increasing counts >= 1, got {repeat_counts}"
        )
    network, loss, inputs, targets = digits_shaped_problem(width, depth)
    environment = {
        **os.environ,
        # The same hash seed in both runs, so that dictionaries do the same work in each.
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # The project's own library, also where it is not installed.
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")])
        ),
    }

    with tempfile.TemporaryDirectory() as folder:
        cell_file = Path(folder) / "cell.npz"
        np.savez(
            cell_file,
            layer_sizes=np.array(network.layer_sizes),
            activation=ACTIVATION,
            seed=SEED,
            provider=provider,
            loss=LOSS_NAME,
            inputs=inputs,
            targets=targets,
        )
        # The two runs are independent and each single-threaded: run them side by side.
        runs = [
            subprocess.Popen(
                [
                    valgrind,
                    "--tool=callgrind",
                    f"--callgrind-out-file={os.devnull}",
                    sys.executable,
                    "-c",
                    INSTRUCTION_SCRIPT,
                    str(cell_file),
                    str(repeats),
                ],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for repeats in repeat_counts
        ]
        try:
            outputs = [run.communicate(timeout=VALGRIND_TIMEOUT_S)[1] for run in runs]
        except BaseException:
            for run in runs:
                run.kill()
                run.wait()
            raise

    totals = []
    for run, output in zip(runs, outputs, strict=True):
        if run.returncode != 0:
            last_line = (output.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(
                f"valgrind failed on {cell_name(provider, width, depth)} with exit code "
                f"{run.returncode}: {last_line}"
            )
        totals.append(collected_instructions(output))

    return InstructionCount(
        provider=provider,
        width=width,
        depth=depth,
        per_gradient=(totals[1] - totals[0]) / (many - few),
        repeat_counts=(few, many),
        totals=(totals[0], totals[1]),
    )


def instruction_cells(providers: Sequence[str]) -> list[tuple[str, int, int]]:
    return [cell for cell in INSTRUCTION_CELLS if cell[0] in providers]


def measure_instructions(
    providers: Sequence[str], notices: list[str]
) -> tuple[list[InstructionCount], list[Row]]:
    """Layer 4's counts where valgrind is installed, a one-line notice where it is not, and
    a failing row for each cell that valgrind could not run."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        notices.append("instructions: skipped, valgrind is not installed")
        return [], []
    cells = instruction_cells(providers)
    if not cells:
        notices.append("instructions: none of the providers asked for has an instruction cell")

    counts, failures = [], []
    for provider, width, depth in cells:
        try:
            counts.append(count_instructions(provider, width, depth, valgrind=valgrind))
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
            message = " ".join(str(error).split())
            failures.append(
                Row("instructions", cell_name(provider, width, depth),
                    "instructions / gradient", None, None, None, f"{FAIL}: {message}")
            )  # fmt: skip
    return counts, failures


# -- the baseline ---------------------------------------------------------------------------


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
        "metadata": run_metadata({"check": {**options.to_dict(), **grid_config()}}),
        "cells": cells,
        "instructions": instructions,
    }


def grid_config() -> dict:
    return {
        "n_inputs": N_INPUTS,
        "n_classes": N_CLASSES,
        "width": WIDTH,
        "activation": ACTIVATION,
        "loss": LOSS_NAME,
        "seed": SEED,
        "batch_size": BATCH_SIZE,
        "rounds": ROUNDS,
        "baseline_rounds": BASELINE_ROUNDS,
        "min_measure_s": MIN_MEASURE_S,
    }


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


# -- the four layers ------------------------------------------------------------------------


def compare_work(baseline: Baseline, measurements: Sequence[Measurement]) -> list[Row]:
    """Layer 1: counts equal the baseline's exactly; a change either way fails."""
    rows = []
    for now in measurements:
        before = baseline.cells.get(now.provider, {}).get((now.width, now.depth))
        for metric in ("multiplications", "loss_evaluations"):
            value = getattr(now, metric)
            if before is None:
                rows.append(Row("work", now.cell, metric, None, value, None, NEW))
                continue
            expected = getattr(before, metric)
            # Equality needs no ratio; a count of zero (a provider of one's own) has none.
            ratio = float(thresholds.ratio(expected, value, cell=now.cell)) if expected else None
            verdict = OK if value == expected else FAIL
            rows.append(Row("work", now.cell, metric, expected, value, ratio, verdict))
    return rows


def path_growth(depths: Sequence[int], multiplications: Sequence[float]) -> float:
    """Naive's growth per layer of counts / (2D + 1), the multiplications of one path."""
    per_path = [value / (2 * depth + 1) for depth, value in zip(depths, multiplications)]
    return fit_scaling(depths, per_path).growth_factor()[0]


def time_growth(depths: Sequence[int], seconds: Sequence[float]) -> float:
    return fit_scaling(depths, seconds).growth_factor()[0]


def count_exponent(depths: Sequence[int], multiplications: Sequence[float]) -> float:
    """Exponent k of c0 + c1 L^k: the growth once the depth-independent part is set apart."""
    return fit_scaling(depths, multiplications).depth_exponent("overhead")[0]


def time_exponent(depths: Sequence[int], seconds: Sequence[float]) -> float:
    return fit_scaling(depths, seconds).depth_exponent("power")[0]


@dataclass(frozen=True)
class ShapeRule:
    """One layer-2 statistic of a provider and the bound it must keep.

    ``low``/``high`` are absolute bounds; ``relative`` bounds the ratio now / baseline to
    1 +- relative instead, for statistics that depend on the machine's balance of work.
    """

    metric: str
    statistic: Callable[[Sequence[int], Sequence[float]], float]
    on: str  # "multiplications" or "gradient_median_s"
    low: float | None = None
    high: float | None = None
    relative: Decimal | None = None

    def bound(self) -> str:
        if self.relative is not None:
            return f"baseline +-{thresholds.percent(1 + self.relative)}"
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}"
        return f"<= {self.high:g}"


def exponent_rules(count_max: float, time_max: float) -> tuple[ShapeRule, ...]:
    return (
        ShapeRule("count depth exponent", count_exponent, "multiplications", high=count_max),
        ShapeRule("time depth exponent", time_exponent, "gradient_median_s", high=time_max),
    )


SHAPE_RULES: dict[str, tuple[ShapeRule, ...]] = {
    "naive": (
        ShapeRule(
            "count growth per layer",
            path_growth,
            "multiplications",
            low=NAIVE_PATH_GROWTH_BOUNDS[0],
            high=NAIVE_PATH_GROWTH_BOUNDS[1],
        ),
        ShapeRule(
            "time growth per layer",
            time_growth,
            "gradient_median_s",
            relative=NAIVE_TIME_GROWTH_TOLERANCE,
        ),
    ),
    "backprop": exponent_rules(BACKPROP_COUNT_EXPONENT_MAX, BACKPROP_TIME_EXPONENT_MAX),
    "fd-forward": exponent_rules(FINITE_DIFFERENCES_EXPONENT_MAX, FINITE_DIFFERENCES_EXPONENT_MAX),
    "fd-central": exponent_rules(FINITE_DIFFERENCES_EXPONENT_MAX, FINITE_DIFFERENCES_EXPONENT_MAX),
}


def compare_shape(baseline: Baseline, measurements: Sequence[Measurement]) -> list[Row]:
    """Layer 2: each provider's fitted growth, on the depths that both runs measured."""
    rows = []
    for provider, rules in SHAPE_RULES.items():
        now = {m.depth: m for m in measurements if m.provider == provider and m.width == WIDTH}
        cells = baseline.cells.get(provider, {}).items()
        before = {depth: m for (width, depth), m in cells if width == WIDTH}
        depths = sorted(now.keys() & before.keys()) or sorted(now)
        if len(depths) < 4:  # the overhead model has three parameters
            continue
        label = f"{provider} w{WIDTH} d{depths[0]}-{depths[-1]}"
        for rule in rules:
            value = rule.statistic(depths, [getattr(now[depth], rule.on) for depth in depths])
            reference = None
            if all(depth in before for depth in depths):
                reference = rule.statistic(
                    depths, [getattr(before[depth], rule.on) for depth in depths]
                )
            rows.append(shape_row(label, rule, value, reference))
    return rows


def shape_row(label: str, rule: ShapeRule, value: float, reference: float | None) -> Row:
    metric = f"{rule.metric} ({rule.bound()})"
    ratio = None if reference is None else value / reference
    if rule.relative is not None:
        if reference is None:
            return Row("shape", label, metric, None, value, None, NEW)
        change = abs(thresholds.ratio(reference, value, cell=label) - 1)
        verdict = OK if change <= rule.relative else FAIL
    else:
        within = (rule.low is None or value >= rule.low) and (
            rule.high is None or value <= rule.high
        )
        verdict = OK if within else FAIL
    return Row("shape", label, metric, reference, value, ratio, verdict)


def compare_time(
    baseline: Baseline,
    measurements: Sequence[Measurement],
    tolerance: Decimal,
    remeasure: Callable[[Measurement], Measurement],
) -> tuple[list[Row], list[Measurement]]:
    """Layer 3: time / forward time against the baseline's; flagged cells measured again.

    A flagged cell keeps the smallest ratio of its measurements, so that it fails only when
    the slowdown is there every time. Returns the rows and the measurements kept.
    """
    rows, final = [], []
    metric = "time / forward"
    for now in measurements:
        before = baseline.cells.get(now.provider, {}).get((now.width, now.depth))
        if before is None:
            rows.append(Row("time", now.cell, metric, None, now.time_ratio, None, NEW))
            final.append(now)
            continue
        suffix = ""
        for _ in range(REMEASURE_ATTEMPTS):
            if not thresholds.exceeds(before.time_ratio, now.time_ratio, tolerance, cell=now.cell):
                break
            again, suffix = remeasure(now), REMEASURED
            now = min(now, again, key=lambda measurement: measurement.time_ratio)
        final.append(now)
        ratio = thresholds.ratio(before.time_ratio, now.time_ratio, cell=now.cell)
        if ratio > tolerance:
            verdict = FAIL
        elif ratio * tolerance < 1:
            verdict = FASTER  # not a failure; a baseline update records the gain
        else:
            verdict = OK
        rows.append(
            Row("time", now.cell, metric, before.time_ratio, now.time_ratio, float(ratio),
                verdict + suffix)
        )  # fmt: skip
    return rows, final


def compare_instructions(
    baseline: Baseline, counts: Sequence[InstructionCount], tolerance: Decimal
) -> list[Row]:
    """Layer 4: instructions per gradient, at most ``tolerance`` times the baseline's."""
    rows = []
    metric = "instructions / gradient"
    for now in counts:
        before = baseline.instructions.get(now.provider, {}).get((now.width, now.depth))
        if before is None:
            rows.append(Row("instructions", now.cell, metric, None, now.per_gradient, None, NEW))
            continue
        ratio = thresholds.ratio(before.per_gradient, now.per_gradient, cell=now.cell)
        if ratio > tolerance:
            verdict = FAIL
        elif ratio * tolerance < 1:
            verdict = FASTER
        else:
            verdict = OK
        rows.append(
            Row("instructions", now.cell, metric, before.per_gradient, now.per_gradient,
                float(ratio), verdict)
        )  # fmt: skip
    return rows


def compare_machines(baseline_metadata: dict, metadata: dict) -> list[Row]:
    """Warnings where the machine or software differs in what changes timings.

    Only the fields of ``bench.metadata.COMPARED_FIELDS`` are compared, so volatile ones
    (host name, current CPU frequency, start time) never raise a warning.
    """
    rows = []
    for dotted, description in COMPARED_FIELDS.items():
        before, now = metadata_field(baseline_metadata, dotted), metadata_field(metadata, dotted)
        if dotted == "numpy.blas":
            before, now = "; ".join(blas_summary(before)), "; ".join(blas_summary(now))
        if before != now:
            rows.append(Row("machine", "machine", description, before, now, None, WARNING))
    return rows


def providers_not_measured(baseline: Baseline, providers: Sequence[str]) -> list[Row]:
    """Providers in the baseline that this run did not measure: reported, never failed."""
    return [
        Row("cells", name, "cells", len(cells), None, None, NOT_MEASURED)
        for name, cells in baseline.cells.items()
        if name not in providers
    ]


# -- one check from start to end ------------------------------------------------------------


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
            Row("time", m.cell, "time / forward", None, m.time_ratio, None, RECORDED)
            for m in measurements
        ] + [
            Row("instructions", c.cell, "instructions / gradient", None, c.per_gradient, None,
                RECORDED)
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

    metadata = run_metadata({"check": {**options.to_dict(), **grid_config()}})
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
        "exit_code": 1 if any(row.failed for row in rows) else 0,
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
    from bench import cli  # the command line imports this module's command

    try:
        return cli.main(["check", *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as error:  # argparse's exit on a bad option
        return int(error.code or 0)
