"""Layer 2's rules: the statistics of growth with depth each provider must keep, and why.

For: the fitted statistics, ``ShapeRule`` and its bound, the rules by provider, and the
verdict row of one rule.
Not for: choosing the depths both runs share (``bench.check.compare.compare_shape``) or the
fits themselves (``bench.fits``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bench import thresholds
from bench.check.grid import WIDTH
from bench.check.verdicts import FAIL, NEW, OK, Row
from bench.fits import fit_scaling

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
