"""The depth sweep: every provider timed and counted on networks of growing depth.

For each cell (provider, width, depth) the sweep builds the network from the seed, takes a
fixed batch of real samples, checks the provider's gradient against backprop's, counts its
operations and times it. Providers are interleaved within a depth, so slow drift of the
machine lands on all of them alike.

Before a cell runs, its cost is predicted: the provider's closed-form model gives the counted
multiplications, and the two previous depths give seconds per multiplication (and a fixed
overhead). A cell predicted to take longer than ``budget_s`` per gradient is not started; it
and every deeper cell of that provider and width are recorded as skipped, with the
prediction. Each cell runs in a forked worker process that is killed if it overruns a hard
limit, so a wrong prediction costs at most that limit.

Results are rewritten to the run folder after every cell (atomically), so an interrupted
sweep keeps every completed cell and can be resumed. Not here: fitting, plotting, reports.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from bench.files import read_csv, read_json, write_csv_atomic, write_json_atomic
from bench.metadata import run_metadata
from bench.timing import single_thread_blas, time_callable
from gradients import MLP, get_loss, get_provider, provider_names
from gradients.activations import ACTIVATIONS
from gradients.data import Dataset, check_data_spec, load_dataset
from gradients.gradcheck import max_relative_difference
from gradients.validation import (
    check_batch,
    check_choice,
    check_positive_finite,
    check_positive_int,
)

DEFAULT_PROVIDERS = ("backprop", "naive", "fd-forward", "fd-central")
DEFAULT_DEPTHS = (*range(1, 21), 24, 28, 32, 40, 48, 56, 64)
QUICK_DEPTHS = (1, 2, 3, 4, 5, 6, 8)

# A first guess of seconds per multiplication, before a provider has been measured: fast
# (10 G multiplications a second), so that a cell is never refused on a pessimistic guess.
OPTIMISTIC_S_PER_MULTIPLICATION = 1e-10

# A fast cell this much slower than predicted is measured once more (see _surprisingly_slow).
SURPRISE_FACTOR = 1.5

# Two depths whose work differs by less than this factor cannot separate overhead from rate.
AFFINE_LEVERAGE = 1.5


# A call slower than this is its own warm-up (the gradient check runs it once) and gets the
# minimum repeats that still give an interquartile range.
SLOW_CALL_S = 0.25
MIN_REPEATS = 3

RESULT_COLUMNS = (
    "provider", "width", "depth", "batch_size", "layer_sizes", "n_parameters", "status",
    "reason", "multiplications", "loss_evaluations", "predicted_multiplications",
    "predicted_s", "median_s", "iqr_s", "min_s", "mean_s", "repeats", "loops",
    "max_rel_diff", "loss", "seed", "activation", "data", "blas_threads",
)  # fmt: skip
TIMING_COLUMNS = ("provider", "width", "depth", "repeat", "time_s")
FINISHED_STATUSES = ("ok", "skipped", "timed out", "failed")
CONFIG_FILE = "sweep.json"


@dataclass(frozen=True)
class SweepConfig:
    providers: tuple[str, ...] = DEFAULT_PROVIDERS
    widths: tuple[int, ...] = (2,)
    depths: tuple[int, ...] = DEFAULT_DEPTHS
    activation: str = "tanh"
    data: str = "digits"
    batch_size: int = 1
    budget_s: float = 1.0
    repeats: int = 7
    min_measure_s: float = 0.01
    # Warm-up before a cell's samples: a forked worker starts at about half speed here.
    warmup_s: float = 0.1
    # The samples of a fast cell span at least this long, several times the spells of about
    # 0.1 s in which these shared machines run at half speed, so the median sees past them.
    min_sampling_s: float = 0.5
    seed: int = 0
    hard_limit_s: float | None = None  # default: 20 budgets, at least 30 s

    def checked(self) -> SweepConfig:
        """This configuration with every field validated, or a clear error."""
        for name in self.providers:
            check_choice("providers", name, provider_names())
            if not get_provider(name).counted:
                raise ValueError(
                    f"`providers` must be providers whose work is counted, got {name!r}, "
                    "whose library is not instrumented: compare it with `gradscale peers`"
                )
        if not self.providers:
            raise ValueError("`providers` must name at least one provider, got none")
        for width in self.widths:
            check_positive_int("widths", width)
        for depth in self.depths:
            check_positive_int("depths", depth)
        if not self.widths or not self.depths:
            raise ValueError("`widths` and `depths` must each hold at least one value")
        check_choice("activation", self.activation, ACTIVATIONS)
        check_data_spec("data", self.data)
        check_positive_int("batch_size", self.batch_size)
        check_positive_finite("budget_s", self.budget_s)
        check_positive_int("repeats", self.repeats)
        check_positive_finite("min_measure_s", self.min_measure_s)
        for name in ("warmup_s", "min_sampling_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value < math.inf):
                raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}")
        check_positive_int("seed", self.seed, minimum=0)
        if self.hard_limit_s is not None:
            check_positive_finite("hard_limit_s", self.hard_limit_s)
        return SweepConfig(
            providers=tuple(dict.fromkeys(self.providers)),
            widths=tuple(sorted(set(self.widths))),
            depths=tuple(sorted(set(self.depths))),
            **{
                f.name: getattr(self, f.name)
                for f in fields(self)
                if f.name not in ("providers", "widths", "depths")
            },
        )

    @property
    def limit_s(self) -> float:
        return self.hard_limit_s or max(30.0, 20.0 * self.budget_s)

    def to_dict(self) -> dict:
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> SweepConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"sweep config has unknown fields: {', '.join(unknown)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(frozen=True)
class Cell:
    provider: str
    width: int
    depth: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.provider, self.width, self.depth)


@dataclass
class SweepState:
    """What a sweep has so far; rewritten to the run folder after every cell."""

    folder: Path
    config: SweepConfig
    rows: list[dict] = field(default_factory=list)
    timings: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def done(self) -> set[tuple[str, int, int]]:
        return {(r["provider"], r["width"], r["depth"]) for r in self.rows}

    def save(self, status: str) -> None:
        self.metadata["status"] = status
        self.metadata["cells_done"] = len(self.rows)
        write_csv_atomic(self.folder / "results.csv", results_frame(self.rows))
        write_csv_atomic(
            self.folder / "timings.csv", pd.DataFrame(self.timings, columns=TIMING_COLUMNS)
        )
        write_json_atomic(self.folder / "metadata.json", self.metadata)
        # The metadata cuts paths to their last name; resuming needs the configuration whole.
        write_json_atomic(self.folder / CONFIG_FILE, self.config.to_dict())


def results_frame(rows: Sequence[dict]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=RESULT_COLUMNS)


def layer_sizes_for(data: Dataset, width: int, depth: int) -> tuple[int, ...]:
    return (data.n_inputs, *([width] * depth), data.n_outputs)


def plan_cells(config: SweepConfig) -> list[Cell]:
    """Every cell, depth by depth; the provider order rotates so none is always first."""
    cells = []
    for index, depth in enumerate(config.depths):
        shift = index % len(config.providers)
        providers = config.providers[shift:] + config.providers[:shift]
        for width in config.widths:
            cells.extend(Cell(name, width, depth) for name in providers)
    return cells


def predict_seconds(measured: Sequence[dict], multiplications: int) -> float:
    """Seconds for a cell of ``multiplications``, from the provider's previous depths.

    Where the last two depths differ enough in work (a factor ``AFFINE_LEVERAGE``), time is
    taken as overhead + rate * multiplications through both; closer together, their time
    difference is mostly noise, and time is scaled from the last depth alone, which can only
    over-predict when there is an overhead. With nothing measured, an optimistic rate is used.
    """
    ok = [r for r in measured if r["status"] == "ok"]
    if not ok:
        return multiplications * OPTIMISTIC_S_PER_MULTIPLICATION
    last = ok[-1]
    proportional = last["median_s"] * multiplications / last["multiplications"]
    if len(ok) < 2 or last["multiplications"] < AFFINE_LEVERAGE * ok[-2]["multiplications"]:
        return proportional
    before = ok[-2]
    rate = (last["median_s"] - before["median_s"]) / (
        last["multiplications"] - before["multiplications"]
    )
    if rate <= 0:
        return proportional
    overhead = max(0.0, last["median_s"] - rate * last["multiplications"])
    return overhead + rate * multiplications


def sweep_batch(data: Dataset, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed batch every cell uses: the first samples of the training set."""
    if batch_size > data.train_inputs.shape[0]:
        raise ValueError(
            f"`batch_size` must be at most the training set's {data.train_inputs.shape[0]} "
            f"samples, got {batch_size}"
        )
    return data.train_inputs[:batch_size], data.train_targets[:batch_size]


