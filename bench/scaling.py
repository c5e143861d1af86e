"""How each provider's cost grows with depth in a sweep's results: the fits behind the summary.

Two windows are fitted. All measured depths decide between the growth models (a wide range
is what tells an exponential from a power law). The deepest ``DEEP_WINDOW`` depths give the
per-layer growth factor, because at shallow depths a fixed per-call overhead hides the growth
of the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.fits import LinearFit, ScalingFit, fit_linear, fit_scaling

DEEP_WINDOW = 6
MIN_POINTS = 3


@dataclass(frozen=True)
class LineFits:
    provider: str
    width: int
    depths: tuple[int, ...]
    counts: ScalingFit
    times: ScalingFit
    deep_counts: ScalingFit
    deep_times: ScalingFit
    linear_times: LinearFit  # time = a + b * depth over all depths


def measured(results: pd.DataFrame, provider: str, width: int) -> pd.DataFrame:
    rows = results[
        (results["provider"] == provider)
        & (results["width"] == width)
        & (results["status"] == "ok")
    ]
    return rows.sort_values("depth")


def repeats_by_depth(timings: pd.DataFrame, provider: str, width: int, depths) -> list:
    rows = timings[(timings["provider"] == provider) & (timings["width"] == width)]
    grouped = rows.groupby("depth")["time_s"].apply(list)
    return [grouped[depth] for depth in depths]


def fit_line(
    results: pd.DataFrame, timings: pd.DataFrame, provider: str, width: int
) -> LineFits | None:
    """The fits of one provider at one width, or None with fewer than three measured depths."""
    rows = measured(results, provider, width)
    if len(rows) < MIN_POINTS:
        return None
    depths = rows["depth"].to_numpy()
    counts = rows["multiplications"].to_numpy(dtype=float)
    repeats = repeats_by_depth(timings, provider, width, depths)
    deep = slice(-DEEP_WINDOW, None)
    return LineFits(
        provider=provider,
        width=width,
        depths=tuple(int(d) for d in depths),
        counts=fit_scaling(depths, counts),
        times=fit_scaling(depths, repeats),
        deep_counts=fit_scaling(depths[deep], counts[deep]),
        deep_times=fit_scaling(depths[deep], repeats[deep]),
        linear_times=fit_linear(depths, rows["median_s"].to_numpy()),
    )


def all_line_fits(results: pd.DataFrame, timings: pd.DataFrame) -> list[LineFits]:
    lines = results[["provider", "width"]].drop_duplicates().itertuples(index=False)
    fits = [fit_line(results, timings, provider, int(width)) for provider, width in lines]
    return [fit for fit in fits if fit is not None]


def _interval(value: float, interval) -> str:
    return f"{value:.3g} [{interval.low:.3g}, {interval.high:.3g}]"


def growth_table(results: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """One row per provider and width: how time and multiplications grow with depth."""
    rows = []
    for fit in all_line_fits(results, timings):
        first_deep = fit.depths[-min(DEEP_WINDOW, len(fit.depths))]
        rows.append(
            {
                "provider": fit.provider,
                "width": fit.width,
                "depths": f"{fit.depths[0]}-{fit.depths[-1]}",
                "best model (time)": fit.times.chosen,
                "best model (mults)": fit.counts.chosen,
                "factor per layer, time": _interval(*fit.deep_times.growth_factor()),
                "factor per layer, mults": _interval(*fit.deep_counts.growth_factor()),
                "deepest": f"{first_deep}-{fit.depths[-1]}",
                "time ~ depth^k": _interval(*fit.times.depth_exponent()),
                "us per layer": f"{fit.linear_times.slope * 1e6:.3g}",
                "R^2 linear": f"{fit.linear_times.r_squared:.3f}",
            }
        )
    return pd.DataFrame(rows)


def growth_summary(results: pd.DataFrame, timings: pd.DataFrame) -> str:
    """Plain text: per provider, the growth per layer, the power, and which model fits best."""
    table = growth_table(results, timings)
    if table.empty:
        return "growth with depth: no provider was measured at three depths or more"
    return (
        "growth with depth (95% intervals; factor per layer fitted over the deepest depths, "
        "models over all):\n" + table.to_string(index=False)
    )


def consecutive_ratios(values: np.ndarray) -> np.ndarray:
    """values[i+1] / values[i]: the growth from one depth to the next."""
    values = np.asarray(values, dtype=float)
    return values[1:] / values[:-1]
