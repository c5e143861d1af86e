"""The cost of one update against the size of the data set: per-sample SGD and full-batch GD.

For: the claim that one SGD update (batch 1) costs the same whatever the data set, while one
gradient-descent update (the whole data set as its batch) grows linearly with it. Data are
teacher-student samples, nested (each size is a prefix of the largest); the network is one
student of fixed shape. Each update -- one backprop call and the parameter step -- is timed
under single-threaded BLAS (``bench.timing.interleaved``: every size in each round), and its
multiplications are counted. The growth is the slope of log(cost) against log(size): 0 for
constant, 1 for linear.
Not for: how fast training converges (see ``training_curves``), or other providers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from bench.logplot import plot_positive, save_png_and_svg
from bench.timing import interleaved, single_thread_blas
from gradients import MLP, get_loss, get_provider
from gradients.data import teacher_student
from gradients.validation import check_positive_int

SIZES = (100, 300, 1000, 3000, 10000)
N_INPUTS = 20
WIDTH = 16
DEPTH = 2
# Small enough that thousands of timed updates leave the network where it started, in effect.
LEARNING_RATE = 1e-3
CONFIDENCE = 0.95
MICROSECONDS_PER_SECOND = 1e6

SGD = "per-sample SGD"
GD = "full-batch GD"
# The minimum of the repeats is reported next to the median: on a shared machine it is the
# repeat least disturbed by other work, so its slope is the cleaner estimate of the cost.
COSTS = ("multiplications", "median_s", "min_s")


def run(
    sizes: Sequence[int] = SIZES,
    *,
    n_inputs: int = N_INPUTS,
    width: int = WIDTH,
    depth: int = DEPTH,
    repeats: int = 7,
    min_measure_s: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (method, data-set size): counts and timing of one update."""
    sizes = sorted(check_positive_int("sizes", size, minimum=2) for size in sizes)
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"`sizes` must be distinct, got {sizes}")
    data = teacher_student(sizes[-1], n_inputs, test_fraction=0.0, seed=seed)
    loss = get_loss("mse")
    backprop = get_provider("backprop")
    hidden = [check_positive_int("width", width)] * check_positive_int("depth", depth)
    layer_sizes = (n_inputs, *hidden, 1)

    updates, counts = {}, {}
    for n in sizes:
        X, Y = data.train_inputs[:n], data.train_targets[:n]
        updates[(SGD, n)] = per_sample_update(backprop, loss, X, Y, layer_sizes, seed)
        updates[(GD, n)] = full_batch_update(backprop, loss, X, Y, layer_sizes, seed)
        counts.update({key: updates[key]() for key in ((SGD, n), (GD, n))})

    # Interleaved rounds, so that a slow spell of the machine hits every size alike instead of
    # bending the curve at whichever sizes happened to be timed during it.
    with single_thread_blas():
        timings = interleaved(
            {f"{method} {n}": update for (method, n), update in updates.items()},
            rounds=repeats,
            min_measure_s=min_measure_s,
        )

    rows = []
    for (method, n), update_counts in counts.items():
        timing = timings[f"{method} {n}"]
        rows.append(
            {
                "method": method,
                "batch_size": 1 if method == SGD else n,
                "n_samples": n,
                "layer_sizes": "-".join(map(str, layer_sizes)),
                "multiplications": update_counts.multiplications,
                "loss_evaluations": update_counts.loss_evaluations,
                "median_s": timing.median_s,
                "iqr_s": timing.iqr_s,
                "min_s": timing.min_s,
                "repeats": timing.n_repeats,
                "loops": timing.loops,
                "seed": seed,
            }
        )
    return pd.DataFrame(rows)


def per_sample_update(provider, loss, X, Y, layer_sizes, seed: int) -> Callable:
    """One SGD step on the next sample in turn; returns the step's counts."""
    network = MLP(layer_sizes, seed=seed)
    samples = itertools.cycle(range(X.shape[0]))

    def update():
        i = next(samples)
        evaluation = provider.compute(network, loss, X[i : i + 1], Y[i : i + 1])
        network.parameters -= LEARNING_RATE * evaluation.gradient
        return evaluation.counts

    return update


def full_batch_update(provider, loss, X, Y, layer_sizes, seed: int) -> Callable:
    """One gradient-descent step on all of ``X``; returns the step's counts."""
    network = MLP(layer_sizes, seed=seed)

    def update():
        evaluation = provider.compute(network, loss, X, Y)
        network.parameters -= LEARNING_RATE * evaluation.gradient
        return evaluation.counts

    return update