def measure_cell(cell: Cell, config: SweepConfig, data: Dataset) -> tuple[dict, list[float]]:
    """Check, count and time one cell; returns its row and its timed samples."""
    loss = get_loss(data.loss_name)
    sizes = layer_sizes_for(data, cell.width, cell.depth)
    network = MLP(sizes, config.activation, seed=config.seed)
    provider = get_provider(cell.provider)
    inputs, targets = check_batch(network, loss, *sweep_batch(data, config.batch_size))

    with single_thread_blas() as pinned:
        reference = get_provider("backprop").compute(network, loss, inputs, targets)
        started_s = time.perf_counter()
        evaluation = provider.compute(network, loss, inputs, targets)
        first_call_s = time.perf_counter() - started_s

        slow = first_call_s > SLOW_CALL_S
        timing = time_callable(
            lambda: provider.compute(network, loss, inputs, targets),
            repeats=MIN_REPEATS if slow else config.repeats,
            warmup=0 if slow else 1,
            min_measure_s=config.min_measure_s,
            loops=1 if slow else None,
            warmup_s=0.0 if slow else config.warmup_s,
            min_total_s=0.0 if slow else config.min_sampling_s,
        )

    is_reference = cell.provider == "backprop"
    row = {
        "status": "ok",
        "reason": "",
        "multiplications": evaluation.counts.multiplications,
        "loss_evaluations": evaluation.counts.loss_evaluations,
        "median_s": timing.median_s,
        "iqr_s": timing.iqr_s,
        "min_s": timing.min_s,
        "mean_s": timing.mean_s,
        "repeats": timing.n_repeats,
        "loops": timing.loops,
        "max_rel_diff": math.nan
        if is_reference
        else max_relative_difference(reference.gradient, evaluation.gradient),
        "loss": evaluation.loss,
        "blas_threads": max((lib["threads_after"] or 1 for lib in pinned.values()), default=1),
    }
    return row, list(timing.samples_s)


