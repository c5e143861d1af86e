"""The fits of a sweep's measurements that the depth claims are read from.

For: one line (provider, width) of a sweep as depths and timed repeats, and the fits of it the
claims and the figures share through ``Sweep``, each computed once: the growth models of
``bench.fits``, how the naive cost grows (``NaiveGrowth``: its base over the depths where
arithmetic dominates, and the rate per counted multiplication) and how backprop's does
(``LinearGrowth``: exact counts, a straight line, the depth exponent); and the counts of the
providers' cost models at any depth.
Not for: verdicts (each claim's module) or measuring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.claims.rate_fit import RateFit, fit_rate
from bench.claims.rules import CONFIDENCE
from bench.fits import (
    Interval,
    LinearFit,
    Prediction,
    ScalingFit,
    fit_linear,
    fit_scaling,
    t_quantile,
)
from bench.scaling import DEEP_WINDOW, MIN_POINTS, measured
from gradients import get_provider

# Depths timed at this many times the shallowest one are at least 90% arithmetic.
ARITHMETIC_MULTIPLE = 10.0


class Sweep:
    """A sweep's results and timings, with each fit the claims need computed once.

    Every growth fit refits its models on a thousand bootstrap resamples, so the claims and
    the figures share the fits through this object rather than refitting.
    """

    def __init__(self, results: pd.DataFrame, timings: pd.DataFrame) -> None:
        self.results = results
        self.timings = timings
        self._growth: dict[tuple[str, int], ScalingFit | None] = {}
        self._naive: dict[int, NaiveGrowth | None] = {}
        self._linear: dict[int, LinearGrowth | None] = {}

    def widths(self, provider: str) -> list[int]:
        rows = self.results[self.results["provider"] == provider]
        return sorted(int(width) for width in rows["width"].unique())

    def samples(self, provider: str, width: int) -> tuple[np.ndarray, list[np.ndarray]]:
        return time_samples(self.results, self.timings, provider, width)

    def growth(self, provider: str, width: int) -> ScalingFit | None:
        """The fits module's growth models of time over every measured depth of a line."""
        key = (provider, width)
        if key not in self._growth:
            depths, samples = self.samples(provider, width)
            fitted = len(depths) >= MIN_POINTS
            self._growth[key] = (
                fit_scaling(depths, samples, confidence=CONFIDENCE) if fitted else None
            )
        return self._growth[key]

    def naive(self, width: int) -> NaiveGrowth | None:
        if width not in self._naive:
            self._naive[width] = naive_growth(self, width)
        return self._naive[width]

    def linear(self, width: int) -> LinearGrowth | None:
        if width not in self._linear:
            self._linear[width] = linear_growth(self, width)
        return self._linear[width]


