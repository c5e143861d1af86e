"""pytest-benchmark suite: seconds per gradient of each provider by depth and width, and the
forward pass alone as the reference they are read against.

The cells are the gate's digits-shaped networks (``bench.check.digits_shaped_problem``: 64
inputs, tanh hidden layers, 10 classes, batch size 1). Each benchmark checks its gradient
against backprop after timing and records its cell in ``extra_info``. In the unit-test run
(``--benchmark-disable`` in pyproject.toml) every body runs once, so the suite stays a fast
correctness test; ``pytest bench/ --benchmark-enable --benchmark-only`` times it.
Not for: the regression gate (``bench.check``) or the depth sweep (``bench.sweep``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.check import SEED, digits_shaped_problem
from bench.timing import single_thread_blas
from gradients import get_provider
from gradients.gradcheck import max_relative_difference
from gradients.providers import forward_multiplications

# (provider, width, depth). Width matters for naive, whose cost grows by the width per layer,
# and for backprop, whose cost grows with its square; finite differences stay at width 2,
# where one gradient already takes milliseconds.
CELLS = (
    [("backprop", 2, depth) for depth in (1, 2, 4, 8, 16, 32, 64)]
    + [("backprop", 16, depth) for depth in (1, 4, 16)]
    + [("naive", 2, depth) for depth in range(1, 9)]
    + [("naive", 3, depth) for depth in range(1, 6)]
    + [("fd-forward", 2, depth) for depth in (1, 2, 4, 8)]
    + [("fd-central", 2, depth) for depth in (1, 2, 4, 8)]
)
FORWARD_CELLS = ((2, 1), (2, 8), (2, 32), (16, 4))

# A cell is slow, and gets pedantic mode with a fixed number of rounds, when one gradient does
# this many counted multiplications (about a millisecond here) or more than one forward pass:
# the automatic mode would otherwise spend its full time budget calibrating each of them.
SLOW_MULTIPLICATIONS = 1_000_000
PEDANTIC_ROUNDS = 5
PEDANTIC_WARMUP_ROUNDS = 1

# Largest max |g - g_backprop| / max |g_backprop| allowed. Exact providers agree to rounding
# (measured 2e-16); forward differences carry O(h) truncation (measured 6e-8) and central
# differences O(h^2) (measured 9e-11) at their default steps.
EXACT_TOLERANCE = 1e-12
FINITE_DIFFERENCE_TOLERANCE = {"fd-forward": 1e-6, "fd-central": 1e-8}


def cell_id(cell: tuple) -> str:
    return "-".join([cell[0], f"w{cell[1]}", f"d{cell[2]}"])


@pytest.fixture(scope="module")
def blas_threads() -> Iterator[dict[str, int]]:
    """BLAS and OpenMP pinned to one thread for the whole module; threads per library."""
    with single_thread_blas() as pinned:
        yield {name: entry["threads_after"] for name, entry in pinned.items()}


@pytest.mark.parametrize(
    ("provider_name", "width", "depth"), CELLS, ids=[cell_id(cell) for cell in CELLS]
)
def test_gradient(benchmark, blas_threads, provider_name, width, depth):
    provider = get_provider(provider_name)
    network, loss, inputs, targets = digits_shaped_problem(width, depth)
    predicted = provider.predict_counts(network.layer_sizes, inputs.shape[0])
    reference = get_provider("backprop").loss_and_gradient(network, loss, inputs, targets)

    def gradient():
        return provider.compute(network, loss, inputs, targets)

    benchmark.group = provider_name
    slow = predicted.multiplications >= SLOW_MULTIPLICATIONS or predicted.loss_evaluations > 1
    if slow:
        evaluation = benchmark.pedantic(
            gradient, rounds=PEDANTIC_ROUNDS, warmup_rounds=PEDANTIC_WARMUP_ROUNDS
        )
    else:
        evaluation = benchmark(gradient)

    error = max_relative_difference(reference.gradient, evaluation.gradient)
    benchmark.extra_info.update(
        provider=provider_name,
        layer_sizes="-".join(map(str, network.layer_sizes)),
        n_parameters=network.n_parameters,
        multiplications=evaluation.counts.multiplications,
        loss_evaluations=evaluation.counts.loss_evaluations,
        seed=SEED,
        blas_threads=blas_threads,
        max_rel_diff_vs_backprop=error,
        mode="pedantic" if slow else "auto",
    )
    tolerance = EXACT_TOLERANCE if provider.exact else FINITE_DIFFERENCE_TOLERANCE[provider_name]
    assert error <= tolerance, f"{cell_id((provider_name, width, depth))}: {error:.3g}"
    assert evaluation.counts == predicted


@pytest.mark.parametrize(
    ("width", "depth"), FORWARD_CELLS, ids=[f"w{width}-d{depth}" for width, depth in FORWARD_CELLS]
)
def test_forward_pass(benchmark, blas_threads, width, depth):
    network, _, inputs, _ = digits_shaped_problem(width, depth)
    benchmark.group = "forward"

    outputs = benchmark(network.forward, inputs)

    benchmark.extra_info.update(
        provider="forward",
        layer_sizes="-".join(map(str, network.layer_sizes)),
        n_parameters=network.n_parameters,
        multiplications=forward_multiplications(network.layer_sizes, inputs.shape[0]),
        loss_evaluations=0,
        seed=SEED,
        blas_threads=blas_threads,
        max_rel_diff_vs_backprop=None,
    )
    assert outputs.shape == (inputs.shape[0], network.layer_sizes[-1])
