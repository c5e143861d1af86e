"""Gradient descent on f(x) = x^2: the learning rate alone decides convergence.

For: the claim that with learning rate 1 the iterates swing between x0 and -x0 for ever, that
they converge for 0 < rate < 1 and diverge above 1. Each update is x_{k+1} = (1 - 2 rate) x_k,
so the data should show a constant ratio |x_{k+1} / x_k| = |1 - 2 rate|. The runs go through
the library's own loop (``gradients.sgd.train``), once stopping only when the loss is no longer
finite and once with the default divergence rule, to show where each stops a diverging run.
Not for: networks, timing, or any objective other than the quadratic.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.logplot import plot_positive, save_png_and_svg
from gradients.objectives import Quadratic
from gradients.providers.base import Evaluation
from gradients.sgd import DEFAULT_DIVERGENCE_FACTOR, train
from gradients.validation import check_positive_finite, check_positive_int

RATES = (0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.1)
X0 = 10.0
# Enough updates for x0 = 10 at rate 1.1 to overflow the loss (update 1,935 in float64).
DEFAULT_MAX_UPDATES = 2500
# Ratios within this of 1 count as 1: each update multiplies by (1 - 2 rate) with one rounding.
RATIO_TOLERANCE = 1e-9
REPORTED_STEP = 10
# The first steps, on a linear axis, show the sign of x_k; the log panel shows the whole run.
LINEAR_PANEL_STEPS = 12

LINE_STYLES = ("-", "--", "-.", ":")

STOP_NON_FINITE = "non-finite loss only"
STOP_DEFAULT_FACTOR = f"default rule (loss > {DEFAULT_DIVERGENCE_FACTOR:g} x best)"
STOPPING_RULES = {STOP_NON_FINITE: None, STOP_DEFAULT_FACTOR: DEFAULT_DIVERGENCE_FACTOR}


class RecordedQuadratic(Quadratic):
    """f(x) = x^2 that keeps every x at which the loop asked for the gradient."""

    def __init__(self, x0: float) -> None:
        super().__init__(x0)
        self.evaluated_at: list[float] = []

    def loss_and_gradient(self, indices: np.ndarray) -> Evaluation:
        self.evaluated_at.append(float(self.parameters[0]))
        return super().loss_and_gradient(indices)


def run(
    rates: Sequence[float] = RATES,
    *,
    x0: float = X0,
    max_updates: int = DEFAULT_MAX_UPDATES,
) -> pd.DataFrame:
    """x_k for every rate and step, under both stopping rules, one row per (run, step k)."""
    rates = [check_positive_finite("rates", rate) for rate in rates]
    x0 = float(x0)
    if not np.isfinite(x0) or x0 == 0:
        raise ValueError(f"`x0` must be finite and non-zero, got {x0!r}")
    max_updates = check_positive_int("max_updates", max_updates)

    frames = []
    for rate in rates:
        for stopping, factor in STOPPING_RULES.items():
            frames.append(_one_run(rate, x0, max_updates, stopping, factor))
    return pd.concat(frames, ignore_index=True)


def _one_run(
    rate: float, x0: float, max_updates: int, stopping: str, factor: float | None
) -> pd.DataFrame:
    objective = RecordedQuadratic(x0)
    # With one sample, an epoch is one update.
    history = train(objective, learning_rate=rate, epochs=max_updates, divergence_factor=factor)

    x = list(objective.evaluated_at)
    if history.divergence is None:
        x.append(float(objective.parameters[0]))  # the iterate after the last update
    x = np.array(x)
    with np.errstate(over="ignore"):
        loss = x * x
    return pd.DataFrame(
        {
            "learning_rate": rate,
            "x0": x0,
            "stopping": stopping,
            "divergence_factor": np.nan if factor is None else factor,
            "step": np.arange(x.size),
            "x": x,
            "loss": loss,
            "updates_made": history.n_updates,
            "diverged_at_update": np.nan
            if history.divergence is None
            else history.divergence.update,
            "divergence_reason": "" if history.divergence is None else history.divergence.reason,
        }
    )


def summary(frame: pd.DataFrame) -> dict:
    """Per rate: observed and predicted ratio, behaviour read from the data, x_10, stops."""
    rates = {}
    for rate, runs in frame.groupby("learning_rate", sort=True):
        trajectory = runs[runs["stopping"] == STOP_NON_FINITE].sort_values("step")
        stopped = runs[runs["stopping"] == STOP_DEFAULT_FACTOR]
        rates[float(rate)] = _rate_summary(float(rate), trajectory, stopped)
    return {"x0": float(frame["x0"].iloc[0]), "rates": rates}


def _rate_summary(rate: float, trajectory: pd.DataFrame, stopped: pd.DataFrame) -> dict:
    x = trajectory["x"].to_numpy()
    ratios, flips = _step_ratios(x)
    observed = float(np.median(ratios)) if ratios.size else float("nan")
    diverged_at = trajectory["diverged_at_update"].iloc[0]
    stopped_at = stopped["diverged_at_update"].iloc[0] if len(stopped) else np.nan
    zeros = np.flatnonzero(x == 0)
    return {
        "predicted_ratio": abs(1 - 2 * rate),
        "observed_ratio": observed,
        "ratio_spread": float(np.ptp(ratios)) if ratios.size else float("nan"),
        "sign_flips_every_step": bool(flips.size and flips.all()),
        "behaviour": _behaviour(observed, flips, np.isfinite(diverged_at)),
        "x_10": float(x[REPORTED_STEP]) if x.size > REPORTED_STEP else float("nan"),
        "first_zero_step": int(zeros[0]) if zeros.size else None,
        "updates_run": int(trajectory["updates_made"].iloc[0]),
        "final_abs_x": float(abs(x[-1])),
        "non_finite_loss_at_update": None if np.isnan(diverged_at) else int(diverged_at),
        "default_rule_stops_at_update": None if np.isnan(stopped_at) else int(stopped_at),
    }


def _step_ratios(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|x_{k+1} / x_k| and whether the sign flipped, over steps from a non-zero finite x_k."""
    before, after = x[:-1], x[1:]
    usable = (before != 0) & np.isfinite(before) & np.isfinite(after)
    ratios = np.abs(after[usable] / before[usable])
    nonzero = usable & (after != 0)
    flips = np.sign(after[nonzero]) == -np.sign(before[nonzero])
    return ratios, flips


