"""The seven claims of the standard explanation of SGD and backpropagation, judged on data.

For: turning a run's sweep results and the extra experiments' tables into one ``Claim`` per
statement -- what was tested, on what configuration, the measured figure with its interval,
and a verdict ("holds", "does not hold" or "undecided", with the conditions) that follows
from the rule written for that claim in ``RULES``. The fits the verdicts are read from (the
naive cost's base, backprop's straight line, the depth-20 ratio) are here too, so that the
figures draw the very curves the verdicts come from.
Not for: taking measurements, plotting, or writing files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize, stats

from bench.experiments import dataset_size, fd_step, quadratic
from bench.fits import (
    AIC_MARGIN,
    LOG_RESIDUAL_FLOOR,
    MIN_BOOTSTRAP_REPEATS,
    MIN_DEPTH_RATIO,
    MIN_DISTINCT_DEPTHS,
    UNDECIDED,
    Interval,
    LinearFit,
    Prediction,
    ScalingFit,
    fit_linear,
    fit_scaling,
)
from bench.scaling import DEEP_WINDOW, MIN_POINTS, measured
from gradients import get_provider

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
NOT_MEASURED = "not measured"
VERDICTS = (HOLDS, DOES_NOT_HOLD, UNDECIDED)

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
# Refits of the naive time model, one per resample of the repeats (as bench.fits does).
N_BOOTSTRAP = 1000
# Depths timed at this many times the shallowest one are at least 90% arithmetic.
ARITHMETIC_MULTIPLE = 10.0
MEASURED = "measured"

# Claim 1 is about these widths; claim 3's depth-20 figures are quoted at the first.
CLAIM_WIDTHS = (2, 3, 4)
HEADLINE_WIDTH = 2
TARGET_DEPTH = 20
# "About a million": within a factor of ten either way, the precision of a figure quoted as
# one power of ten.
SPEEDUP_LEVEL = 1e6
ABOUT_FACTOR = 10.0
# Widths whose depth-20 count ratio is computed from the cost models (no run needed).
MODEL_WIDTHS = tuple(range(1, 9))
# Exact methods summing the same terms in another order differ by rounding, about 1e-16
# relatively per operation; a billionth of the gradient's largest entry leaves room for that
# over millions of paths and is still far below anything that would change a training step.
SAME_GRADIENT_TOLERANCE = 1e-9
# Claim 2: exponents k of t = c0 + c1 D^k read as linear, halfway on a log scale between 1
# and its neighbouring growth classes, square root (1/2) and quadratic (2).
LINEAR_EXPONENTS = (2**-0.5, 2**0.5)
# Finite differences count as approximate when their best error is this many times the
# disagreement between the exact methods (or float64 rounding, where that is larger).
APPROXIMATE_FACTOR = 100.0
FLOAT64_EPS = float(np.finfo(np.float64).eps)
FD_LOSS_EVALUATIONS: dict[str, Callable[[int], int]] = {
    "fd-forward": lambda n_parameters: n_parameters + 1,
    "fd-central": lambda n_parameters: 2 * n_parameters,
}
# Claim 7: the slope of log(cost) on log(data-set size) each update should have.
UPDATE_SLOPES = {dataset_size.SGD: 0.0, dataset_size.GD: 1.0}
EXACT_SLOPE_TOLERANCE = 1e-9

RULES = {
    1: "For each width 2, 3, 4, over at least 5 measured depths spanning a ratio of 4: the "
    "fits module must choose the exponential model for the counted multiplications m(D); "
    "over the deepest (up to 6) depths timed at 10 x the shallowest or more, where "
    "arithmetic is at least 90% of the time, the 95% interval of the base b of "
    "log((t - c0 - c1 D) / (2D + 1)) = a + D log b must lie above 1 (c0, c1 as fitted "
    "next); and the time must follow the counts: the power law with overhead t = c0 + "
    "c1 D^k must not beat the better (by AIC) of t = c0 + s m(D) and t = c0 + c1 D + s m(D) "
    "(a fixed cost per call, a cost per layer, a rate per counted multiplication) by 2 or "
    "more in AIC on log time. Holds when all this is so at every width; does not hold when "
    "the counts are polynomial or b's interval lies at or below 1 at some width; undecided "
    "otherwise (too few depths, a width not measured, or a time that strays from the "
    "counts, which a burst of other work during one cell can cause). Whether b's interval "
    "contains the width is reported beside, with the raw per-layer factor of log t = a + "
    "D log b, which also contains the lengthening of the paths (2D + 1 multiplications "
    "each).",
    2: "At each width, backprop's counted multiplications must be exactly affine in depth "
    "(every second difference 0, in integers), and over at least 5 measured depths spanning "
    "a ratio of 4 the 95% interval of k in t = c0 + c1 D^k (a power law plus a fixed cost per "
    "call) must lie within 0.71 .. 1.41, halfway on a log scale between linear (1) and its "
    "neighbouring classes (1/2 and 2). A width does not hold when the counts are not affine, "
    "when the fits module chooses the exponential model for time, or when k's interval lies "
    "outside that band; it is undecided otherwise. The claim holds when some width holds and "
    "none does not; the straight line a + b D's slope and R^2 are reported beside.",
    3: "The ratio naive / backprop at depth 20 and width 2, in counted multiplications (from "
    "the cost models, which must equal the counters in every measured cell) and in time "
    "(measured, or extrapolated with its 95% interval and marked so), counts as 'about a "
    "million' when its interval lies within a factor 10 of 10^6. Holds when both do; does "
    "not hold when either interval lies wholly outside 10^5 .. 10^7; undecided otherwise.",
    4: f"Holds when every naive gradient of the sweep was compared with backprop's and the "
    f"largest max |naive - backprop| / max |backprop| is at most {SAME_GRADIENT_TOLERANCE:g}; "
    "does not hold when one is larger or not a number; undecided when no naive cell ran.",
    5: "Counted loss evaluations must be exactly P + 1 (forward) and 2P (central) at every "
    "measured network, and the smallest float64 error against backprop over all steps must "
    f"exceed {APPROXIMATE_FACTOR:g} times the exact methods' disagreement (or float64 "
    "rounding, if larger). Does not hold when a count differs or an error is that small; "
    "undecided when the sweep or the step experiment did not run. Times relative to "
    "backprop are reported, not judged.",
    6: "Every learning rate in (0, 1) must converge (|x_(k+1) / x_k| < 1), rate 1 must keep "
    "|x_k| = x0 with a sign flip at every step of the whole run, and every rate above 1 must "
    "diverge, as read from the iterates. Does not hold when one rate behaves otherwise; "
    "undecided when a side (below 1, 1, above 1) was not tried.",
    7: "Counted multiplications per update must have log-log slope exactly 0 (per-sample SGD) "
    "and 1 (full-batch GD) against the data-set size; the 95% interval of the slope of median "
    "time must contain the claimed slope and exclude the other one. Does not hold when a "
    "counted slope differs or a time interval excludes its claimed slope; undecided when an "
    "interval contains both 0 and 1.",
}


@dataclass(frozen=True)
class Claim:
    """One claim judged: what was tested, on what, the figure found and the verdict."""

    number: int
    title: str
    statement: str
    configuration: str
    measured: str  # the figure with its interval
    verdict: str  # one of VERDICTS
    conditions: str  # under which conditions the verdict holds, or why it is undecided
    conclusion: str  # the verdict in plain words
    values: dict = field(default_factory=dict, compare=False)

    @property
    def rule(self) -> str:
        return RULES[self.number]

    @property
    def not_measured(self) -> bool:
        return self.conditions.startswith(NOT_MEASURED)


@dataclass(frozen=True)
class Evidence:
    """Everything the claims are judged on; an experiment that did not run is None."""

    results: pd.DataFrame
    timings: pd.DataFrame
    fd_steps: pd.DataFrame | None = None
    accuracy_cost: pd.DataFrame | None = None
    quadratic: pd.DataFrame | None = None
    dataset_size: pd.DataFrame | None = None

    @cached_property
    def sweep(self) -> Sweep:
        return Sweep(self.results, self.timings)


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


def judge_claims(evidence: Evidence) -> list[Claim]:
    """The seven claims, in order, judged on ``evidence``."""
    sweep = evidence.sweep
    exact_difference = exact_disagreement(sweep.results, evidence.accuracy_cost)
    return [
        claim_naive_exponential(sweep),
        claim_backprop_linear(sweep),
        claim_million(sweep),
        claim_same_gradient(sweep.results, evidence.accuracy_cost),
        claim_finite_differences(sweep, evidence.fd_steps, exact_difference),
        claim_quadratic(evidence.quadratic),
        claim_dataset_size(evidence.dataset_size),
    ]


def combine(verdicts: Iterable[str]) -> str:
    """One verdict from several parts: any refutation wins, then any doubt."""
    verdicts = list(verdicts)
    if DOES_NOT_HOLD in verdicts:
        return DOES_NOT_HOLD
    if verdicts and all(verdict == HOLDS for verdict in verdicts):
        return HOLDS
    return UNDECIDED


def interval_text(value: float, interval: Interval) -> str:
    return f"{value:.3g} [{interval.low:.3g}, {interval.high:.3g}]"


def depth_range(depths: Sequence[int]) -> str:
    return f"depth {depths[0]}" if len(depths) == 1 else f"depths {depths[0]}-{depths[-1]}"


def sweep_setting(results: pd.DataFrame) -> str:
    first = results.iloc[0]
    threads = "BLAS threads not recorded"
    if "blas_threads" in results and results["blas_threads"].notna().any():
        count = int(results["blas_threads"].max())
        threads = f"{count} BLAS thread{'s' if count > 1 else ''}"
    return (
        f"{first['data']} data, {first['activation']}, batch {int(first['batch_size'])}, "
        f"seed {int(first['seed'])}, {threads}"
    )


# Measurements of one line (provider, width) of the sweep


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


# Claim 1: the naive cost grows exponentially with depth


def path_length_factor(depth: float | np.ndarray) -> float | np.ndarray:
    """Multiplications in one path's product from the first layer: 2D + 1.

    The naive cost is about (2D + 1) w^D times a constant (``gradients.providers.naive``), so
    consecutive costs grow by w (2D + 3) / (2D + 1), a little more than w; dividing the cost
    by this factor leaves the exponential's own base.
    """
    return 2 * np.asarray(depth, dtype=float) + 1


@dataclass(frozen=True)
class RateFit:
    """t = c0 + c1 D + s m: a fixed cost per call, a cost per layer (the Python loop over a
    layer's units and paths) and a rate per counted multiplication m; or without the cost
    per layer (c1 = 0) when ``per_layer`` is false.

    Fitted to the median times of every measured depth by least squares on log t, with
    c0 = u^2, c1 = w^2 and s = e^v to keep all three non-negative, for times in units of
    their geometric mean; ``aic`` is computed as ``bench.fits`` computes it, so it compares
    with the growth models fitted there on the same residuals. Intervals come from refits on
    medians of repeats resampled within each depth, or from the regression's standard errors
    when a depth has fewer repeats than a bootstrap needs.
    """

    depths: tuple[int, ...]
    per_layer: bool
    theta: np.ndarray = field(repr=False)  # (u, w, v), for m in units of m_unit
    m_unit: float
    replicates: np.ndarray | None = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    dof: int
    log_unit: float
    aic: float

    @property
    def overhead_s(self) -> float:
        return float(self.theta[0] ** 2 * np.exp(self.log_unit))

    @property
    def per_layer_s(self) -> float:
        return float(self.theta[1] ** 2 * np.exp(self.log_unit))

    @property
    def seconds_per_multiplication(self) -> float:
        return float(np.exp(self.theta[2] + self.log_unit) / self.m_unit)

    def predict(self, multiplications: float, depth: float) -> Prediction:
        """Seconds of a gradient of ``multiplications`` at ``depth``, with the interval of
        the mean time there."""
        m, L = np.array([multiplications / self.m_unit]), np.array([float(depth)])
        center = float(_rate_log_time(self.theta, m, L)[0])
        if self.replicates is not None:
            spread = [_rate_log_time(theta, m, L)[0] for theta in self.replicates]
            low, high = np.percentile(spread, _percentiles())
            method = "bootstrap"
        else:
            g = _rate_jacobian(self.theta, m, L)[0][_free(self.per_layer)]
            half_width = _t_quantile(self.dof) * np.sqrt(g @ self.covariance @ g)
            low, high, method = center - half_width, center + half_width, "analytic"
        interval = Interval(
            float(np.exp(low + self.log_unit)), float(np.exp(high + self.log_unit)), method
        )
        value = float(np.exp(center + self.log_unit))
        extrapolated = float(depth) not in self.depths
        return Prediction(float(depth), value, interval, extrapolated, self.formula)

    @property
    def formula(self) -> str:
        return "c0 + c1 D + s m(D)" if self.per_layer else "c0 + s m(D)"


# The solver may try a huge log-rate on its way; capped, exp() stays finite (e^700 ~ 1e304).
MAX_LOG_RATE = 700.0


def _rate_log_time(theta: np.ndarray, m: np.ndarray, L: np.ndarray) -> np.ndarray:
    u, w, v = theta
    return np.log(u * u + w * w * L + np.exp(min(v, MAX_LOG_RATE)) * m)


def _rate_jacobian(theta: np.ndarray, m: np.ndarray, L: np.ndarray) -> np.ndarray:
    u, w, v = theta
    work = np.exp(min(v, MAX_LOG_RATE)) * m
    total = u * u + w * w * L + work
    return np.stack([2 * u / total, 2 * w * L / total, work / total], axis=1)


def _free(per_layer: bool) -> list[int]:
    """Which of (u, w, v) are fitted: w, the cost per layer, only with ``per_layer``."""
    return [0, 1, 2] if per_layer else [0, 2]


def _fit_rate_theta(
    m: np.ndarray, L: np.ndarray, log_y: np.ndarray, per_layer: bool, start: np.ndarray | None
) -> np.ndarray:
    free = _free(per_layer)
    starts = [start] if start is not None else []
    if start is None:
        # Not convex in the overheads: start from several shares of the least time as the
        # fixed cost, a little per layer, and the rest of the deepest time as arithmetic.
        y = np.exp(log_y)
        for share in (0.01, 0.5, 0.9):
            c0 = share * float(y.min())
            c1 = 0.1 * (1 - share) * float(y.min()) if per_layer else 0.0
            s = max((y[-1] - c0 - c1 * L[-1]) / m[-1], 1e-12)
            starts.append(np.array([np.sqrt(c0), np.sqrt(c1), np.log(s)]))

    def theta_of(p: np.ndarray) -> np.ndarray:
        theta = np.zeros(3)
        theta[free] = p
        return theta

    best = None
    for p0 in starts:
        found = optimize.least_squares(
            lambda p: _rate_log_time(theta_of(p), m, L) - log_y,
            p0[free],
            jac=lambda p: _rate_jacobian(theta_of(p), m, L)[:, free],
            method="lm",
        )
        if best is None or found.cost < best.cost:
            best = found
    return theta_of(best.x)


def fit_rate(
    depths: Sequence[int],
    multiplications: Sequence[float],
    samples: Sequence[np.ndarray],
    *,
    per_layer: bool | None = None,
    seed: int = 0,
) -> RateFit:
    """Fit t = c0 [+ c1 D] + s m to timed repeats of gradients of known counts.

    With ``per_layer`` None, both forms are fitted and the one of lower AIC is returned.
    """
    if per_layer is None:
        fits = [fit_rate(depths, multiplications, samples, per_layer=f, seed=seed)
                for f in (False, True)]  # fmt: skip
        return min(fits, key=lambda fit: fit.aic)
    L = np.asarray(depths, dtype=float)
    m_unit = float(np.max(multiplications))
    m = np.asarray(multiplications, dtype=float) / m_unit
    medians = np.array([np.median(sample) for sample in samples])
    log_unit = float(np.log(medians).mean())
    log_y = np.log(medians) - log_unit
    theta = _fit_rate_theta(m, L, log_y, per_layer, None)
    free = _free(per_layer)

    residuals = _rate_log_time(theta, m, L) - log_y
    rss = float(residuals @ residuals)
    n, p = len(L), len(free)
    aic = n * np.log(max(rss / n, LOG_RESIDUAL_FLOOR**2)) + 2 * p
    dof = n - p
    variance = max(rss / dof, LOG_RESIDUAL_FLOOR**2) if dof > 0 else np.nan
    J = _rate_jacobian(theta, m, L)[:, free]
    covariance = variance * np.linalg.pinv(J.T @ J)

    replicates = None
    if min(len(sample) for sample in samples) >= MIN_BOOTSTRAP_REPEATS:
        rng = np.random.default_rng(seed)
        columns = [
            np.median(sample[rng.integers(0, len(sample), (N_BOOTSTRAP, len(sample)))], axis=1)
            for sample in samples
        ]
        resampled = np.log(np.column_stack(columns)) - log_unit
        replicates = np.array([_fit_rate_theta(m, L, row, per_layer, theta) for row in resampled])

    return RateFit(
        depths=tuple(int(depth) for depth in depths),
        per_layer=per_layer,
        theta=theta,
        m_unit=m_unit,
        replicates=replicates,
        covariance=covariance,
        dof=dof,
        log_unit=log_unit,
        aic=float(aic),
    )


def _percentiles() -> list[float]:
    return [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)]


def _t_quantile(dof: int) -> float:
    return float(stats.t.ppf(0.5 * (1 + CONFIDENCE), dof)) if dof > 0 else np.nan


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


def judge_naive_width(growth: NaiveGrowth | None, width: int) -> tuple[str, str]:
    """Claim 1's verdict at one width, and why."""
    if growth is None:
        return UNDECIDED, f"{NOT_MEASURED} at width {width}"
    depths = growth.depths
    if len(depths) < MIN_DISTINCT_DEPTHS or depths[-1] / depths[0] < MIN_DEPTH_RATIO:
        return UNDECIDED, (
            f"width {width}: {len(depths)} depths ({depth_range(depths)}); at least "
            f"{MIN_DISTINCT_DEPTHS} spanning a ratio of {MIN_DEPTH_RATIO:g} are needed"
        )
    if growth.count_model == UNDECIDED:
        return UNDECIDED, f"width {width}: the counts' growth model is undecided"
    if growth.count_model != "exponential":
        return DOES_NOT_HOLD, f"width {width}: the counts grow as {growth.count_model}"
    gap = growth.power_aic - growth.rate.aic
    if growth.time_base is None:
        return UNDECIDED, (
            f"width {width}: fewer than {MIN_POINTS} depths timed at "
            f"{ARITHMETIC_MULTIPLE:g} x the shallowest"
        )
    base, interval = growth.time_base
    if interval.high <= 1:
        return DOES_NOT_HOLD, f"width {width}: base {interval_text(base, interval)}"
    if interval.low <= 1:
        return UNDECIDED, f"width {width}: base interval {interval_text(base, interval)} holds 1"
    # All repeats of a cell are timed together, so a burst of other work on the machine
    # moves a whole cell, and no interval sees it: a time that strays from the counts casts
    # doubt on the verdict but cannot by itself overturn counts that are exact.
    if gap <= -AIC_MARGIN:
        return UNDECIDED, (
            f"width {width}: counts exponential, but a power law fits the time better than "
            f"the counts do (AIC by {-gap:.2g})"
        )
    consistent = "contains" if interval.contains(width) else "excludes"
    return HOLDS, (
        f"width {width}: counts exponential, time follows them (AIC gap {gap:.2g}), "
        f"base interval {consistent} {width}"
    )


def claim_naive_exponential(sweep: Sweep, widths: Sequence[int] = CLAIM_WIDTHS) -> Claim:
    results = sweep.results
    growths = {width: sweep.naive(width) for width in widths}
    judged = {width: judge_naive_width(growths[width], width) for width in widths}
    verdict = combine(verdict for verdict, _ in judged.values())
    unmeasured = [width for width, growth in growths.items() if growth is None]

    figures, values = [], {}
    for width, growth in growths.items():
        if growth is None:
            figures.append(f"width {width}: {NOT_MEASURED}")
            continue
        values[width] = {
            "aic_gap": growth.power_aic - growth.rate.aic,
            "overhead_s": growth.rate.overhead_s,
            "seconds_per_multiplication": growth.rate.seconds_per_multiplication,
            "count_model": growth.count_model,
            "window": growth.window,
            "verdict": judged[width][0],
        }
        if growth.time_base is None:
            figures.append(f"width {width}: too few depths dominated by arithmetic")
            continue
        (raw, raw_interval), (base, base_interval) = growth.time_factor, growth.time_base
        figures.append(
            f"width {width} ({depth_range(growth.window)}): base b = "
            f"{interval_text(base, base_interval)} of (t - c0 - c1 D) / (2D+1), raw factor "
            f"x{interval_text(raw, raw_interval)} per layer (counts: base "
            f"{growth.count_base:.4g}, raw x{growth.count_factor:.3g})"
        )
        values[width].update(
            time_factor=raw,
            time_factor_interval=(raw_interval.low, raw_interval.high),
            time_base=base,
            time_base_interval=(base_interval.low, base_interval.high),
            count_factor=growth.count_factor,
            count_base=growth.count_base,
        )

    with_base = [width for width in widths if "time_base" in values.get(width, {})]
    if not with_base:
        conclusion = (
            "The naive provider's time was not measured deep enough at the claim's widths."
        )
    else:
        bases = ", ".join(f"{values[w]['time_base']:.3g} at width {w}" for w in with_base)
        containing = [w for w in with_base if growths[w].time_base[1].contains(w)]
        conclusion = (
            f"Each added layer multiplies the naive time by a little more than the width, "
            f"because every path also gets longer; with the path length (2D + 1 "
            f"multiplications) divided out, the base is {bases}, and its 95% interval "
            f"contains the width at {len(containing)} of {len(with_base)} widths."
        )
        conclusion += (
            " The cost is exponential in depth, with the width as its base."
            if verdict == HOLDS and len(containing) == len(with_base)
            else f" Verdict: {verdict}."
        )
    reasons = [reason for width, (_, reason) in judged.items() if width not in unmeasured]
    conditions = "; ".join(reasons)
    if unmeasured:
        missing = f"{NOT_MEASURED} at width(s) {', '.join(map(str, unmeasured))}"
        conditions = f"{missing}; {conditions}" if conditions else missing
    return Claim(
        number=1,
        title="The naive cost grows exponentially with depth",
        statement="Computing each weight's derivative path by path costs a factor of about "
        "the width more per added layer.",
        configuration=f"naive provider, widths {', '.join(map(str, widths))}, layer sizes "
        f"{_layer_pattern(results)}; {sweep_setting(results)}; factors over the deepest "
        f"(up to {DEEP_WINDOW}) depths timed at {ARITHMETIC_MULTIPLE:g} x the shallowest, "
        "model contest over every measured depth",
        measured="; ".join(figures),
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values=values,
    )


def _layer_pattern(results: pd.DataFrame) -> str:
    sizes = str(results.iloc[0]["layer_sizes"]).split("-")
    return f"{sizes[0]}-w-...-w-{sizes[-1]}"


# Claim 2: backpropagation's cost grows linearly with depth


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
        t = stats.t.ppf(0.5 * (1 + CONFIDENCE), dof) if dof > 0 else np.nan
        half_width = t * np.sqrt(np.einsum("ij,jk,ik->i", grid, covariance, grid))
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


def judge_linear(growth: LinearGrowth) -> tuple[str, str]:
    """Claim 2's verdict at one width, and why."""
    depths = growth.depths
    where = f"width {growth.width}"
    if len(depths) < MIN_DISTINCT_DEPTHS or depths[-1] / depths[0] < MIN_DEPTH_RATIO:
        return UNDECIDED, (
            f"{where}: {len(depths)} depths ({depth_range(depths)}); at least "
            f"{MIN_DISTINCT_DEPTHS} spanning a ratio of {MIN_DEPTH_RATIO:g} are needed"
        )
    if not growth.counts_affine:
        return DOES_NOT_HOLD, f"{where}: counted multiplications are not affine in depth"
    if growth.growth.chosen == "exponential":
        return DOES_NOT_HOLD, f"{where}: time fits the exponential model best"
    k, interval = growth.growth.depth_exponent("overhead")
    low, high = LINEAR_EXPONENTS
    exponent = f"k = {interval_text(k, interval)} in t = c0 + c1 D^k"
    # Timed repeats are never exact: an interval of no width comes from a degenerate fit
    # (the overhead model's regression errors collapse when c1 D^k hugs a single point).
    if not interval.high - interval.low > 1e-9 * abs(k):
        return UNDECIDED, f"{where}: {exponent}, a degenerate fit"
    if low <= interval.low and interval.high <= high:
        return HOLDS, f"{where}: counts affine, {exponent}"
    if interval.high < low or interval.low > high:
        return DOES_NOT_HOLD, f"{where}: {exponent}, not linear"
    return UNDECIDED, f"{where}: {exponent}, too wide to tell"


def claim_backprop_linear(sweep: Sweep) -> Claim:
    results = sweep.results
    widths = sweep.widths("backprop")
    growths = [g for g in (sweep.linear(w) for w in widths) if g is not None]
    judged = [judge_linear(growth) for growth in growths]
    # The claim names no width: it holds where it was shown at some width and refuted at
    # none; a width too noisy to tell does not undo another width's evidence.
    parts = [verdict for verdict, _ in judged]
    verdict = DOES_NOT_HOLD if DOES_NOT_HOLD in parts else HOLDS if HOLDS in parts else UNDECIDED

    figures, values = [], {}
    for growth, (part, _) in zip(growths, judged):
        slope = growth.line.intervals["slope"]
        k, k_interval = growth.growth.depth_exponent("overhead")
        affine = "exactly affine" if growth.counts_affine else "NOT affine"
        figures.append(
            f"width {growth.width} ({depth_range(growth.depths)}): counts {affine}, "
            f"+{growth.count_slope:.0f} multiplications per layer; time k = "
            f"{interval_text(k, k_interval)}, line +"
            f"{interval_text(growth.line.slope * 1e6, _scaled(slope, 1e6))} µs per layer "
            f"(R^2 = {growth.line.r_squared:.3f})"
        )
        values[growth.width] = {
            "counts_affine": growth.counts_affine,
            "count_slope": growth.count_slope,
            "time_slope_s": growth.line.slope,
            "time_slope_interval_s": (slope.low, slope.high),
            "r_squared": growth.line.r_squared,
            "exponents": {n: (k, iv.low, iv.high) for n, (k, iv) in growth.exponents().items()},
            "time_model": growth.growth.chosen,
            "verdict": part,
        }

    if not growths:
        conditions, conclusion = f"{NOT_MEASURED}: backprop ran at fewer than 3 depths", ""
    else:
        conditions = "; ".join(reason for _, reason in judged)
        shown = [g for g, (part, _) in zip(growths, judged) if part == verdict] or growths
        headline = shown[0]
        affine = "the same" if headline.counts_affine else "a varying number of"
        conclusion = (
            f"Each added layer adds {affine} {headline.count_slope:.0f} multiplications to a "
            f"backprop gradient (width {headline.width}) and about "
            f"{headline.line.slope * 1e6:.3g} µs to its time"
        )
        if verdict == HOLDS:
            conclusion += (
                f": the cost is linear in depth (shown at width "
                f"{', '.join(str(g.width) for g in shown)})."
            )
        else:
            conclusion += f". Verdict: {verdict}."
    return Claim(
        number=2,
        title="Backpropagation's cost grows linearly with depth",
        statement="Reusing each layer's delta makes one gradient cost a constant amount more "
        "per added layer.",
        configuration=f"backprop, widths {', '.join(map(str, widths)) or '-'}; "
        f"{sweep_setting(results)}; every measured depth",
        measured="; ".join(figures) or NOT_MEASURED,
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion or "Backprop was not measured at enough depths.",
        values=values,
    )


def _scaled(interval: Interval, factor: float) -> Interval:
    return Interval(interval.low * factor, interval.high * factor, interval.method)


# Claim 3: "with 20 layers backprop is about a million times faster"


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


def count_ratio(width: int, depth: int, n_inputs: int, n_outputs: int, batch_size: int) -> float:
    shape = (n_inputs, n_outputs, batch_size)
    return model_counts("naive", width, depth, *shape) / model_counts(
        "backprop", width, depth, *shape
    )


def cost_model_check(results: pd.DataFrame) -> tuple[int, int]:
    """(cells run, cells whose counted multiplications differ from the cost model)."""
    ok = results[results["status"] == "ok"]
    differ = ok["multiplications"].astype("int64") != ok["predicted_multiplications"].astype(
        "int64"
    )
    return len(ok), int(differ.sum())


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


def about_level(low: float, high: float, level: float = SPEEDUP_LEVEL) -> str:
    """HOLDS when [low, high] lies within ABOUT_FACTOR of ``level``, DOES_NOT_HOLD when it
    lies wholly outside that band, UNDECIDED when it straddles an edge or is not a number."""
    band_low, band_high = level / ABOUT_FACTOR, level * ABOUT_FACTOR
    if not (np.isfinite(low) and np.isfinite(high)):
        return UNDECIDED
    if band_low <= low and high <= band_high:
        return HOLDS
    if high < band_low or low > band_high:
        return DOES_NOT_HOLD
    return UNDECIDED


def reaches(low: float, high: float, level: float = SPEEDUP_LEVEL) -> bool | None:
    """True when the interval lies at or above ``level``, False below it, None across it."""
    if low >= level:
        return True
    if high < level:
        return False
    return None


def claim_million(
    sweep: Sweep, *, width: int = HEADLINE_WIDTH, depth: int = TARGET_DEPTH
) -> Claim:
    results = sweep.results
    shape = sweep_shape(results)
    n_cells, n_differ = cost_model_check(results)
    naive_count = model_counts("naive", width, depth, *shape)
    backprop_count = model_counts("backprop", width, depth, *shape)
    counts = naive_count / backprop_count
    by_width = {w: count_ratio(w, depth, *shape) for w in MODEL_WIDTHS}
    count_widths = [w for w, ratio in by_width.items() if ratio >= SPEEDUP_LEVEL]

    times = time_ratio(sweep, width, depth)
    time_widths, time_parts = [], {}
    for other in sweep.widths("naive"):
        ratio = time_ratio(sweep, other, depth)
        if ratio is not None:
            time_parts[other] = ratio
            if reaches(ratio.interval.low, ratio.interval.high):
                time_widths.append(other)

    count_verdict = about_level(counts, counts) if n_differ == 0 else UNDECIDED
    time_verdict = (
        UNDECIDED if times is None else about_level(times.interval.low, times.interval.high)
    )
    verdict = combine([count_verdict, time_verdict])

    checked = (
        f"from the cost model, checked against the counters in {n_cells} cells"
        if n_differ == 0
        else f"cost model DIFFERS from the counters in {n_differ} of {n_cells} cells"
    )
    count_text = (
        f"counts {counts:.3g} (naive {naive_count:,} / backprop {backprop_count:,} "
        f"multiplications, {checked})"
    )
    time_text = (
        f"time {NOT_MEASURED} (naive below 3 depths)"
        if times is None
        else f"time {times.text()} ({times.how})"
    )
    width_text = (
        f"10^6 reached at depth {depth} in counts for widths "
        f"{', '.join(map(str, count_widths)) or 'none'} (of {MODEL_WIDTHS[0]}-{MODEL_WIDTHS[-1]})"
        f", in time for widths {', '.join(map(str, time_widths)) or 'none'} "
        f"(of {', '.join(map(str, time_parts)) or 'none'} measured)"
    )
    conditions = f"counts: {_about_words(count_verdict, counts)}; time: " + (
        "not measured" if times is None else _about_words(time_verdict, times.value)
    )
    if times is not None and times.extrapolated:
        conditions += "; the time ratio is extrapolated"
    in_time = "" if times is None else f" and {times.value:.2g} times its time"
    if times is not None and times.extrapolated:
        in_time += " (extrapolated)"
    conclusion = (
        f"At depth {depth} and width {width} one naive gradient takes {counts:.2g} times the "
        f"multiplications of a backprop gradient{in_time}. 'About a million' {verdict}: "
        f"{conditions}. In counts the factor 10^6 is reached at widths "
        f"{', '.join(map(str, count_widths)) or 'none'} of {MODEL_WIDTHS[0]}-{MODEL_WIDTHS[-1]}."
    )
    return Claim(
        number=3,
        title=f"With {depth} layers backprop is about a million times faster",
        statement=f"The ratio naive / backprop at depth {depth} is about 10^6.",
        configuration=f"width {width} (counts also widths {MODEL_WIDTHS[0]}-{MODEL_WIDTHS[-1]}), "
        f"depth {depth}, layer sizes {_layer_pattern(results)}; {sweep_setting(results)}",
        measured=f"{count_text}; {time_text}; {width_text}",
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values={
            "count_ratio": counts,
            "naive_count": naive_count,
            "backprop_count": backprop_count,
            "count_ratio_by_width": by_width,
            "count_widths_reaching_level": count_widths,
            "cost_model_cells": n_cells,
            "cost_model_differences": n_differ,
            "time_ratio": None if times is None else times.value,
            "time_ratio_interval": None
            if times is None
            else (times.interval.low, times.interval.high),
            "time_ratio_extrapolated": None if times is None else times.extrapolated,
            "time_ratio_by_width": {
                w: (r.value, r.interval.low, r.interval.high, r.extrapolated)
                for w, r in time_parts.items()
            },
            "time_widths_reaching_level": time_widths,
            "count_verdict": count_verdict,
            "time_verdict": time_verdict,
        },
    )


def _about_words(verdict: str, value: float) -> str:
    if verdict == HOLDS:
        return "within a factor 10 of 10^6"
    if verdict == DOES_NOT_HOLD:
        side = "more" if value > SPEEDUP_LEVEL else "less"
        return f"{value / SPEEDUP_LEVEL:.3g} x 10^6, over a factor 10 {side} than claimed"
    return "interval straddles the edge of 10^5 .. 10^7"


# Claim 4: both give the same gradient


def exact_disagreement(results: pd.DataFrame, accuracy_cost: pd.DataFrame | None) -> float | None:
    """The largest difference naive vs backprop seen anywhere, or None if never compared."""
    values = list(
        results.loc[(results["provider"] == "naive") & (results["status"] == "ok"), "max_rel_diff"]
    )
    if accuracy_cost is not None:
        values += list(accuracy_cost.loc[accuracy_cost["provider"] == "naive", "error"])
    if not values:
        return None
    values = np.asarray(values, dtype=float)
    return float("nan") if np.isnan(values).any() else float(values.max())


def claim_same_gradient(results: pd.DataFrame, accuracy_cost: pd.DataFrame | None = None) -> Claim:
    naive = results[(results["provider"] == "naive") & (results["status"] == "ok")]
    differences = naive["max_rel_diff"].to_numpy(float)
    extra = (
        np.array([])
        if accuracy_cost is None
        else accuracy_cost.loc[accuracy_cost["provider"] == "naive", "error"].to_numpy(float)
    )
    every = np.concatenate([differences, extra])

    if every.size == 0:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: no naive cell ran"
        figure = NOT_MEASURED
    elif np.isnan(every).any():
        verdict = DOES_NOT_HOLD
        conditions = f"{int(np.isnan(every).sum())} comparison(s) gave NaN"
        figure = conditions
    else:
        largest = float(every.max())
        verdict = HOLDS if largest <= SAME_GRADIENT_TOLERANCE else DOES_NOT_HOLD
        relation = "<=" if verdict == HOLDS else ">"
        conditions = f"largest difference {largest:.2g} {relation} {SAME_GRADIENT_TOLERANCE:g}"
        figure = (
            f"max relative difference {largest:.2g} (range {every.min():.2g} .. {largest:.2g} "
            f"over {len(differences)} sweep cells"
            + (f" and {len(extra)} batch-of-32 checks" if extra.size else "")
            + ")"
        )
    widths = sorted(int(w) for w in naive["width"].unique())
    depths = sorted(int(d) for d in naive["depth"].unique())
    conclusion = (
        "The path-by-path sum and backpropagation give the same gradient up to float64 rounding."
        if verdict == HOLDS
        else f"Verdict {verdict}: {conditions}."
    )
    return Claim(
        number=4,
        title="Both give the same gradient",
        statement="Naive expansion and backpropagation compute the same derivative.",
        configuration=f"every naive cell of the sweep (widths {', '.join(map(str, widths)) or '-'}"
        f", {depth_range(depths) if depths else 'no depths'}), float64, against backprop at the "
        "same parameters and batch"
        + ("; plus width-2 networks on 32 digits" if extra.size else ""),
        measured=figure,
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values={
            "max_difference": float(every.max()) if every.size else None,
            "n_compared": int(every.size),
            "tolerance": SAME_GRADIENT_TOLERANCE,
        },
    )


# Claim 5: finite differences cost about P forward passes and are approximate


def fd_count_mismatches(frame: pd.DataFrame) -> tuple[int, list[str]]:
    """(networks checked, descriptions of loss-evaluation counts that differ from P+1 / 2P)."""
    checked, mismatches = 0, []
    for name, expected in FD_LOSS_EVALUATIONS.items():
        rows = frame[frame["provider"] == name]
        if "status" in rows:
            rows = rows[rows["status"] == "ok"]
        for row in rows.itertuples(index=False):
            checked += 1
            want = expected(int(row.n_parameters))
            if int(row.loss_evaluations) != want:
                mismatches.append(
                    f"{name} at P = {int(row.n_parameters)}: {int(row.loss_evaluations)} "
                    f"loss evaluations, not {want}"
                )
    return checked, mismatches


def fd_time_ratios(sweep: Sweep, provider: str, width: int) -> dict[int, Estimate]:
    """Seconds of a finite-difference gradient over backprop's, per depth both ran."""
    ratios = {}
    depths, _ = sweep.samples(provider, width)
    for depth in depths:
        numerator = measured_time(sweep, provider, width, int(depth))
        denominator = measured_time(sweep, "backprop", width, int(depth))
        if numerator is not None and denominator is not None:
            ratios[int(depth)] = ratio_of(numerator, denominator, names=(provider, "backprop"))
    return ratios


def claim_finite_differences(
    sweep: Sweep,
    fd_steps: pd.DataFrame | None,
    exact_difference: float | None = None,
    width: int = HEADLINE_WIDTH,
) -> Claim:
    results = sweep.results
    frames = [results] + (
        [] if fd_steps is None else [fd_steps[~fd_steps["provider"].eq("backprop")]]
    )
    checked, mismatches = 0, []
    for frame in frames:
        n, wrong = fd_count_mismatches(frame)
        checked, mismatches = checked + n, mismatches + wrong

    time_texts, values = [], {"count_cells": checked, "count_mismatches": mismatches}
    for name in FD_LOSS_EVALUATIONS:
        ratios = fd_time_ratios(sweep, name, width)
        if not ratios:
            continue
        rows = measured(results, name, width).set_index("depth")
        deepest = max(ratios)
        per_evaluation = ratios[deepest].value / float(rows.loc[deepest, "loss_evaluations"])
        time_texts.append(
            f"{name} time / backprop time {ratios[min(ratios)].value:.3g} at depth {min(ratios)} "
            f"to {ratios[deepest].text()} at depth {deepest} "
            f"(P = {int(rows.loc[deepest, 'n_parameters'])}; {per_evaluation:.2g} backprop "
            f"gradients per loss evaluation)"
        )
        values[f"{name} time ratio"] = {d: r.value for d, r in ratios.items()}

    floor = APPROXIMATE_FACTOR * max(exact_difference or 0.0, FLOAT64_EPS)
    error_texts, too_small = [], []
    if fd_steps is not None:
        summary = fd_step.summary(fd_steps)["float64"]
        for name in FD_LOSS_EVALUATIONS:
            entry = summary[name]
            error_texts.append(
                f"{name} best error {entry['best_error']:.2g} at step {entry['best_step']:.2g}, "
                f"{entry['default_step_error']:.2g} at the default step "
                f"{entry['default_step']:.2g}"
            )
            values[f"{name} best error"] = entry["best_error"]
            if entry["best_error"] <= floor:
                too_small.append(name)

    if mismatches:
        verdict, conditions = DOES_NOT_HOLD, "; ".join(mismatches[:3])
    elif checked == 0 and fd_steps is None:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: no finite-difference cell ran"
    elif fd_steps is None:
        verdict = UNDECIDED
        conditions = f"{NOT_MEASURED}: the error against the step (counts are P + 1 and 2P)"
    elif too_small:
        verdict = DOES_NOT_HOLD
        conditions = f"{', '.join(too_small)} reach an error <= {floor:.2g}, as exact as backprop"
    elif checked == 0:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: counts in the sweep"
    else:
        verdict = HOLDS
        conditions = (
            f"counts exact in {checked} networks; best errors above {floor:.2g} "
            f"({APPROXIMATE_FACTOR:g} x the exact methods' disagreement or float64 rounding)"
        )
    values["approximate_floor"] = floor
    measured_text = "; ".join(
        [f"loss evaluations = P + 1 (forward) and 2P (central) in {checked} networks"
         + (f", {len(mismatches)} differ" if mismatches else "")]
        + time_texts
        + error_texts
    )  # fmt: skip
    if verdict == HOLDS:
        best = min(values[f"{name} best error"] for name in FD_LOSS_EVALUATIONS)
        conclusion = (
            "A finite-difference gradient costs one forward pass per parameter (two for "
            f"central differences){_dearer_text(values)}, and it is only approximate: even at "
            f"its best step its error ({best:.2g}) is {best / floor * APPROXIMATE_FACTOR:.2g} "
            "times the exact methods' disagreement."
        )
    else:
        conclusion = f"Verdict {verdict}: {conditions}."
    return Claim(
        number=5,
        title="Finite differences cost about P forward passes and are approximate",
        statement="A finite-difference gradient needs about one forward pass per parameter "
        "and is only an approximation, whose error depends on the step.",
        configuration=f"fd-forward and fd-central in the sweep (width {width}); steps "
        "1e-1 .. 1e-13 on a 64-2-2-10 tanh network with 100 digits, float64 and float32, "
        "against float64 backprop",
        measured=measured_text,
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values=values,
    )


def _dearer_text(values: dict) -> str:
    ratios = [
        values[f"{name} time ratio"]
        for name in FD_LOSS_EVALUATIONS
        if f"{name} time ratio" in values
    ]
    if not ratios:
        return ""
    every = [ratio for by_depth in ratios for ratio in by_depth.values()]
    return f"; in time that is {min(every):.2g} to {max(every):.2g} backprop gradients here"


# Claim 6: gradient descent on x^2


def expected_behaviour(rate: float) -> str:
    if rate < 1:
        return "converges"
    return "oscillates" if rate == 1 else "diverges"


def claim_quadratic(frame: pd.DataFrame | None) -> Claim:
    title = "Gradient descent on x^2: rate 1 oscillates, below converges, above diverges"
    statement = (
        "With f(x) = x^2 and learning rate 1 the iterates swing between x0 and -x0 for ever; "
        "0 < rate < 1 converges, rate > 1 diverges."
    )
    if frame is None:
        reason = f"{NOT_MEASURED}: the x^2 experiment did not run"
        return Claim(6, title, statement, "-", NOT_MEASURED, UNDECIDED, reason, "Not measured.")

    summary = quadratic.summary(frame)
    rates = summary["rates"]
    wrong = [
        f"rate {rate:g} {entry['behaviour']}, expected {expected_behaviour(rate)}"
        for rate, entry in rates.items()
        if entry["behaviour"] != expected_behaviour(rate)
    ]
    sides = {"below 1": [r for r in rates if r < 1], "1": [r for r in rates if r == 1],
             "above 1": [r for r in rates if r > 1]}  # fmt: skip
    missing = [side for side, found in sides.items() if not found]

    if wrong:
        verdict, conditions = DOES_NOT_HOLD, "; ".join(wrong)
    elif missing:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: no rate {', '.join(missing)}"
    else:
        longest = max(entry["updates_run"] for entry in rates.values())
        verdict, conditions = HOLDS, f"every rate as expected, runs of up to {longest} updates"

    figures = []
    for rate, entry in rates.items():
        stop = (
            f", loss infinite at update {entry['non_finite_loss_at_update']}"
            if entry["non_finite_loss_at_update"]
            else ""
        )
        figures.append(
            f"rate {rate:g}: |x_(k+1)/x_k| = {entry['observed_ratio']:.4g} (spread "
            f"{entry['ratio_spread']:.1g}; predicted {entry['predicted_ratio']:.4g}), "
            f"{entry['behaviour']}, x_10 = {entry['x_10']:.5g}{stop}"
        )
    at_one = rates.get(1.0)
    conclusion = (
        f"Each step multiplies x by (1 - 2 rate), exactly as measured: at rate 1 the iterate "
        f"was still {at_one['final_abs_x']:g} in size after {at_one['updates_run']} updates, "
        "below 1 it shrinks, above 1 it grows until the loss overflows."
        if verdict == HOLDS and at_one is not None
        else f"Verdict {verdict}: {conditions}."
    )
    return Claim(
        number=6,
        title=title,
        statement=statement,
        configuration=f"x0 = {summary['x0']:g}, rates {', '.join(f'{r:g}' for r in rates)}, "
        f"the library's training loop, stopped only by a non-finite loss",
        measured="; ".join(figures),
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values={
            rate: {key: entry[key] for key in ("behaviour", "x_10", "non_finite_loss_at_update")}
            for rate, entry in rates.items()
        },
    )


# Claim 7: one SGD update's cost does not grow with the data set, one GD update's does


def judge_slope(counted: dict, timed: dict, claimed: float, other: float) -> tuple[str, str]:
    """One method's verdict from its counted and timed log-log slopes."""
    if abs(counted["slope"] - claimed) > EXACT_SLOPE_TOLERANCE:
        return DOES_NOT_HOLD, f"counted slope {counted['slope']:.3g}, not {claimed:g}"
    low, high = timed["low"], timed["high"]
    if not low <= claimed <= high:
        return DOES_NOT_HOLD, f"time slope interval [{low:.2f}, {high:.2f}] excludes {claimed:g}"
    if low <= other <= high:
        return UNDECIDED, f"time slope interval [{low:.2f}, {high:.2f}] holds both 0 and 1"
    return HOLDS, f"time slope interval [{low:.2f}, {high:.2f}] holds {claimed:g} only"


def claim_dataset_size(frame: pd.DataFrame | None) -> Claim:
    title = "One SGD update does not grow with the data set; one GD update grows linearly"
    statement = (
        "The cost of one per-sample SGD update is independent of the data-set size n; one "
        "full-batch gradient-descent update costs in proportion to n."
    )
    if frame is None:
        reason = f"{NOT_MEASURED}: the data-set size experiment did not run"
        return Claim(7, title, statement, "-", NOT_MEASURED, UNDECIDED, reason, "Not measured.")

    summary = dataset_size.summary(frame)
    parts, figures, values = [], [], {}
    for method, claimed in UPDATE_SLOPES.items():
        fits = summary[method]
        other = 1.0 - claimed
        verdict, reason = judge_slope(fits["multiplications"], fits["median_s"], claimed, other)
        parts.append((verdict, f"{method}: {reason}"))
        timed, fastest = fits["median_s"], fits["min_s"]
        counted = fits["multiplications"]["slope"]
        figures.append(
            f"{method}: slope of log cost on log n: counts {counted:.3g}, median time "
            f"{_slope_text(timed)}, fastest repeat {_slope_text(fastest)}"
        )
        values[method] = {
            "count_slope": counted,
            "time_slope": timed["slope"],
            "time_interval": (timed["low"], timed["high"]),
            "verdict": verdict,
        }
    ratio = summary["gd_over_sgd_at_largest"]
    largest = summary["sizes"][-1]
    figures.append(
        f"at n = {largest}: GD / SGD update = {ratio['multiplications']:.3g} in counts, "
        f"{ratio['median_s']:.3g} in median time"
    )
    verdict = combine(v for v, _ in parts)
    first = frame.iloc[0]
    conclusion = (
        f"One SGD update cost the same from n = {summary['sizes'][0]} to n = {largest}, while one "
        f"full-batch update grew in proportion to n: at n = {largest} it costs "
        f"{ratio['median_s']:.3g} SGD updates in time."
        if verdict == HOLDS
        else f"Verdict {verdict}: " + "; ".join(reason for _, reason in parts) + "."
    )
    return Claim(
        number=7,
        title=title,
        statement=statement,
        configuration=f"backprop on a {first['layer_sizes']} tanh network, teacher-student data, "
        f"n = {', '.join(map(str, summary['sizes']))}; one update timed with single-threaded BLAS",
        measured="; ".join(figures),
        verdict=verdict,
        conditions="; ".join(reason for _, reason in parts),
        conclusion=conclusion,
        values=values,
    )


def _slope_text(fit: dict) -> str:
    return f"{fit['slope']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}]"