class CellTimedOut(Exception):
    pass


def run_isolated(task: Callable[[], object], limit_s: float) -> object:
    """Run ``task`` in a forked child and return its result; kill it past ``limit_s``.

    Forking shares the parent's loaded data and registered providers with the child at no
    cost; the child ignores Ctrl-C so that the parent alone decides what an interrupt does.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(task, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limit_s):
            raise CellTimedOut(f"stopped after the hard limit of {limit_s:g} s")
        kind, payload = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the worker process died (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if kind == "error":
        raise RuntimeError(payload)
    return payload


def _child_main(task: Callable[[], object], sender) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        sender.send(("ok", task()))
    except BaseException as error:  # anything, so the parent hears of it instead of EOF
        sender.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        sender.close()
        os._exit(0)


def base_row(cell: Cell, config: SweepConfig, data: Dataset) -> dict:
    sizes = layer_sizes_for(data, cell.width, cell.depth)
    provider = get_provider(cell.provider)
    predicted = provider.predict_counts(sizes, config.batch_size)
    n_parameters = sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes, sizes[1:]))
    row = dict.fromkeys(RESULT_COLUMNS, math.nan)
    row.update(
        provider=cell.provider,
        width=cell.width,
        depth=cell.depth,
        batch_size=config.batch_size,
        layer_sizes="-".join(map(str, sizes)),
        n_parameters=n_parameters,
        reason="",
        predicted_multiplications=predicted.multiplications,
        seed=config.seed,
        activation=config.activation,
        data=data.name,
    )
    return row


def run_sweep(
    config: SweepConfig,
    folder: Path,
    *,
    on_cell: Callable[[dict, int, int], None] | None = None,
    resume: bool = False,
    isolate: bool = True,
) -> SweepState:
    """Run the sweep into ``folder``; with ``resume``, skip the cells already recorded there.

    An interrupt (Ctrl-C, SIGTERM) propagates as KeyboardInterrupt after the state has been
    saved with status "interrupted".
    """
    folder = Path(folder)
    if resume:
        state = load_state(folder)
        config = state.config
    else:
        config = config.checked()
        state = SweepState(folder, config, metadata=run_metadata({"sweep": config.to_dict()}))
    data = load_dataset(config.data, seed=config.seed)
    sweep_batch(data, config.batch_size)
    folder.mkdir(parents=True, exist_ok=True)

    cells = plan_cells(config)
    done = state.done()
    measured: dict[tuple[str, int], list[dict]] = {}
    stopped: dict[tuple[str, int], str] = {}
    for row in state.rows:
        _remember(row, measured, stopped)

    state.save("running")
    previous_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for index, cell in enumerate(cells):
            if cell.key in done:
                continue
            row = _run_cell(cell, config, data, measured, stopped, isolate, state.timings)
            state.rows.append(row)
            _remember(row, measured, stopped)
            state.save("running")
            if on_cell is not None:
                on_cell(row, index + 1, len(cells))
        state.save("complete")
    except KeyboardInterrupt:
        state.save("interrupted")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    return state


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _remember(row: dict, measured: dict, stopped: dict) -> None:
    line = (row["provider"], row["width"])
    measured.setdefault(line, []).append(row)
    if row["status"] != "ok":
        stopped.setdefault(line, f"a shallower depth was {row['status']}")


def _run_cell(cell, config, data, measured, stopped, isolate, timings) -> dict:
    row = base_row(cell, config, data)
    line = (cell.provider, cell.width)
    predicted_s = predict_seconds(measured.get(line, []), row["predicted_multiplications"])
    row["predicted_s"] = predicted_s

    if line in stopped:
        row.update(status="skipped", reason=stopped[line])
        return row
    if predicted_s > config.budget_s:
        row.update(
            status="skipped",
            reason=f"predicted {row['predicted_multiplications']:.3g} multiplications and "
            f"{predicted_s:.3g} s per gradient, which exceeds the budget of {config.budget_s:g} s",
        )
        return row

    def task():
        return measure_cell(cell, config, data)

    try:
        measurement, samples = run_isolated(task, config.limit_s) if isolate else task()
        first_s = measurement["median_s"]
        if _surprisingly_slow(first_s, predicted_s, measured.get(line, [])):
            again, again_samples = run_isolated(task, config.limit_s) if isolate else task()
            if again["median_s"] < first_s:
                measurement, samples = again, again_samples
            measurement["reason"] = (
                f"re-measured: the first median, {first_s:.3g} s, was "
                f"{first_s / predicted_s:.2g} x the prediction; the lower median is kept"
            )
    except CellTimedOut as error:
        row.update(status="timed out", reason=str(error))
        return row
    except RuntimeError as error:
        row.update(status="failed", reason=str(error))
        return row

    row.update(measurement)
    timings.extend(
        {"provider": cell.provider, "width": cell.width, "depth": cell.depth,
         "repeat": repeat, "time_s": sample}
        for repeat, sample in enumerate(samples)
    )  # fmt: skip
    return row


def _surprisingly_slow(median_s: float, predicted_s: float, measured: Sequence[dict]) -> bool:
    """Whether a fast cell took so much longer than its neighbours predict that the machine,
    not the code, is the likelier cause: these shared machines run at half speed for spells
    of up to a second or so, which a cell's samples cannot outlast.

    Interference only ever slows a measurement down, so the lower of two medians is the
    better estimate of the code's cost; only a prediction from two measured depths counts.
    """
    enough = sum(row["status"] == "ok" for row in measured) >= 2
    return enough and median_s < SLOW_CALL_S and median_s > SURPRISE_FACTOR * predicted_s


def load_state(folder: Path) -> SweepState:
    """A sweep's saved state, to resume it; a foreign or broken folder is refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such run folder")
    metadata = read_json(folder / "metadata.json", what="run metadata")
    if not isinstance(metadata, dict) or "config" not in metadata:
        raise ValueError(f"{folder / 'metadata.json'}: not a gradscale run's metadata")
    sweep = read_json(folder / CONFIG_FILE, what="sweep configuration")
    if not isinstance(sweep, dict):
        raise ValueError(f"{folder / CONFIG_FILE}: not a sweep configuration")
    config = SweepConfig.from_dict(sweep).checked()
    results, timings = _read_tables(folder)
    rows = [_clean_row(r) for r in results.to_dict("records")]
    return SweepState(folder, config, rows, timings.to_dict("records"), metadata)


def _clean_row(row: dict) -> dict:
    row["reason"] = "" if pd.isna(row["reason"]) else row["reason"]
    for key in ("width", "depth", "batch_size", "n_parameters", "seed"):
        row[key] = int(row[key])
    return row


def _read_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    results = read_csv(
        folder / "results.csv", what="results file", required_columns=RESULT_COLUMNS
    )
    bad = sorted(set(results["status"]) - set(FINISHED_STATUSES))
    if bad:
        raise ValueError(f"{folder / 'results.csv'}: unknown status values: {', '.join(bad)}")
    timings = read_csv(
        folder / "timings.csv", what="timings file", required_columns=TIMING_COLUMNS
    )
    return results, timings


def load_results(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(results, timings, metadata) of a run folder."""
    folder = Path(folder)
    metadata = read_json(folder / "metadata.json", what="run metadata")
    results, timings = _read_tables(folder)
    return results, timings, metadata
