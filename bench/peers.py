"""The side-by-side run: our providers against PyTorch, JAX and HIPS autograd, cell by cell.

For: one process that pins every library to one thread, builds each cell's network (digits
inputs, ``width`` units in each of ``depth`` hidden layers, a batch of 1 or 256 samples),
checks every provider's gradient against backprop's, then times all of them, gradient and
loss alone, interleaved in rounds so that drift of a shared machine hits them alike; the
machine's float64 matrix-multiply rate measured in the same process; a run folder holding
the results, their summary and the figure.
Not for: the depth sweep of our own providers (``bench.sweep``), judging the results
(``bench.peers_summary``) or the command line.

Fairness. A peer is timed on its own arrays: conversion and compilation happen in
``prepare`` and in a first call, both timed apart and recorded (``prepare_s``,
``first_call_s``: JAX's compilation). Our providers are timed through ``compute``, as the
SGD loop calls them. Thread pools: OpenMP, MKL and OpenBLAS read their thread counts from
the environment when they load, and XLA reads ``XLA_FLAGS`` when jax is imported, so the
variables are set before any peer is imported; torch's own counts are then set through its
API and every loaded BLAS or OpenMP pool is capped by threadpoolctl. Thread counts are not
the whole story, since a library may run work on a runtime thread of its own (JAX does), so
by default every thread of the process is kept on one CPU for the run. Each cell records the
process's CPU time over wall time: below 1, another process took the CPU for a while.

Slow providers. naive and finite differences are run only where their predicted time of one
gradient (their counted multiplications at the seconds per multiplication measured for them
at the previous depth, or for backprop in this cell before that) stays within ``budget_s``;
other cells are recorded as skipped with the prediction.
"""

from __future__ import annotations

import math
import os
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from bench.files import write_csv_atomic, write_json_atomic, write_text_atomic
from bench.metadata import run_metadata
from bench.peers_summary import REFERENCE, summarise, summary_markdown, write_ratio_figure
from bench.timing import interleaved, loop_overhead_s, single_thread_blas, time_callable
from gradients import MLP, get_loss, get_provider
from gradients.activations import ACTIVATIONS
from gradients.data import Dataset, load_dataset
from gradients.gradcheck import compare_gradients, max_relative_difference
from gradients.providers.peers import PEERS, register_peers
from gradients.validation import (
    check_batch,
    check_choice,
    check_positive_finite,
    check_positive_int,
)

WIDTHS = (2, 16, 64, 256)
DEPTHS = (1, 2, 4, 8, 16, 32)
BATCH_SIZES = (1, 256)
QUICK_WIDTHS = (2, 64)
QUICK_DEPTHS = (1, 4)
OURS = ("backprop", "naive", "fd-forward", "fd-central")
PEER_NAMES = tuple(PEERS)
# Our providers' loss alone is one numpy forward pass, shared by all of them.
NUMPY_FORWARD = "numpy"

# Values set before any peer is imported. XLA's flags are the ones that keep its CPU client
# to one thread; torch also reads OMP_NUM_THREADS and MKL_NUM_THREADS when it loads.
THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
XLA_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

# Tolerances of the check before timing. Exact providers may differ from backprop only by
# the order of their floating-point sums; finite differences by truncation and rounding,
# judged on the scale of the largest entry.
EXACT_RTOL = 1e-6
EXACT_ATOL = 1e-10
APPROXIMATE_MAX_REL_DIFF = 1e-4

# A cell whose slowest first call exceeds this gets the minimum rounds that still give an
# interquartile range; the default run would take far longer otherwise.
SLOW_CALL_S = 0.5
MIN_ROUNDS = 3

# Matrix sizes of the machine's float64 multiply rate: the largest gives the peak.
MATMUL_SIZES = (256, 1024)

RESULT_COLUMNS = (
    "provider", "kind", "width", "depth", "batch_size", "layer_sizes", "n_parameters",
    "status", "reason", "median_s", "iqr_s", "min_s", "repeats", "loops",
    "loss_only_median_s", "loss_only_iqr_s", "gradient_over_loss_only", "prepare_s",
    "first_call_s", "first_loss_call_s", "max_rel_diff", "multiplications",
    "s_per_multiplication", "predicted_s", "cpu_over_wall", "seed", "activation", "data",
)  # fmt: skip
TIMING_COLUMNS = ("provider", "measure", "width", "depth", "batch_size", "repeat", "time_s")


