"""The seven claims of the standard explanation of SGD and backpropagation, judged on data.

For: turning a run's sweep results and the extra experiments' tables (``Evidence``) into one
``Claim`` per statement -- what was tested, on what configuration, the measured figure with its
interval, and a verdict ("holds", "does not hold" or "undecided", with the conditions) that
follows from the rule written for that claim in ``RULES`` (``judge_claims``). The fits the
verdicts are read from (the naive cost's base, backprop's straight line, the depth-20 ratio)
are here too, in ``Sweep``, so that the figures draw the very curves the verdicts come from.
Not for: taking measurements, plotting, or writing files.

One idea a module: ``rules`` (the rules and the figures they name), ``claim`` (a judged claim
and the verdicts), ``wording`` (the phrases claims are written in), ``sweep_fits`` and
``rate_fit`` (the fits of the sweep), ``estimates`` (a time at one depth and ratios of two),
then the claims: ``depth_growth`` (1, 2), ``speedup`` (3), ``same_gradient`` (4),
``finite_differences`` (5) and ``training`` (6, 7). Every public name of those modules is
importable from here, so callers need not know which module holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from bench.claims.claim import (
    DOES_NOT_HOLD,
    HOLDS,
    NOT_MEASURED,
    UNDECIDED,
    VERDICTS,
    Claim,
    combine,
    not_run,
)
from bench.claims.depth_growth import (
    LINEAR_EXPONENTS,
    claim_backprop_linear,
    claim_naive_exponential,
    judge_linear,
    judge_naive_width,
    too_few_depths,
)
from bench.claims.estimates import (
    BOOTSTRAP_RESAMPLES,
    MEASURED,
    Estimate,
    backprop_time_at,
    measured_time,
    median_interval,
    naive_time_at,
    ratio_of,
    time_ratio,
)
from bench.claims.finite_differences import (
    FD_LOSS_EVALUATIONS,
    FLOAT64_EPS,
    claim_finite_differences,
    fd_count_mismatches,
    fd_time_ratios,
)
from bench.claims.rate_fit import MAX_LOG_RATE, N_BOOTSTRAP, RateFit, fit_rate
from bench.claims.rules import (
    APPROXIMATE_FACTOR,
    CLAIM_WIDTHS,
    CONFIDENCE,
    HEADLINE_WIDTH,
    RULES,
    SAME_GRADIENT_TOLERANCE,
    TARGET_DEPTH,
)
from bench.claims.same_gradient import claim_same_gradient, exact_disagreement
from bench.claims.speedup import (
    ABOUT_FACTOR,
    MODEL_WIDTHS,
    SPEEDUP_LEVEL,
    about_level,
    claim_million,
    cost_model_check,
    count_ratio,
    reaches,
)
from bench.claims.sweep_fits import (
    ARITHMETIC_MULTIPLE,
    LinearGrowth,
    NaiveGrowth,
    Sweep,
    arithmetic_window,
    is_affine,
    linear_growth,
    model_counts,
    naive_growth,
    path_length_factor,
    sweep_shape,
    time_samples,
)
from bench.claims.training import (
    EXACT_SLOPE_TOLERANCE,
    UPDATE_SLOPES,
    claim_dataset_size,
    claim_quadratic,
    expected_behaviour,
    judge_slope,
)
from bench.claims.wording import depth_range, interval_text, layer_pattern, sweep_setting

__all__ = [
    "ABOUT_FACTOR",
    "APPROXIMATE_FACTOR",
    "ARITHMETIC_MULTIPLE",
    "BOOTSTRAP_RESAMPLES",
    "CLAIM_WIDTHS",
    "CONFIDENCE",
    "DOES_NOT_HOLD",
    "EXACT_SLOPE_TOLERANCE",
    "FD_LOSS_EVALUATIONS",
    "FLOAT64_EPS",
    "HEADLINE_WIDTH",
    "HOLDS",
    "LINEAR_EXPONENTS",
    "MAX_LOG_RATE",
    "MEASURED",
    "MODEL_WIDTHS",
    "NOT_MEASURED",
    "N_BOOTSTRAP",
    "RULES",
    "SAME_GRADIENT_TOLERANCE",
    "SPEEDUP_LEVEL",
    "TARGET_DEPTH",
    "UNDECIDED",
    "UPDATE_SLOPES",
    "VERDICTS",
    "Claim",
    "Estimate",
    "Evidence",
    "LinearGrowth",
    "NaiveGrowth",
    "RateFit",
    "Sweep",
    "about_level",
    "arithmetic_window",
    "backprop_time_at",
    "claim_backprop_linear",
    "claim_dataset_size",
    "claim_finite_differences",
    "claim_million",
    "claim_naive_exponential",
    "claim_quadratic",
    "claim_same_gradient",
    "combine",
    "cost_model_check",
    "count_ratio",
    "depth_range",
    "exact_disagreement",
    "expected_behaviour",
    "fd_count_mismatches",
    "fd_time_ratios",
    "fit_rate",
    "interval_text",
    "is_affine",
    "judge_claims",
    "judge_linear",
    "judge_naive_width",
    "judge_slope",
    "layer_pattern",
    "linear_growth",
    "measured_time",
    "median_interval",
    "model_counts",
    "naive_growth",
    "naive_time_at",
    "not_run",
    "path_length_factor",
    "ratio_of",
    "reaches",
    "sweep_setting",
    "sweep_shape",
    "time_ratio",
    "time_samples",
    "too_few_depths",
]


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
