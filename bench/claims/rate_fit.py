"""Time as a fixed cost per call, a cost per layer and a rate per counted multiplication.

For: fitting t = c0 [+ c1 D] + s m to timed repeats of gradients whose multiplications m are
known, so that the naive provider's time can be read against its counts, extrapolated to a
depth not timed, and compared by AIC with the growth models of ``bench.fits``.
Not for: the growth models themselves (``bench.fits``) or choosing what to fit (``Sweep``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from bench.claims.rules import CONFIDENCE
from bench.fits import (
    LOG_RESIDUAL_FLOOR,
    MIN_BOOTSTRAP_REPEATS,
    Interval,
    Prediction,
    interval_percentiles,
    resampled_log_medians,
    t_quantile,
)

# Refits of the naive time model, one per resample of the repeats (as bench.fits does).
N_BOOTSTRAP = 1000


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
            low, high = np.percentile(spread, interval_percentiles(CONFIDENCE))
            method = "bootstrap"
        else:
            g = _rate_jacobian(self.theta, m, L)[0][_free(self.per_layer)]
            half_width = t_quantile(CONFIDENCE, self.dof) * np.sqrt(g @ self.covariance @ g)
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
        resampled = resampled_log_medians(samples, N_BOOTSTRAP, rng) - log_unit
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