@dataclass(frozen=True)
class PeersConfig:
    widths: tuple[int, ...] = WIDTHS
    depths: tuple[int, ...] = DEPTHS
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    ours: tuple[str, ...] = OURS
    peers: tuple[str, ...] = PEER_NAMES
    activation: str = "tanh"
    data: str = "digits"
    rounds: int = 7
    min_measure_s: float = 0.002
    budget_s: float = 0.1
    seed: int = 0
    matmul_sizes: tuple[int, ...] = MATMUL_SIZES
    one_cpu: bool = True  # every thread of the process on one CPU while timing

    def checked(self) -> PeersConfig:
        """This configuration with every field validated, or a clear error."""
        for name, values in (("widths", self.widths), ("depths", self.depths)):
            if not values:
                raise ValueError(f"`{name}` must hold at least one value, got none")
            for value in values:
                check_positive_int(name, value)
        if not self.batch_sizes:
            raise ValueError("`batch_sizes` must hold at least one value, got none")
        for batch_size in self.batch_sizes:
            check_positive_int("batch_sizes", batch_size)
        if REFERENCE not in self.ours:
            raise ValueError(f"`ours` must include {REFERENCE}, the reference, got {self.ours}")
        for name in self.ours:
            check_choice("ours", name, OURS)
        for name in self.peers:
            check_choice("peers", name, PEER_NAMES)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_positive_int("rounds", self.rounds)
        check_positive_finite("min_measure_s", self.min_measure_s)
        check_positive_finite("budget_s", self.budget_s)
        check_positive_int("seed", self.seed, minimum=0)
        for size in self.matmul_sizes:
            check_positive_int("matmul_sizes", size)
        return self

    def to_dict(self) -> dict:
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}


def quick_config(**overrides: object) -> PeersConfig:
    """The small grid for CI: two widths, two depths, both batch sizes, fewer rounds."""
    values = {"widths": QUICK_WIDTHS, "depths": QUICK_DEPTHS, "rounds": 5, "budget_s": 0.02}
    return PeersConfig(**{**values, **overrides})


# --- Threads and peers -------------------------------------------------------------------


