"""A time at one depth, measured or extrapolated, with its interval, and ratios of two.

For: the seconds of one gradient at a given depth -- the median of the timed repeats where the
sweep ran it, else the prediction of the line's fit, marked extrapolated -- and the quotient
of two such estimates, which claims 3 and 5 and the speed-up figure quote.
Not for: fitting (``bench.claims.sweep_fits``) or judging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.claims.rules import CONFIDENCE
from bench.claims.sweep_fits import Sweep
from bench.claims.wording import depth_range, interval_text
from bench.fits import Interval

# Resamples of one cell's timed repeats for the interval of their median.
BOOTSTRAP_RESAMPLES = 2000
MEASURED = "measured"


@dataclass(frozen=True)
class Estimate:
    """A value with its interval, and whether it was extrapolated beyond the measurements."""

    value: float
    interval: Interval
    extrapolated: bool
    how: str

    def text(self) -> str:
        marked = " (extrapolated)" if self.extrapolated else ""
        return f"{interval_text(self.value, self.interval)}{marked}"


def median_interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Percentile bootstrap interval of the median of timed repeats."""
    samples = np.asarray(samples, dtype=float)
    if samples.size < 2:
        return Interval(np.nan, np.nan, "one sample")
    if np.ptp(samples) == 0:
        return Interval(float(samples[0]), float(samples[0]), "bootstrap")
    result = stats.bootstrap(
        (samples,),
        np.median,
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=0,
    )
    return Interval(
        float(result.confidence_interval.low), float(result.confidence_interval.high), "bootstrap"
    )


def measured_time(sweep: Sweep, provider: str, width: int, depth: int) -> Estimate | None:
    depths, samples = sweep.samples(provider, width)
    if depth not in depths:
        return None
    sample = samples[list(depths).index(depth)]
    return Estimate(float(np.median(sample)), median_interval(sample), False, MEASURED)


def ratio_of(
    numerator: Estimate, denominator: Estimate, names: tuple[str, str] = ("naive", "backprop")
) -> Estimate:
    """Quotient of two independent estimates, its interval from the intervals' far ends."""
    how = f"{names[0]} {numerator.how}, {names[1]} {denominator.how}"
    # A denominator interval reaching down to 0 (a straight line extrapolated past its data)
    # leaves the quotient unbounded above.
    low, high = denominator.interval.low, denominator.interval.high
    return Estimate(
        numerator.value / denominator.value,
        Interval(
            numerator.interval.low / high if high > 0 else np.nan,
            numerator.interval.high / low if low > 0 else np.inf,
            numerator.interval.method,
        ),
        numerator.extrapolated or denominator.extrapolated,
        how,
    )


def naive_time_at(sweep: Sweep, width: int, depth: int) -> Estimate | None:
    """Naive seconds at ``depth``: measured, or rate times the modelled count, extrapolated."""
    found = measured_time(sweep, "naive", width, depth)
    if found is not None:
        return found
    growth = sweep.naive(width)
    if growth is None:
        return None
    prediction = growth.predict_s(depth)
    how = (
        f"extrapolated from {depth_range(growth.depths)} with t = {growth.rate.formula}, m "
        "from the cost model"
    )
    return Estimate(prediction.value, prediction.interval, True, how)


def backprop_time_at(sweep: Sweep, width: int, depth: int) -> Estimate | None:
    """Backprop seconds at ``depth``: measured, or from the straight line, marked extrapolated."""
    found = measured_time(sweep, "backprop", width, depth)
    if found is not None:
        return found
    growth = sweep.linear(width)
    if growth is None:
        return None
    center, low, high = (float(v[0]) for v in growth.band([depth]))
    how = f"extrapolated from {depth_range(growth.depths)} with t = a + b D"
    return Estimate(center, Interval(low, high, "analytic"), True, how)


def time_ratio(sweep: Sweep, width: int, depth: int) -> Estimate | None:
    naive = naive_time_at(sweep, width, depth)
    backprop = backprop_time_at(sweep, width, depth)
    if naive is None or backprop is None:
        return None
    return ratio_of(naive, backprop)