def _behaviour(ratio: float, flips: np.ndarray, loss_overflowed: bool) -> str:
    if loss_overflowed or ratio > 1 + RATIO_TOLERANCE:
        return "diverges"
    if ratio < 1 - RATIO_TOLERANCE:
        return "converges"
    if flips.size and flips.all():
        return "oscillates"
    return "stays"


def plot(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """x_k over the first steps (linear) and |x_k| over whole runs (log), one line per rate."""
    figure = Figure(figsize=(12, 5.2), layout="constrained")
    first_steps, whole_run = figure.subplots(1, 2)
    trajectories = frame[frame["stopping"] == STOP_NON_FINITE]
    x0 = float(frame["x0"].iloc[0])

    groups = trajectories.groupby("learning_rate", sort=True)
    for (rate, run_rows), linestyle in zip(groups, itertools.cycle(LINE_STYLES)):
        run_rows = run_rows.sort_values("step")
        label = f"rate {rate:g} (|1 - 2 rate| = {abs(1 - 2 * rate):g})"
        early = run_rows[run_rows["step"] <= LINEAR_PANEL_STEPS]
        style = {"linestyle": linestyle, "linewidth": 1.2}
        line = first_steps.plot(early["step"], early["x"], marker="o", ms=3, label=label, **style)
        color = line[0].get_color()
        plot_positive(
            whole_run,
            run_rows["step"],
            np.abs(run_rows["x"]),
            x_name="step",
            reason="with x = 0",
            label=f"rate {rate:g}",
            color=color,
            marker=None,
            **style,
        )
        _mark_stops(whole_run, frame, float(rate), run_rows, color)

    first_steps.axhline(0, color="grey", linewidth=0.6)
    first_steps.set(
        xlabel="step k (updates)",
        ylabel="iterate x_k (no unit)",
        title=f"First {LINEAR_PANEL_STEPS} steps: sign and size of x_k",
    )
    whole_run.set_yscale("log")
    whole_run.set(
        xlabel="step k (updates)",
        ylabel="|x_k| (no unit, log scale)",
        title="Whole runs, until the loss x_k² is no longer finite",
    )
    first_steps.legend(fontsize=7, loc="lower left")
    whole_run.legend(fontsize=7, loc="upper left", ncols=2)
    figure.suptitle(f"Gradient descent on f(x) = x², x0 = {x0:g}: x_(k+1) = (1 - 2 rate) x_k")
    return save_png_and_svg(figure, path_without_suffix)


def _mark_stops(ax, frame: pd.DataFrame, rate: float, run_rows: pd.DataFrame, color) -> None:
    """Where the loss overflowed, and where the default divergence rule would have stopped."""
    overflow = run_rows["diverged_at_update"].iloc[0]
    if np.isfinite(overflow):
        last = run_rows.iloc[-1]
        label = f"rate {rate:g}: loss = inf at update {int(overflow)}"
        ax.plot(last["step"], abs(last["x"]), "X", color=color, ms=8, label=label)

    stopped = frame[(frame["learning_rate"] == rate) & (frame["stopping"] == STOP_DEFAULT_FACTOR)]
    stopped_at = stopped["diverged_at_update"].iloc[0]
    if np.isfinite(stopped_at):
        at = run_rows[run_rows["step"] == stopped_at - 1]  # update u is evaluated at x_(u-1)
        label = f"rate {rate:g}: default rule stops at update {int(stopped_at)}"
        ax.plot(at["step"], np.abs(at["x"]), "s", color=color, mfc="none", ms=7, label=label)
