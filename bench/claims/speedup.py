"""Claim 3: "with 20 layers backprop is about a million times faster".

For: the ratio naive / backprop at the claim's depth, in counted multiplications from the cost
models (checked against the counters) and in time (measured or extrapolated), each read
against "about a million".
Not for: the fits the time ratio comes from (``bench.claims.sweep_fits``, ``estimates``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.claims.claim import DOES_NOT_HOLD, HOLDS, NOT_MEASURED, UNDECIDED, Claim, combine
from bench.claims.estimates import time_ratio
from bench.claims.rules import HEADLINE_WIDTH, TARGET_DEPTH
from bench.claims.sweep_fits import Sweep, model_counts, sweep_shape
from bench.claims.wording import layer_pattern, sweep_setting

# "About a million": within a factor of ten either way, the precision of a figure quoted as
# one power of ten.
SPEEDUP_LEVEL = 1e6
ABOUT_FACTOR = 10.0
# Widths whose depth-20 count ratio is computed from the cost models (no run needed).
MODEL_WIDTHS = tuple(range(1, 9))


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
        f"depth {depth}, layer sizes {layer_pattern(results)}; {sweep_setting(results)}",
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