@contextmanager
def thread_environment() -> Iterator[dict]:
    """Set the thread variables for libraries loaded inside; restore them on exit.

    Yields what was set and which peer packages had already been imported (for those the
    variables come too late, and the record says so).
    """
    previous = {name: os.environ.get(name) for name in (*THREAD_ENVIRONMENT, "XLA_FLAGS")}
    flags = os.environ.get("XLA_FLAGS", "")
    if XLA_THREAD_FLAGS not in flags:
        flags = f"{flags} {XLA_THREAD_FLAGS}".strip()
    os.environ.update(THREAD_ENVIRONMENT, XLA_FLAGS=flags)
    imported_before = sorted({PEERS[name].package for name in PEERS} & set(sys.modules))
    try:
        yield {
            "environment": {**THREAD_ENVIRONMENT, "XLA_FLAGS": flags},
            "imported_before_pinning": imported_before,
        }
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def thread_ids() -> list[int]:
    """This process's threads (Linux), or just "the calling thread" (0) elsewhere."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]


@contextmanager
def one_cpu(enabled: bool = True) -> Iterator[int | None]:
    """Keep every thread of this process, and those it starts, on one CPU; restore after.

    Yields the CPU, or None where affinity cannot be set (or ``enabled`` is False). Thread
    counts alone do not make a run single-core: JAX executes a compiled call on a runtime
    thread of its own while the calling thread waits for the result, and at batch 1 that
    used 1.5 CPUs per wall second on this project's machines.
    """
    if not enabled or not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    _set_affinity({cpu})
    try:
        yield cpu
    finally:
        _set_affinity(allowed)


def _set_affinity(cpus: set[int]) -> None:
    for thread in thread_ids():
        try:
            os.sched_setaffinity(thread, cpus)
        except OSError:  # a thread that ended since it was listed
            continue


def pin_torch_threads() -> dict:
    """One intra-op and one inter-op thread for torch, if it is loaded; what it reports."""
    if "torch" not in sys.modules:
        return {}
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as error:  # allowed only before torch's first parallel work
        interop_note = str(error)
    else:
        interop_note = ""
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    return {
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "interop_note": interop_note,
        "blas": blas.group(1) if blas else "unknown",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def load_peers(names: tuple[str, ...]) -> tuple[dict[str, object], dict[str, str]]:
    """The peers that could be constructed here, and the others with the reason why not."""
    reasons = register_peers()
    available, absent = {}, {}
    for name in names:
        if reasons[name] is not None:
            absent[name] = reasons[name]
            continue
        try:
            available[name] = get_provider(name)
        except Exception as error:  # a broken install of a peer must not stop the others
            absent[name] = (
                f"{PEERS[name].package} failed to import: {type(error).__name__}: {error}"
            )
    return available, absent


def peer_versions() -> dict[str, str]:
    versions = {}
    for package in ("torch", "jax", "jaxlib", "autograd"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def jax_settings() -> dict:
    if "jax" not in sys.modules:
        return {}
    import jax

    return {
        "enable_x64": bool(jax.config.read("jax_enable_x64")),
        "devices": [str(device) for device in jax.devices()],
    }


def matmul_rates(sizes: tuple[int, ...] = MATMUL_SIZES, repeats: int = 7) -> dict[str, float]:
    """Multiplications per second of an n x n float64 product, by n (call under pinning)."""
    rng = np.random.default_rng(0)
    rates = {}
    for n in sizes:
        product = _matmul_call(rng.standard_normal((n, n)), rng.standard_normal((n, n)))
        timing = time_callable(product, repeats=repeats, min_measure_s=0.02)
        rates[str(n)] = n**3 / timing.median_s
    return rates


def _matmul_call(A: np.ndarray, B: np.ndarray) -> Callable[[], object]:
    C = np.empty((A.shape[0], B.shape[1]))

    def call():
        return np.dot(A, B, out=C)

    return call


# --- One cell ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    width: int
    depth: int
    batch_size: int


def layer_sizes_for(data: Dataset, cell: Cell) -> tuple[int, ...]:
    return (data.n_inputs, *([cell.width] * cell.depth), data.n_outputs)


def plan_cells(config: PeersConfig) -> list[Cell]:
    """Batch by batch, narrow to wide, shallow to deep: the budget's predictions need the
    cells before."""
    return [
        Cell(width, depth, batch_size)
        for batch_size in config.batch_sizes
        for width in sorted(config.widths)
        for depth in sorted(config.depths)
    ]


@dataclass
class CellRun:
    """What one cell produced: a row per provider and every timed sample."""

    rows: list[dict] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)


def base_row(name: str, kind: str, cell: Cell, network: MLP, config: PeersConfig, data) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS, math.nan)
    row.update(
        provider=name,
        kind=kind,
        width=cell.width,
        depth=cell.depth,
        batch_size=cell.batch_size,
        layer_sizes="-".join(map(str, network.layer_sizes)),
        n_parameters=network.n_parameters,
        status="ok",
        reason="",
        seed=config.seed,
        activation=config.activation,
        data=data.name,
    )
    return row


def check_against_reference(name: str, exact: bool, reference, candidate) -> str:
    """Why ``candidate`` fails the check against backprop's gradient, or "" when it passes."""
    if not exact:
        difference = max_relative_difference(reference, candidate)
        if difference <= APPROXIMATE_MAX_REL_DIFF:
            return ""
        return f"max relative difference {difference:.3g} exceeds {APPROXIMATE_MAX_REL_DIFF:g}"
    comparison = compare_gradients(reference, candidate, rtol=EXACT_RTOL, atol=EXACT_ATOL)
    return "" if comparison.passed else f"gradient check against backprop {comparison.summary()}"


def seconds_per_multiplication(previous: dict | None, fallback: float) -> float:
    """The larger of ``fallback`` and the seconds per multiplication of a previous cell."""
    if previous is None:
        return fallback
    return max(fallback, previous["median_s"] / previous["multiplications"])


