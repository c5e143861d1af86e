"""Comparing two gradients: how far apart they are, entry by entry, and whether that passes.

Two rules that a checker gets wrong in practice:

- An entry passes when ``|a - n| <= atol + rtol * max(|a|, |n|)``. A purely relative error
  fails tiny values that agree to 1e-12 (0 against 1e-12 is 100% off); a purely absolute one
  is meaningless across scales.
- NaN never passes. ``nan > tol`` is False, so a check written as "no entry exceeds the
  tolerance" lets NaN through; here an entry passes only if the comparison is True, and
  only if both sides are finite (an infinite entry has an infinite allowance).

``kink_crossings`` finds the parameters whose finite-difference stencil crosses a ReLU kink
(the activation pattern differs between theta - h and theta + h): there a difference quotient
averages two slopes and disagrees with any one derivative, so such entries are flagged and
left out of the verdict instead of being reported as mismatches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradients.network import MLP

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-10


@dataclass(frozen=True)
class Comparison:
    passed: bool
    max_abs_error: float
    max_error_relative_to_largest: float  # max |a - n| / max |a|
    worst: list[tuple[int, float, float]]  # (index, reference, candidate), worst first
    n_failed: int
    n_flagged: int
    rtol: float
    atol: float

    def summary(self) -> str:
        verdict = "passed" if self.passed else f"FAILED on {self.n_failed} entries"
        rows = ", ".join(f"[{i}] {a:.6g} vs {n:.6g}" for i, a, n in self.worst)
        return (
            f"{verdict} (rtol {self.rtol:g}, atol {self.atol:g}); max abs error "
            f"{self.max_abs_error:.3g}; worst: {rows}; flagged at kinks: {self.n_flagged}"
        )


def compare_gradients(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    flagged: np.ndarray | None = None,
    n_worst: int = 3,
) -> Comparison:
    """Compare ``candidate`` with ``reference`` entry by entry under combined tolerances."""
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tolerance, int | float) and 0 <= tolerance < math.inf):
            raise ValueError(f"`{name}` must be a finite number >= 0, got {tolerance!r}")
    a = np.asarray(reference, dtype=np.float64).ravel()
    n = np.asarray(candidate, dtype=np.float64).ravel()
    if a.shape != n.shape:
        raise ValueError(f"`candidate` must have {a.size} entries like `reference`, got {n.size}")
    flagged = np.zeros(a.size, bool) if flagged is None else np.asarray(flagged, bool).ravel()

    difference = np.abs(a - n)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which fails below as it should
        within = difference <= atol + rtol * np.maximum(np.abs(a), np.abs(n))  # NaN: False
    # An infinite entry would pass against an infinite allowance: finite only.
    within &= np.isfinite(a) & np.isfinite(n)
    failed = ~within & ~flagged
    # Rank NaN differences as the worst of all.
    ranking = np.where(np.isnan(difference), np.inf, difference)
    worst = [(int(i), float(a[i]), float(n[i])) for i in np.argsort(-ranking)[:n_worst]]
    largest = float(np.max(np.abs(a))) if a.size else 0.0
    max_abs = float(np.max(ranking)) if a.size else 0.0
    return Comparison(
        passed=not failed.any(),
        max_abs_error=max_abs,
        max_error_relative_to_largest=max_abs / largest if largest > 0 else max_abs,
        worst=worst,
        n_failed=int(failed.sum()),
        n_flagged=int(flagged.sum()),
        rtol=rtol,
        atol=atol,
    )


def max_relative_difference(reference: np.ndarray, candidate: np.ndarray) -> float:
    """max |a - n| / max |a|: the gradients' disagreement on the scale of the gradient.

    NaN anywhere gives NaN, so it can never be read as agreement.
    """
    a = np.asarray(reference, dtype=np.float64)
    difference = np.abs(a - np.asarray(candidate, dtype=np.float64))
    if np.isnan(difference).any():
        return float("nan")
    largest = float(np.max(np.abs(a)))
    return float(np.max(difference)) / largest if largest > 0 else float(np.max(difference))


def kink_crossings(network: MLP, inputs: np.ndarray, step: float) -> np.ndarray:
    """For each parameter, whether perturbing it by +-step changes any kink's side."""
    flagged = np.zeros(network.n_parameters, dtype=bool)
    if not network.activation.has_kink:
        return flagged
    theta = network.parameters
    for i in range(theta.size):
        original = theta[i]
        patterns = []
        for value in (original - step, original + step):
            theta[i] = value
            patterns.append(_kink_pattern(network, inputs))
        theta[i] = original
        flagged[i] = not all(np.array_equal(p, q) for p, q in zip(*patterns))
    return flagged


def _kink_pattern(network: MLP, inputs: np.ndarray) -> list[np.ndarray]:
    trace = network.forward_trace(np.asarray(inputs, dtype=network.dtype))
    return [d > 0 for d in trace.derivatives]