def time_samples(
    results: pd.DataFrame, timings: pd.DataFrame, provider: str, width: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Measured depths of a line and the timed repeats at each (the median if none kept)."""
    rows = measured(results, provider, width)
    depths = rows["depth"].to_numpy(dtype=int)
    line = timings[(timings["provider"] == provider) & (timings["width"] == width)]
    repeats = {
        int(depth): group["time_s"].to_numpy(float) for depth, group in line.groupby("depth")
    }
    samples = [
        repeats.get(int(depth), np.array([median_s]))
        for depth, median_s in zip(depths, rows["median_s"], strict=True)
    ]
    return depths, samples


def sweep_shape(results: pd.DataFrame) -> tuple[int, int, int]:
    """(inputs, outputs, batch size) of the sweep's networks."""
    first = results.iloc[0]
    sizes = [int(size) for size in str(first["layer_sizes"]).split("-")]
    return sizes[0], sizes[-1], int(first["batch_size"])


def model_counts(
    provider: str, width: int, depth: int, n_inputs: int, n_outputs: int, batch_size: int
) -> int:
    """Counted multiplications of one gradient, from the provider's closed-form cost model."""
    sizes = (n_inputs, *([width] * depth), n_outputs)
    return get_provider(provider).predict_counts(sizes, batch_size).multiplications


# How the naive cost grows with depth


def path_length_factor(depth: float | np.ndarray) -> float | np.ndarray:
    """Multiplications in one path's product from the first layer: 2D + 1.

    The naive cost is about (2D + 1) w^D times a constant (``gradients.providers.naive``), so
    consecutive costs grow by w (2D + 3) / (2D + 1), a little more than w; dividing the cost
    by this factor leaves the exponential's own base.
    """
    return 2 * np.asarray(depth, dtype=float) + 1


def arithmetic_window(depths: np.ndarray, medians: Sequence[float]) -> np.ndarray:
    """The deepest (up to DEEP_WINDOW) depths whose time is mostly arithmetic.

    The fixed cost of a call is at most the shallowest depth's time, so a depth timed at
    ARITHMETIC_MULTIPLE times that or more spends at least 1 - 1/ARITHMETIC_MULTIPLE of it
    multiplying; there the per-layer factor is not diluted by the overhead.
    """
    medians = np.asarray(medians, dtype=float)
    mostly_arithmetic = medians >= ARITHMETIC_MULTIPLE * medians.min()
    return np.flatnonzero(mostly_arithmetic)[-DEEP_WINDOW:]


@dataclass(frozen=True)
class NaiveGrowth:
    """How the naive provider's cost grows with depth at one width.

    Over the ``window`` of deepest depths where arithmetic dominates the time: ``time_factor``
    is the raw per-layer factor b of log t = a + D log b (above the width, since paths
    lengthen with depth) and ``time_base`` the b of log((t - c0 - c1 D) / (2D + 1)) =
    a + D log b, the base of the exponential itself (c0, c1 from ``rate``); ``count_factor``
    and ``count_base`` are the same for the counted multiplications (exact, no interval).
    Over every measured depth: ``count_model`` is the fits module's growth model of the
    counts, ``rate`` the fit of t = c0 + c1 D + s m(D) and ``power_aic`` that of
    t = c0 + c1 D^k.
    """

    width: int
    depths: tuple[int, ...]
    window: tuple[int, ...]
    count_model: str
    rate: RateFit
    power_aic: float
    time_factor: tuple[float, Interval] | None
    time_base: tuple[float, Interval] | None
    count_factor: float | None
    count_base: float | None
    shape: tuple[int, int, int]  # (inputs, outputs, batch size), for the counts at any depth

    def predict_s(self, depth: int) -> Prediction:
        """Seconds at ``depth`` from the fitted rate and the cost model's count there."""
        return self.rate.predict(model_counts("naive", self.width, depth, *self.shape), depth)


def naive_growth(sweep: Sweep, width: int) -> NaiveGrowth | None:
    """The naive fits at ``width``, or None with fewer than three measured depths."""
    depths, samples = sweep.samples("naive", width)
    if len(depths) < MIN_POINTS:
        return None
    counts = measured(sweep.results, "naive", width)["multiplications"].to_numpy(float)
    medians = [float(np.median(sample)) for sample in samples]

    rate = fit_rate(depths, counts, samples)
    window = arithmetic_window(depths, medians)
    deep = depths[window]
    factors = None
    if len(window) >= MIN_POINTS:
        path = path_length_factor(deep)
        deep_samples = [samples[i] for i in window]
        # The fitted costs per call and per layer are taken off before the base is read:
        # even at 10% of a depth's time they would flatten the slope by a few percent.
        # NOTE: the overhead's own uncertainty is not carried into the base's interval; at
        # these depths it is under a tenth of the time, so its effect is a small fraction.
        overheads = rate.overhead_s + rate.per_layer_s * deep
        net = [sample - overhead for sample, overhead in zip(deep_samples, overheads)]
        if not all(np.all(sample > 0) for sample in net):
            net = deep_samples
        factors = (
            fit_scaling(deep, deep_samples, confidence=CONFIDENCE).growth_factor(),
            fit_scaling(deep, [s / f for s, f in zip(net, path)]).growth_factor(),
            fit_scaling(deep, counts[window]).growth_factor()[0],
            fit_scaling(deep, counts[window] / path).growth_factor()[0],
        )

    return NaiveGrowth(
        width=width,
        depths=tuple(int(depth) for depth in depths),
        window=tuple(int(depth) for depth in deep),
        count_model=fit_scaling(depths, counts).chosen,
        rate=rate,
        power_aic=sweep.growth("naive", width).fits["overhead"].aic,
        time_factor=None if factors is None else factors[0],
        time_base=None if factors is None else factors[1],
        count_factor=None if factors is None else factors[2],
        count_base=None if factors is None else factors[3],
        shape=sweep_shape(sweep.results),
    )


# How backprop's cost grows with depth


def is_affine(depths: Sequence[int], counts: Sequence[float]) -> bool:
    """Whether integer counts lie exactly on one straight line in depth (any spacing)."""
    d = [int(depth) for depth in depths]
    m = [int(round(float(count))) for count in counts]
    if len(d) < 3:
        return True
    # Cross-multiplied, so unevenly spaced depths need no division and stay exact.
    return all(
        (m[i] - m[0]) * (d[1] - d[0]) == (m[1] - m[0]) * (d[i] - d[0]) for i in range(2, len(d))
    )


@dataclass(frozen=True)
class LinearGrowth:
    """How backprop's cost grows with depth at one width: counts, line, exponents."""

    width: int
    depths: tuple[int, ...]
    medians_s: tuple[float, ...]
    counts_affine: bool
    count_slope: float  # multiplications per added layer
    line: LinearFit
    growth: ScalingFit = field(repr=False)

    def exponents(self) -> dict[str, tuple[float, Interval]]:
        """Depth exponent k of the power law and of the power law with overhead."""
        names = [name for name in ("power", "overhead") if name in self.growth.fits]
        return {name: self.growth.depth_exponent(name) for name in names}

    def band(self, depths: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The line a + b D at ``depths`` and the 95% interval of the mean time there."""
        L = np.asarray(self.depths, dtype=float)
        y = np.asarray(self.medians_s)
        X = np.column_stack([np.ones_like(L), L])
        residuals = y - X @ np.array([self.line.intercept, self.line.slope])
        dof = len(L) - 2
        variance = residuals @ residuals / dof if dof > 0 else np.nan
        covariance = variance * np.linalg.inv(X.T @ X)

        grid = np.column_stack([np.ones(len(depths)), np.asarray(depths, dtype=float)])
        center = grid @ np.array([self.line.intercept, self.line.slope])
        half_width = t_quantile(CONFIDENCE, dof) * np.sqrt(
            np.einsum("ij,jk,ik->i", grid, covariance, grid)
        )
        return center, center - half_width, center + half_width


def linear_growth(sweep: Sweep, width: int) -> LinearGrowth | None:
    """The backprop fits at ``width``, or None with fewer than three measured depths."""
    depths, samples = sweep.samples("backprop", width)
    if len(depths) < MIN_POINTS:
        return None
    counts = measured(sweep.results, "backprop", width)["multiplications"].to_numpy(float)
    medians = tuple(float(np.median(sample)) for sample in samples)
    return LinearGrowth(
        width=width,
        depths=tuple(int(depth) for depth in depths),
        medians_s=medians,
        counts_affine=is_affine(depths, counts),
        count_slope=float((counts[1] - counts[0]) / (depths[1] - depths[0])),
        line=fit_linear(depths, samples, confidence=CONFIDENCE),
        growth=sweep.growth("backprop", width),
    )
