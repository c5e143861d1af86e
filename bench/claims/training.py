"""Claims 6 and 7, on training: gradient descent on x^2, and what one update costs.

For: judging the x^2 experiment's iterates against the rate-1 oscillation and the data-set
size experiment's log-log slopes against SGD's 0 and full-batch GD's 1.
Not for: running those experiments (``bench.experiments``).
"""

from __future__ import annotations

import pandas as pd

from bench.claims.claim import (
    DOES_NOT_HOLD,
    HOLDS,
    NOT_MEASURED,
    UNDECIDED,
    Claim,
    combine,
    not_run,
)
from bench.experiments import dataset_size, quadratic

# Claim 7: the slope of log(cost) on log(data-set size) each update should have.
UPDATE_SLOPES = {dataset_size.SGD: 0.0, dataset_size.GD: 1.0}
EXACT_SLOPE_TOLERANCE = 1e-9
# A time slope within this of the claimed one is the claimed growth class: over a decade of
# data-set sizes it is a factor 10^0.1 = 1.26, far from the factor 10 of the other class,
# while overheads that shrink or grow slightly with n can move a tight interval off 0 or 1.
SLOPE_MARGIN = 0.1


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
        return not_run(6, title, statement, "the x^2 experiment")

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
    if high < claimed - SLOPE_MARGIN or low > claimed + SLOPE_MARGIN:
        return DOES_NOT_HOLD, (
            f"time slope interval [{low:.2f}, {high:.2f}] lies outside "
            f"{claimed:g} +- {SLOPE_MARGIN:g}"
        )
    if low <= other <= high:
        return UNDECIDED, f"time slope interval [{low:.2f}, {high:.2f}] holds both 0 and 1"
    return HOLDS, (
        f"time slope interval [{low:.2f}, {high:.2f}] meets {claimed:g} +- {SLOPE_MARGIN:g} "
        f"and excludes {other:g}"
    )


def claim_dataset_size(frame: pd.DataFrame | None) -> Claim:
    title = "One SGD update does not grow with the data set; one GD update grows linearly"
    statement = (
        "The cost of one per-sample SGD update is independent of the data-set size n; one "
        "full-batch gradient-descent update costs in proportion to n."
    )
    if frame is None:
        return not_run(7, title, statement, "the data-set size experiment")

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