def run_cell(
    cell: Cell,
    config: PeersConfig,
    data: Dataset,
    peers: dict[str, object],
    previous: dict[str, dict],
) -> CellRun:
    """Check, then time, every provider of one cell.

    ``previous`` holds, per provider, its last cell that ran at this batch size: the same
    width one depth shallower where there is one, else the deepest of a narrower width.
    """
    loss = get_loss(data.loss_name)
    network = MLP(layer_sizes_for(data, cell), config.activation, seed=config.seed)
    inputs, targets = check_batch(
        network, loss, data.train_inputs[: cell.batch_size], data.train_targets[: cell.batch_size]
    )
    run = CellRun()
    rows: dict[str, dict] = {}
    gradient_timers: dict[str, Callable[[], object]] = {}
    loss_timers: dict[str, Callable[[], object]] = {}
    call_s = []  # one steady call per provider: how slow the cell is

    # Ours: backprop first, the reference for every check and the budget's rate.
    backprop = get_provider(REFERENCE)
    reference = backprop.compute(network, loss, inputs, targets)
    probe = time_callable(
        lambda: backprop.compute(network, loss, inputs, targets), repeats=3, min_measure_s=1e-3
    )
    backprop_rate_s = probe.median_s / reference.counts.multiplications
    loss_timers[NUMPY_FORWARD] = lambda: loss.value(network.forward(inputs), targets)
    for name in config.ours:
        provider = get_provider(name)
        row = rows[name] = base_row(name, "ours", cell, network, config, data)
        predicted = provider.predict_counts(network.layer_sizes, cell.batch_size)
        rate_s = seconds_per_multiplication(previous.get(name), backprop_rate_s)
        row["predicted_s"] = predicted.multiplications * rate_s
        if name != REFERENCE and row["predicted_s"] > config.budget_s:
            row.update(
                status="skipped",
                reason=f"predicted {row['predicted_s']:.3g} s per gradient exceeds the "
                f"budget of {config.budget_s:g} s",
            )
            continue
        started_s = time.perf_counter()
        evaluation = provider.compute(network, loss, inputs, targets)
        row["first_call_s"] = time.perf_counter() - started_s
        call_s.append(row["first_call_s"])
        row["multiplications"] = evaluation.counts.multiplications
        if name != REFERENCE:
            row["max_rel_diff"] = max_relative_difference(reference.gradient, evaluation.gradient)
            failure = check_against_reference(
                name, provider.exact, reference.gradient, evaluation.gradient
            )
            if failure:
                row.update(status="failed", reason=failure)
                continue
        gradient_timers[name] = _compute_call(provider, network, loss, inputs, targets)

    # Peers: prepare and first call timed apart, then the same check.
    for name, peer in peers.items():
        row = rows[name] = base_row(name, "peer", cell, network, config, data)
        try:
            started_s = time.perf_counter()
            prepared = peer.prepare(network, loss, inputs, targets)
            row["prepare_s"] = time.perf_counter() - started_s
            started_s = time.perf_counter()
            result = prepared.gradient()
            row["first_call_s"] = time.perf_counter() - started_s
            started_s = time.perf_counter()
            prepared.loss_only()
            row["first_loss_call_s"] = time.perf_counter() - started_s
            evaluation = prepared.evaluation(result)
        except Exception as error:  # one peer's failure is a result, not the end of the run
            row.update(status="failed", reason=f"{type(error).__name__}: {error}")
            continue
        row["max_rel_diff"] = max_relative_difference(reference.gradient, evaluation.gradient)
        failure = check_against_reference(name, True, reference.gradient, evaluation.gradient)
        if failure:
            row.update(status="failed", reason=failure)
            continue
        # The first call may have compiled (JAX), so the second says how slow the cell is.
        started_s = time.perf_counter()
        prepared.gradient()
        call_s.append(time.perf_counter() - started_s)
        gradient_timers[name] = prepared.gradient
        loss_timers[name] = prepared.loss_only

    # Every gradient and every loss alone, interleaved in the same rounds.
    slow = max(call_s, default=0.0) > SLOW_CALL_S
    timers = {("gradient", name): fn for name, fn in gradient_timers.items()}
    timers.update({("loss-only", name): fn for name, fn in loss_timers.items()})
    usage_before, wall_started_s = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    timings = interleaved(
        timers,
        rounds=MIN_ROUNDS if slow else config.rounds,
        warmup=0,  # every callable ran at least once above
        min_measure_s=config.min_measure_s,
    )
    cpu_over_wall = _cpu_seconds_since(usage_before) / (time.perf_counter() - wall_started_s)

    for (measure, name), timing in timings.items():
        run.samples.extend(
            {"provider": name, "measure": measure, "width": cell.width, "depth": cell.depth,
             "batch_size": cell.batch_size, "repeat": repeat, "time_s": sample}
            for repeat, sample in enumerate(timing.samples_s)
        )  # fmt: skip
    for name, row in rows.items():
        row["cpu_over_wall"] = cpu_over_wall
        if row["status"] != "ok":
            continue
        timing = timings[("gradient", name)]
        row.update(
            median_s=timing.median_s,
            iqr_s=timing.iqr_s,
            min_s=timing.min_s,
            repeats=timing.n_repeats,
            loops=timing.loops,
        )
        loss_only = timings[("loss-only", name if name in peers else NUMPY_FORWARD)]
        row.update(
            loss_only_median_s=loss_only.median_s,
            loss_only_iqr_s=loss_only.iqr_s,
            gradient_over_loss_only=timing.median_s / loss_only.median_s,
        )
        if row["kind"] == "ours":
            row["s_per_multiplication"] = timing.median_s / row["multiplications"]
    run.rows = list(rows.values())
    return run


