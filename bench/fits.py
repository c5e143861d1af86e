"""Fit how a provider's cost grows with network depth, and say so when the data cannot tell.

For: one provider's costs (counted multiplications or seconds) at several depths ``L``, fitted
by three growth models compared on the same residuals of ``log y`` -- exponential
``log y = a + L log b``, power ``log y = a + k log L`` and power with a constant overhead
``y = c0 + c1 L^k`` -- with AIC per model, intervals, a verdict that may be "undecided", and
predictions at a depth that was not measured. Also the straight line ``y = a + b L`` on the raw
scale, for checking that a cost grows linearly with depth, and the resampling and quantiles the
intervals are built from, for other fits of timed repeats to share.
Not for: taking measurements, plotting, or cost against anything other than depth.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from scipy import optimize, stats

# Fewer depths than this cannot separate three growth models reliably: on depths 1, 2, 3 an
# exponential still fits L^2 costs with R^2 = 0.98 on log cost.
MIN_DISTINCT_DEPTHS = 5
# Power and exponential growth look alike on a short stretch of depths: require the deepest
# fitted depth to be at least this multiple of the shallowest one.
MIN_DEPTH_RATIO = 4.0
# AIC gap below which two models count as equally supported (the usual rule of thumb).
AIC_MARGIN = 2.0
# Smallest residual scatter, in log units, taken as real. Exact counts fit some model to
# rounding error; without a floor, AIC would rank models by rounding noise and intervals
# would be narrower than the arithmetic behind them.
LOG_RESIDUAL_FLOOR = 1e-9
# A parameter whose share of a direction the data leave free (a zero singular value) is above
# rounding error can move along it without changing the fit: it is undetermined.
UNDETERMINED_SHARE = float(np.sqrt(np.finfo(float).eps))
# With fewer repeats, medians of resampled repeats take too few distinct values to form a
# percentile interval, so the regression's own standard errors are used instead.
MIN_BOOTSTRAP_REPEATS = 3
DEFAULT_BOOTSTRAP_RESAMPLES = 1000
MIN_BOOTSTRAP_RESAMPLES = 100
DEFAULT_TARGET_DEPTH = 20

UNDECIDED = "undecided"
BOOTSTRAP = "bootstrap"
ANALYTIC = "analytic"


@dataclass(frozen=True)
class Interval:
    """A confidence interval and how it was obtained (``BOOTSTRAP`` or ``ANALYTIC``)."""

    low: float
    high: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class ModelFit:
    """One growth model fitted to log costs.

    ``theta`` holds the parameters in the form the fit works with, for costs divided by
    ``cost_unit`` (their geometric mean): intercept and slope of the straight line in log space
    for the exponential and power models, ``(c0, c1, k)`` for the overhead model.
    ``parameters`` holds the same numbers in the costs' own unit, under their public names.
    ``theta_covariance`` comes from the regression (used when there is no bootstrap);
    ``theta_replicates`` holds one refitted ``theta`` per bootstrap resample, or is None.
    """

    model: str
    parameters: dict[str, float]
    intervals: dict[str, Interval]
    r_squared_log: float
    aic: float
    n_parameters: int
    residual_dof: int
    cost_unit: float
    theta: np.ndarray = field(repr=False, compare=False)
    theta_covariance: np.ndarray = field(repr=False, compare=False)
    theta_replicates: np.ndarray | None = field(repr=False, compare=False)


@dataclass(frozen=True)
class ScalingFit:
    """All growth models fitted to one provider's costs, and which one the data support.

    ``chosen`` is a model name or ``UNDECIDED``; ``reason`` says why. ``depths`` and ``values``
    are the points fitted (the median of the repeats at each depth); ``left_out_depths`` were
    measured but could not be put on a log scale.
    """

    depths: tuple[int, ...]
    values: tuple[float, ...]
    fits: dict[str, ModelFit]
    chosen: str
    reason: str
    left_out_depths: tuple[int, ...]
    interval_method: str
    confidence: float
    notes: tuple[str, ...]

    def growth_factor(self) -> tuple[float, Interval]:
        """Per-layer growth factor ``b`` of the exponential model."""
        fit = self.fits["exponential"]
        return fit.parameters["growth_factor"], fit.intervals["growth_factor"]

    def depth_exponent(self, model: str = "power") -> tuple[float, Interval]:
        """Depth exponent ``k`` of the power model, or of the overhead model."""
        _check_choice(
            "model", model, [name for name in ("power", "overhead") if name in self.fits]
        )
        fit = self.fits[model]
        return fit.parameters["depth_exponent"], fit.intervals["depth_exponent"]


@dataclass(frozen=True)
class LinearFit:
    """Ordinary least squares ``y = intercept + slope * L`` on the raw scale."""

    intercept: float
    slope: float
    r_squared: float
    intervals: dict[str, Interval]


@dataclass(frozen=True)
class Prediction:
    """A model's cost at one depth, with an interval for the mean cost there.

    ``extrapolated`` is true whenever the depth was not among the fitted depths, including a
    depth between two measured ones.
    """

    depth: float
    value: float
    interval: Interval
    extrapolated: bool
    model: str


@dataclass(frozen=True)
class _Model:
    """How one growth model is fitted and evaluated.

    ``log_value`` also takes ``theta`` with leading axes (one row per bootstrap resample).
    """

    names: tuple[str, ...]
    to_public: Callable[[np.ndarray, float], np.ndarray]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    fit: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]
    log_value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]

    @property
    def n_parameters(self) -> int:
        return len(self.names)


def _fit_line(x: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    X = np.column_stack([np.ones_like(x), x])
    return np.linalg.lstsq(X, log_y, rcond=None)[0]


def _fit_exponential(L: np.ndarray, log_y: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    return _fit_line(L, log_y)


def _fit_power(L: np.ndarray, log_y: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    return _fit_line(np.log(L), log_y)


def _overhead_log_value(theta: np.ndarray, L: np.ndarray) -> np.ndarray:
    # In logs throughout: on exponential data the fitted k runs high and L**k would overflow.
    c0, c1, k = theta[..., 0], theta[..., 1], theta[..., 2]
    with np.errstate(divide="ignore"):  # c0 = 0 is the power law: log c0 = -inf is meant
        return np.logaddexp(np.log(c0), np.log(c1) + k * np.log(L))


def _overhead_gradient(theta: np.ndarray, L: np.ndarray) -> np.ndarray:
    c0, c1, k = theta
    log_f = _overhead_log_value(theta, L)
    log_L = np.log(L)
    per_c1 = np.exp(k * log_L - log_f)  # L^k / f
    return np.stack([np.exp(-log_f), per_c1, c1 * per_c1 * log_L], axis=-1)


def _overhead_starts(L: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    # The fit is not convex in (c0, k): start from several shares of the smallest cost taken
    # as overhead, with a power law fitted to what remains.
    starts = []
    for share in (0.01, 0.5, 0.9):
        c0 = share * y.min()
        a, k = _fit_line(np.log(L), np.log(y - c0))
        starts.append(np.array([c0, np.exp(a), k]))
    return starts


def _fit_overhead(L: np.ndarray, log_y: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    log_L = np.log(L)
    starts = _overhead_starts(L, np.exp(log_y)) if start is None else [start]

    # Solved in w = log c0 and v = log c1, which keeps both positive without bounds, so the fast
    # unbounded Levenberg-Marquardt solver applies (the bootstrap calls this a thousand times).
    def residuals(p: np.ndarray) -> np.ndarray:
        w, v, k = p
        return np.logaddexp(w, v + k * log_L) - log_y

    def jacobian(p: np.ndarray) -> np.ndarray:
        w, v, k = p
        log_f = np.logaddexp(w, v + k * log_L)
        share_c0, share_c1 = np.exp(w - log_f), np.exp(v + k * log_L - log_f)
        return np.stack([share_c0, share_c1, share_c1 * log_L], axis=1)

    # c0 = 0 is the power law, which log c0 never reaches: it is a candidate of its own.
    a, k = _fit_line(log_L, log_y)
    candidates = [np.array([0.0, np.exp(a), k])]
    for c0, c1, k in starts:
        # Closer to c0 = 0 than this share of the typical cost, log c0 has so little pull on
        # the residuals that the solver would stay where it started.
        p0 = np.array([np.log(max(c0, 1e-3)), np.log(c1), k])
        # A start far from the optimum can overflow on the way; its candidate then loses below.
        with np.errstate(over="ignore", invalid="ignore"):
            w, v, k = optimize.leastsq(residuals, p0, Dfun=jacobian, full_output=True)[0]
            candidates.append(np.array([np.exp(w), np.exp(v), k]))
    return min(candidates, key=lambda theta: _sum_of_squares(theta, L, log_y))


def _sum_of_squares(theta: np.ndarray, L: np.ndarray, log_y: np.ndarray) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        residuals = _overhead_log_value(theta, L) - log_y
        total = float(residuals @ residuals)
    return total if np.isfinite(total) else np.inf


def _line_gradient(transform: Callable[[np.ndarray], np.ndarray]):
    def gradient(theta: np.ndarray, L: np.ndarray) -> np.ndarray:
        x = transform(np.asarray(L, dtype=float))
        return np.stack([np.ones_like(x), x], axis=-1)

    return gradient


def _exponential_public(theta: np.ndarray, log_unit: float) -> np.ndarray:
    return np.array([np.exp(theta[0] + log_unit), np.exp(theta[1])])


def _power_public(theta: np.ndarray, log_unit: float) -> np.ndarray:
    return np.array([np.exp(theta[0] + log_unit), theta[1]])


def _overhead_public(theta: np.ndarray, log_unit: float) -> np.ndarray:
    return np.array([theta[0] * np.exp(log_unit), theta[1] * np.exp(log_unit), theta[2]])


EXPONENTIAL = _Model(
    names=("scale", "growth_factor"),
    to_public=_exponential_public,
    lower=(-np.inf, -np.inf),
    upper=(np.inf, np.inf),
    fit=_fit_exponential,
    log_value=lambda theta, L: theta[..., 0] + theta[..., 1] * L,
    gradient=_line_gradient(lambda L: L),
)
POWER = _Model(
    names=("scale", "depth_exponent"),
    to_public=_power_public,
    lower=(-np.inf, -np.inf),
    upper=(np.inf, np.inf),
    fit=_fit_power,
    log_value=lambda theta, L: theta[..., 0] + theta[..., 1] * np.log(L),
    gradient=_line_gradient(np.log),
)
OVERHEAD = _Model(
    names=("overhead", "scale", "depth_exponent"),
    to_public=_overhead_public,
    lower=(0.0, 0.0, -np.inf),
    upper=(np.inf, np.inf, np.inf),
    fit=_fit_overhead,
    log_value=_overhead_log_value,
    gradient=_overhead_gradient,
)
MODELS: dict[str, _Model] = {"exponential": EXPONENTIAL, "power": POWER, "overhead": OVERHEAD}


def fit_scaling(
    depths: Sequence[int],
    values: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    *,
    confidence: float = 0.95,
    seed: int = 0,
    n_bootstrap: int = DEFAULT_BOOTSTRAP_RESAMPLES,
) -> ScalingFit:
    """Fit exponential, power and overhead growth to costs at ``depths`` and pick one, or none.

    ``values`` holds one cost per depth, or a sequence of repeated costs per depth (lengths may
    differ); the median of the repeats is the point fitted. With at least
    ``MIN_BOOTSTRAP_REPEATS`` repeats at every depth, intervals come from resampling repeats
    within each depth; otherwise from the regression's standard errors.
    """
    L_all, samples_all = _samples_per_depth(depths, values)
    _check_confidence(confidence)
    n_bootstrap = _check_integer("n_bootstrap", n_bootstrap, MIN_BOOTSTRAP_RESAMPLES)

    # A cost <= 0 (a timing below the clock's resolution reads as 0) has no logarithm.
    usable = np.array([np.all(sample > 0) for sample in samples_all])
    left_out = tuple(int(depth) for depth in L_all[~usable])
    L = L_all[usable].astype(float)
    samples = [sample for sample, keep in zip(samples_all, usable, strict=True) if keep]
    if len(L) < 2:
        raise ValueError(
            f"`values` must be positive at two depths or more to be fitted on a log scale, "
            f"got {len(L)} (left out depths {list(left_out)})"
        )
    notes = []
    if left_out:
        notes.append(
            f"left out depths {list(left_out)}: a cost <= 0 cannot be put on a log scale "
            "(a timing below the clock's resolution reads as 0)"
        )

    # Fit costs in units of their geometric mean, so that parameters are of order one for the
    # solvers whether the costs are nanoseconds or billions of multiplications.
    medians = np.array([np.median(sample) for sample in samples])
    log_unit = float(np.log(medians).mean())
    log_y = np.log(medians) - log_unit
    fewest_repeats = min(len(sample) for sample in samples)
    method = BOOTSTRAP if fewest_repeats >= MIN_BOOTSTRAP_REPEATS else ANALYTIC
    if method == ANALYTIC and fewest_repeats > 1:
        notes.append(
            f"intervals from regression standard errors: a bootstrap needs "
            f"{MIN_BOOTSTRAP_REPEATS} repeats at every depth, the fewest here is {fewest_repeats}"
        )

    fittable = {name: model for name, model in MODELS.items() if len(L) >= model.n_parameters}
    for name, model in MODELS.items():
        if name not in fittable:
            notes.append(f"{name} model not fitted: it needs {model.n_parameters} depths")
        elif len(L) == model.n_parameters and method == ANALYTIC:
            notes.append(f"{name} model passes through every point: its intervals are NaN")
    thetas = {name: model.fit(L, log_y, None) for name, model in fittable.items()}

    replicates = dict.fromkeys(fittable)
    if method == BOOTSTRAP:
        # Each resample starts from the full-data optimum: it differs only by resampling noise.
        rng = np.random.default_rng(seed)
        resampled = resampled_log_medians(samples, n_bootstrap, rng) - log_unit
        replicates = {
            name: np.array([model.fit(L, row, thetas[name]) for row in resampled])
            for name, model in fittable.items()
        }

    fits = {
        name: _model_fit(name, L, log_y, log_unit, thetas[name], replicates[name], confidence)
        for name in fittable
    }
    chosen, reason = _verdict(L, fits)
    return ScalingFit(
        depths=tuple(int(depth) for depth in L),
        values=tuple(float(value) for value in medians),
        fits=fits,
        chosen=chosen,
        reason=reason,
        left_out_depths=left_out,
        interval_method=method,
        confidence=confidence,
        notes=tuple(notes),
    )


def predict(
    fit: ScalingFit, depth: float = DEFAULT_TARGET_DEPTH, model: str | None = None
) -> Prediction:
    """Cost at ``depth`` under ``model`` (the chosen one by default), with an interval.

    The interval is for the mean cost at that depth: percentiles of the bootstrap predictions,
    or the standard error of the mean prediction in log space with a t distribution.
    """
    if isinstance(depth, bool) or not isinstance(depth, Real) or not 0 < depth < np.inf:
        raise ValueError(f"`depth` must be a positive finite number, got {depth!r}")
    if model is None and fit.chosen == UNDECIDED:
        raise ValueError(
            f"`model` must be one of {', '.join(fit.fits)} when the verdict is undecided, got None"
        )
    name = fit.chosen if model is None else _check_choice("model", model, fit.fits)
    model_fit, spec = fit.fits[name], MODELS[name]

    log_unit = np.log(model_fit.cost_unit)
    center = float(spec.log_value(model_fit.theta, depth)) + log_unit
    if model_fit.theta_replicates is not None:
        spread = spec.log_value(model_fit.theta_replicates, depth) + log_unit
        low, high = np.percentile(spread, interval_percentiles(fit.confidence))
    else:
        g = spec.gradient(model_fit.theta, np.asarray(depth, dtype=float))
        half_width = t_quantile(fit.confidence, model_fit.residual_dof) * np.sqrt(
            g @ model_fit.theta_covariance @ g
        )
        low, high = center - half_width, center + half_width

    return Prediction(
        depth=float(depth),
        value=float(np.exp(center)),
        interval=Interval(float(np.exp(low)), float(np.exp(high)), fit.interval_method),
        extrapolated=float(depth) not in fit.depths,
        model=name,
    )


def fit_linear(
    depths: Sequence[int],
    values: Sequence[float] | Sequence[Sequence[float]] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> LinearFit:
    """Straight line ``y = intercept + slope * L`` through the median cost per depth.

    ``r_squared`` is on the raw costs, not their logarithms; zeros are kept, since no log is
    taken. Intervals use the t distribution and need three depths or more (NaN otherwise).
    """
    L, samples = _samples_per_depth(depths, values)
    _check_confidence(confidence)
    if len(L) < 2:
        raise ValueError(f"`depths` must hold two depths or more for a line, got {len(L)}")

    y = np.array([np.median(sample) for sample in samples])
    line = stats.linregress(L.astype(float), y)
    t = t_quantile(confidence, len(L) - 2)
    intervals = {
        "intercept": _symmetric(line.intercept, t * line.intercept_stderr),
        "slope": _symmetric(line.slope, t * line.stderr),
    }
    return LinearFit(
        intercept=float(line.intercept),
        slope=float(line.slope),
        r_squared=float(line.rvalue**2),
        intervals=intervals,
    )


def _model_fit(
    name: str,
    L: np.ndarray,
    log_y: np.ndarray,
    log_unit: float,
    theta: np.ndarray,
    replicates: np.ndarray | None,
    confidence: float,
) -> ModelFit:
    model = MODELS[name]
    n, p = len(L), model.n_parameters

    residuals = model.log_value(theta, L) - log_y
    rss = float(residuals @ residuals)
    tss = float(np.sum((log_y - log_y.mean()) ** 2))
    r_squared = 1 - rss / tss if tss > 0 else np.nan
    # Gaussian likelihood of the log residuals; the noise variance, common to all models, is
    # not counted, hence 2, 2 and 3 parameters.
    aic = n * np.log(max(rss / n, LOG_RESIDUAL_FLOOR**2)) + 2 * p

    dof = n - p
    variance = max(rss / dof, LOG_RESIDUAL_FLOOR**2) if dof > 0 else np.nan
    # On data the model cannot follow (an exponential, for the overhead model) the fitted k
    # runs away and J overflows; the covariance is then unknown (NaN).
    with np.errstate(over="ignore", invalid="ignore"):
        J = model.gradient(theta, L)
    covariance = _covariance(J, variance)

    if replicates is not None:
        low, high = np.percentile(replicates, interval_percentiles(confidence), axis=0)
        method = BOOTSTRAP
    else:
        # A variance that is not a positive number belongs to a parameter the data leave
        # undetermined: its interval is unknown, (-inf, inf) before the bounds, never of no width.
        variances = np.diag(covariance)
        known = np.isfinite(variances) & (variances > 0)
        standard_errors = np.sqrt(np.where(known, variances, np.inf))
        half_width = t_quantile(confidence, dof) * standard_errors
        low, high = theta - half_width, theta + half_width
        method = ANALYTIC
    # NOTE: a symmetric interval clipped at a bound (c0 >= 0) is conservative near the bound;
    # a profile-likelihood interval would be exact there.
    low, high = np.clip(low, model.lower, model.upper), np.clip(high, model.lower, model.upper)

    public = zip(
        model.names,
        model.to_public(theta, log_unit),
        model.to_public(low, log_unit),
        model.to_public(high, log_unit),
        strict=True,
    )
    parameters, intervals = {}, {}
    for public_name, value, public_low, public_high in public:
        parameters[public_name] = float(value)
        intervals[public_name] = Interval(float(public_low), float(public_high), method)
    return ModelFit(
        model=name,
        parameters=parameters,
        intervals=intervals,
        r_squared_log=float(r_squared),
        aic=float(aic),
        n_parameters=p,
        residual_dof=dof,
        cost_unit=float(np.exp(log_unit)),
        theta=theta,
        theta_covariance=covariance,
        theta_replicates=replicates,
    )


def _covariance(J: np.ndarray, variance: float) -> np.ndarray:
    """``variance`` times (J^T J)^-1, as curve_fit forms the parameters' covariance, with NaN
    in the rows and columns of the parameters the fit leaves undetermined.

    The inverse comes from the singular values of J, its columns scaled to a largest entry of
    1, not from J^T J: when the overhead model's k runs away, c1 falls to 1e-20 of c0 or less,
    J^T J then spans more orders of magnitude than float64 holds, and its pseudo-inverse drops
    the directions the data pin down least -- giving the parameters along them a variance of
    about zero, an interval of no width, where theirs should be the widest.
    """
    n_parameters = J.shape[1]
    if not np.all(np.isfinite(J)):
        return np.full((n_parameters, n_parameters), np.nan)
    # The largest entry, not the length, scales a column: squares of 1e160 would overflow.
    scales = np.abs(J).max(axis=0)
    scales[scales == 0] = 1.0
    _, s, Vt = np.linalg.svd(J / scales)
    s = np.concatenate([s, np.zeros(n_parameters - s.size)])

    # Singular values below numpy's rank tolerance are zero: their directions are free.
    kept = s > s.max() * max(J.shape) * np.finfo(float).eps
    inverse = (Vt[kept].T / s[kept] ** 2) @ Vt[kept]
    covariance = variance * inverse / scales[:, None] / scales[None, :]
    undetermined = np.any(np.abs(Vt[~kept]) > UNDETERMINED_SHARE, axis=0)
    covariance[undetermined, :] = np.nan
    covariance[:, undetermined] = np.nan
    return covariance


def _verdict(L: np.ndarray, fits: dict[str, ModelFit]) -> tuple[str, str]:
    if len(L) < MIN_DISTINCT_DEPTHS:
        return UNDECIDED, (
            f"only {len(L)} usable depths; at least {MIN_DISTINCT_DEPTHS} are needed to tell "
            "growth models apart"
        )
    ratio = L.max() / L.min()
    if ratio < MIN_DEPTH_RATIO:
        return UNDECIDED, (
            f"depths span only {L.min():g}..{L.max():g} (ratio {ratio:.3g}); power and "
            f"exponential growth need a ratio of at least {MIN_DEPTH_RATIO:g} to tell apart"
        )

    # Power is overhead with c0 = 0: on pure power costs both fit equally and overhead pays 2 for
    # its extra parameter, within the margin of power. So keep power unless overhead wins by
    # the margin, and let the growth class be decided by polynomial against exponential.
    polynomial = "power"
    if "overhead" in fits and fits["overhead"].aic <= fits["power"].aic - AIC_MARGIN:
        polynomial = "overhead"
    gap = fits["exponential"].aic - fits[polynomial].aic
    if abs(gap) < AIC_MARGIN:
        return UNDECIDED, (
            f"AIC of exponential and {polynomial} differ by {abs(gap):.3g}, "
            f"less than {AIC_MARGIN:g}"
        )
    chosen, runner_up = (polynomial, "exponential") if gap > 0 else ("exponential", polynomial)
    return chosen, f"{chosen} has AIC lower than {runner_up} by {abs(gap):.3g}"


def resampled_log_medians(
    samples: list[np.ndarray], n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """Log of the median of repeats resampled within each depth: shape (n_bootstrap, depths)."""
    columns = []
    for sample in samples:
        picks = rng.integers(0, len(sample), size=(n_bootstrap, len(sample)))
        columns.append(np.median(sample[picks], axis=1))
    return np.log(np.column_stack(columns))


def _samples_per_depth(
    depths: Sequence[int], values: Sequence[float] | Sequence[Sequence[float]] | np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    L = np.asarray(depths)
    is_integral = L.ndim == 1 and all(
        isinstance(depth, Integral) and not isinstance(depth, bool) for depth in L.tolist()
    )
    if not is_integral or len(L) == 0 or np.any(L < 1) or len(np.unique(L)) != len(L):
        raise ValueError(f"`depths` must be distinct positive integers, got {L.tolist()}")
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise TypeError(f"`values` must be a sequence with one entry per depth, got {values!r}")
    if len(values) != len(L):
        raise ValueError(
            f"`values` must hold one entry per depth ({len(L)} depths), got {len(values)}"
        )

    samples = []
    for depth, entry in zip(L.tolist(), values, strict=True):
        sample = np.atleast_1d(np.asarray(entry, dtype=float))
        if sample.ndim != 1 or sample.size == 0 or not np.all(np.isfinite(sample)):
            raise ValueError(
                f"`values` must be finite numbers or non-empty sequences of them, "
                f"got {entry!r} at depth {depth}"
            )
        samples.append(sample)
    return L, samples


def _check_confidence(confidence: float) -> None:
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"`confidence` must lie strictly between 0 and 1, got {confidence!r}")


def _check_integer(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_choice(name: str, value: str, choices: Collection[str]) -> str:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(choices)}, got {value!r}")
    return value


def interval_percentiles(confidence: float) -> list[float]:
    """The percentiles that bound a central interval of ``confidence`` (2.5 and 97.5 at 95%)."""
    return [50 * (1 - confidence), 50 * (1 + confidence)]


def t_quantile(confidence: float, dof: int) -> float:
    """Half-width of a two-sided ``confidence`` interval in standard errors; NaN without dof."""
    return float(stats.t.ppf(0.5 * (1 + confidence), dof)) if dof > 0 else np.nan


def _symmetric(center: float, half_width: float) -> Interval:
    return Interval(float(center - half_width), float(center + half_width), ANALYTIC)
