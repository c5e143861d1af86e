"""Measuring the gate's cells: each one's counted work and its time against its forward pass.

For: ``Measurement``, timing one cell or a whole grid, and the settings a run records.
Not for: what the cells are (``bench.check.grid``) or instruction counts
(``bench.check.instructions``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bench.check.grid import (
    ACTIVATION,
    BATCH_SIZE,
    LOSS_NAME,
    N_CLASSES,
    N_INPUTS,
    SEED,
    WIDTH,
    cell_name,
    digits_shaped_problem,
    grid_depths,
)
from bench.timing import interleaved, single_thread_blas
from gradients import get_provider

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


def grid_config() -> dict:
    """The cells' shape and the measuring settings, as a run records them in its metadata."""
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
