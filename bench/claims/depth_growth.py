"""Claims 1 and 2: the naive cost grows exponentially with depth, backprop's linearly.

For: judging, width by width, how each cost grows with depth from the fits of
``bench.claims.sweep_fits``, and writing each claim with its figures and verdict.
Not for: the fits themselves, or the depth-20 ratio (``bench.claims.speedup``).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.claims.claim import DOES_NOT_HOLD, HOLDS, NOT_MEASURED, UNDECIDED, Claim, combine
from bench.claims.rules import CLAIM_WIDTHS
from bench.claims.sweep_fits import ARITHMETIC_MULTIPLE, LinearGrowth, NaiveGrowth, Sweep
from bench.claims.wording import depth_range, interval_text, layer_pattern, sweep_setting
from bench.fits import AIC_MARGIN, MIN_DEPTH_RATIO, MIN_DISTINCT_DEPTHS, Interval
from bench.scaling import DEEP_WINDOW, MIN_POINTS

# Claim 2: exponents k of t = c0 + c1 D^k read as linear, halfway on a log scale between 1
# and its neighbouring growth classes, square root (1/2) and quadratic (2).
LINEAR_EXPONENTS = (2**-0.5, 2**0.5)


def too_few_depths(depths: Sequence[int], where: str) -> str | None:
    """Why ``depths`` cannot tell growth classes apart, or None when they can."""
    if len(depths) < MIN_DISTINCT_DEPTHS or depths[-1] / depths[0] < MIN_DEPTH_RATIO:
        return (
            f"{where}: {len(depths)} depths ({depth_range(depths)}); at least "
            f"{MIN_DISTINCT_DEPTHS} spanning a ratio of {MIN_DEPTH_RATIO:g} are needed"
        )
    return None


# Claim 1: the naive cost grows exponentially with depth


def judge_naive_width(growth: NaiveGrowth | None, width: int) -> tuple[str, str]:
    """Claim 1's verdict at one width, and why."""
    if growth is None:
        return UNDECIDED, f"{NOT_MEASURED} at width {width}"
    if (too_few := too_few_depths(growth.depths, f"width {width}")) is not None:
        return UNDECIDED, too_few
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
        f"{layer_pattern(results)}; {sweep_setting(results)}; factors over the deepest "
        f"(up to {DEEP_WINDOW}) depths timed at {ARITHMETIC_MULTIPLE:g} x the shallowest, "
        "model contest over every measured depth",
        measured="; ".join(figures),
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values=values,
    )


# Claim 2: backpropagation's cost grows linearly with depth


def judge_linear(growth: LinearGrowth) -> tuple[str, str]:
    """Claim 2's verdict at one width, and why."""
    where = f"width {growth.width}"
    if (too_few := too_few_depths(growth.depths, where)) is not None:
        return UNDECIDED, too_few
    if not growth.counts_affine:
        return DOES_NOT_HOLD, f"{where}: counted multiplications are not affine in depth"
    if growth.growth.chosen == "exponential":
        return DOES_NOT_HOLD, f"{where}: time fits the exponential model best"
    k, interval = growth.growth.depth_exponent("overhead")
    low, high = LINEAR_EXPONENTS
    exponent = f"k = {interval_text(k, interval)} in t = c0 + c1 D^k"
    if low <= interval.low and interval.high <= high:
        return HOLDS, f"{where}: counts affine, {exponent}"
    # NOTE: on very noisy single repeats k can run away (c1 D^k carried by the deepest depths
    # alone); its regression interval, symmetric in k, may then exclude 1 where a line fits as
    # well. A profile-likelihood interval in bench.fits would be exact there.
    if interval.high < low or interval.low > high:
        return DOES_NOT_HOLD, f"{where}: {exponent}, not linear"
    # An interval the data leave unknown, (-inf, inf) or NaN, lands here too.
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