def summary(frame: pd.DataFrame) -> dict:
    """Per method and cost: slope of log(cost) on log(size) with its interval, and R^2."""
    result = {"sizes": sorted(int(n) for n in frame["n_samples"].unique())}
    for method, rows in frame.groupby("method", sort=False):
        rows = rows.sort_values("n_samples")
        result[method] = {cost: log_log_slope(rows["n_samples"], rows[cost]) for cost in COSTS}
    largest = frame[frame["n_samples"] == frame["n_samples"].max()].set_index("method")
    result["gd_over_sgd_at_largest"] = {
        cost: float(largest.loc[GD, cost] / largest.loc[SGD, cost]) for cost in COSTS
    }
    return result


def log_log_slope(sizes, costs, *, confidence: float = CONFIDENCE) -> dict:
    """Least-squares slope of log10(cost) on log10(size), with a t interval.

    Written out rather than taken from ``scipy.stats.linregress``, whose standard error is NaN
    when the costs are all equal -- exactly the case of counted SGD costs, whose slope is 0
    with no scatter at all.
    """
    x = np.log10(np.asarray(sizes, dtype=float))
    y = np.log10(np.asarray(costs, dtype=float))
    if x.size < 3:
        raise ValueError(f"`sizes` must hold three sizes or more for an interval, got {x.size}")
    dx = x - x.mean()
    slope = float(np.sum(dx * (y - y.mean())) / np.sum(dx * dx))
    intercept = float(y.mean() - slope * x.mean())
    residuals = y - (intercept + slope * x)
    dof = x.size - 2
    stderr = float(np.sqrt(np.sum(residuals**2) / dof / np.sum(dx * dx)))
    half_width = float(stats.t.ppf(0.5 * (1 + confidence), dof)) * stderr
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "slope": slope,
        "low": slope - half_width,
        "high": slope + half_width,
        "stderr": stderr,
        "confidence": confidence,
        "r_squared": 1.0 - float(np.sum(residuals**2)) / total if total > 0 else float("nan"),
    }


def plot(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """Cost of one update against data-set size, log-log: time and counted multiplications."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    time_ax, count_ax = figure.subplots(1, 2)
    fits = summary(frame)

    for method, rows in frame.groupby("method", sort=False):
        rows = rows.sort_values("n_samples")
        panels = (
            (time_ax, "median_s", "median", {}),
            (time_ax, "min_s", "fastest repeat", {"linestyle": ":", "markerfacecolor": "none"}),
            (count_ax, "multiplications", "", {}),
        )
        colour = None
        for ax, cost, statistic, style in panels:
            fit = fits[method][cost]
            seconds = cost.endswith("_s")
            name = f"{method}, {statistic}" if statistic else method
            lines_before = len(ax.lines)
            plot_positive(
                ax,
                rows["n_samples"],
                rows[cost] * (MICROSECONDS_PER_SECOND if seconds else 1),
                x_name="size",
                reason="below timer resolution" if seconds else "≤ 0",
                positive_x=True,
                label=f"{name}: slope {_fixed(fit['slope'])} "
                f"[{_fixed(fit['low'])}, {_fixed(fit['high'])}]",
                color=colour,
                **style,
            )
            colour = ax.lines[lines_before].get_color()

    for ax in (time_ax, count_ax):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8, loc="upper left")
    first = frame.iloc[0]
    time_ax.set(
        xlabel="data-set size n (samples)",
        ylabel="time per update (µs, log scale)",
        title="Time of one update (single-threaded BLAS)",
    )
    count_ax.set(
        xlabel="data-set size n (samples)",
        ylabel="multiplications per update (counted, log scale)",
        title="Counted multiplications of one update",
    )
    figure.suptitle(
        f"One update against data-set size: {first['layer_sizes']} tanh network, backprop, "
        "teacher-student data, mse\n"
        f"legend: slope of log cost on log n, with its {CONFIDENCE:.0%} interval"
    )
    return save_png_and_svg(figure, path_without_suffix)


def _fixed(value: float) -> str:
    """Two decimals, without the "-0.00" of a slope that is zero to that precision."""
    return f"{round(value, 2) + 0.0:.2f}"