def _compute_call(provider, network, loss, inputs, targets) -> Callable[[], object]:
    def call():
        return provider.compute(network, loss, inputs, targets)

    return call


def _cpu_seconds_since(before) -> float:
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# --- The whole run --------------------------------------------------------------------------


@dataclass
class PeersRun:
    folder: Path
    results: pd.DataFrame
    timings: pd.DataFrame
    metadata: dict
    summary: dict


def results_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def run_peers(
    config: PeersConfig,
    folder: Path,
    *,
    on_cell: Callable[[Cell, int, int], None] | None = None,
) -> PeersRun:
    """Run every cell into ``folder``: results.csv, timings.csv, metadata.json, the summary
    (summary.json, summary.md) and the figure (ratio.png, ratio.svg)."""
    config = config.checked()
    folder = Path(folder)
    started_s = time.perf_counter()
    data = load_dataset(config.data, seed=config.seed)
    largest = max(config.batch_sizes)
    if largest > data.train_inputs.shape[0]:
        raise ValueError(
            f"`batch_sizes` must be at most the training set's {data.train_inputs.shape[0]} "
            f"samples, got {largest}"
        )

    rows, samples = [], []
    cells = plan_cells(config)
    with one_cpu(config.one_cpu) as cpu:
        with thread_environment() as threads:
            peers, absent = load_peers(config.peers)
            threads["torch"] = pin_torch_threads()
        threads["jax"] = jax_settings()
        threads["cpu"] = cpu

        with single_thread_blas() as pinned:
            threads["threadpools"] = pinned
            rates = matmul_rates(config.matmul_sizes)
            overhead_s = loop_overhead_s()
            previous: dict[int, dict[str, dict]] = {}
            for index, cell in enumerate(cells):
                last_ok = previous.setdefault(cell.batch_size, {})
                run = run_cell(cell, config, data, peers, last_ok)
                ran = {row["provider"]: row for row in run.rows if row["status"] == "ok"}
                last_ok.update(ran)
                rows.extend(run.rows)
                samples.extend(run.samples)
                write_csv_atomic(folder / "results.csv", results_frame(rows))
                if on_cell is not None:
                    on_cell(cell, index + 1, len(cells))

    results = results_frame(rows)
    timings = pd.DataFrame(samples, columns=TIMING_COLUMNS)
    metadata = run_metadata({"peers": config.to_dict()})
    metadata.update(
        peers={"available": sorted(peers), "absent": absent, "versions": peer_versions()},
        threads=threads,
        matmul_multiplications_per_s=rates,
        loop_overhead_s=overhead_s,
        elapsed_s=time.perf_counter() - started_s,
    )
    summary = summarise(results, metadata)
    write_csv_atomic(folder / "results.csv", results)
    write_csv_atomic(folder / "timings.csv", timings)
    write_json_atomic(folder / "metadata.json", metadata)
    write_json_atomic(folder / "summary.json", summary)
    write_text_atomic(folder / "summary.md", summary_markdown(summary, metadata))
    write_ratio_figure(results, folder / "ratio")
    return PeersRun(folder, results, timings, metadata, summary)
