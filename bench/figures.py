"""The claim figures drawn from a sweep: cost against depth with the claims' fitted curves and
their 95% bands, the speed-up of backprop over the naive expansion against depth with the
10^6 level marked, and the gradients' agreement with backprop.

For: figures readable without the report -- titles, axis units and legends say what is drawn.
The curves come from ``bench.claims`` (through its ``Sweep``), so each figure shows exactly
what a verdict was read from. Points a log axis cannot show are left out with a visible note
(``bench.logplot.plot_positive``).
Not for: fitting, or the extra experiments' figures (each experiment module draws its own).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.claims import (
    CONFIDENCE,
    HEADLINE_WIDTH,
    SAME_GRADIENT_TOLERANCE,
    SPEEDUP_LEVEL,
    TARGET_DEPTH,
    Sweep,
    count_ratio,
    sweep_setting,
    sweep_shape,
    time_ratio,
)
from bench.fits import UNDECIDED, predict
from bench.logplot import plot_positive, save_png_and_svg
from bench.plots import provider_colour

DEPTH_FIGURE = "claims-cost-depth"
SPEEDUP_FIGURE = "claims-speedup"
AGREEMENT_FIGURE = "claims-agreement"

WIDTH_MARKERS = ("o", "s", "^", "D", "v", "P")
WIDTH_COLOURS = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:cyan")
BAND_ALPHA = 0.2
# Depths between measured ones at which fitted curves are drawn.
CURVE_STEP = 0.25


def write_claim_figures(sweep: Sweep, folder: Path) -> dict[str, list[Path]]:
    """Write every claim figure of this module into ``folder``; paths by figure name."""
    builders = {
        DEPTH_FIGURE: depth_figure,
        SPEEDUP_FIGURE: speedup_figure,
        AGREEMENT_FIGURE: agreement_figure,
    }
    return {
        name: save_png_and_svg(build(sweep), folder / name) for name, build in builders.items()
    }


def _lines(sweep: Sweep) -> list[tuple[str, int]]:
    """(provider, width) pairs of the sweep, providers in the order they first appear."""
    results = sweep.results
    pairs = results[["provider", "width"]].drop_duplicates().itertuples(index=False)
    return [(provider, int(width)) for provider, width in pairs]


def _style(sweep: Sweep, provider: str, width: int) -> dict:
    order = list(dict.fromkeys(sweep.results["provider"]))
    widths = sorted(int(w) for w in sweep.results["width"].unique())
    return {
        "color": provider_colour(provider, order),
        "marker": WIDTH_MARKERS[widths.index(width) % len(WIDTH_MARKERS)],
    }


def _positive(values: np.ndarray) -> np.ndarray:
    """``values`` with entries a log axis cannot show replaced by NaN (a gap in the band)."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


def _draw_curve(ax: Axes, grid, center, low, high, extrapolated, colour: str, label: str):
    """A fitted curve with its band: solid where fitted, dashed where extrapolated."""
    grid, extrapolated = np.asarray(grid), np.asarray(extrapolated, dtype=bool)
    for part, style in ((~extrapolated, "-"), (extrapolated, "--")):
        if part.any():
            ax.plot(grid[part], _positive(center[part]), linestyle=style, color=colour,
                    linewidth=1.2, label=label)  # fmt: skip
            label = None  # one legend entry per curve
    ax.fill_between(grid, _positive(low), _positive(high), color=colour, alpha=BAND_ALPHA,
                    linewidth=0)  # fmt: skip


def _time_curve(ax: Axes, sweep: Sweep, provider: str, width: int, colour: str) -> None:
    """The curve behind the claims: naive time from its counts, backprop a + b D, others' best."""
    if provider == "naive" and (growth := sweep.naive(width)) is not None:
        # The counts exist at integer depths only, so the curve joins integer depths; it is
        # carried on to the target depth only at the width claim 3 is quoted at.
        last = max(growth.depths[-1], TARGET_DEPTH if width == HEADLINE_WIDTH else 0)
        grid = np.arange(growth.depths[0], last + 1)
        predictions = [growth.predict_s(int(depth)) for depth in grid]
        center = np.array([p.value for p in predictions])
        low = np.array([p.interval.low for p in predictions])
        high = np.array([p.interval.high for p in predictions])
        rate_ns = growth.rate.seconds_per_multiplication * 1e9
        label = (
            f"fit {growth.rate.formula}, width {width}: s = {rate_ns:.2g} ns per multiplication"
        )
        _draw_curve(ax, grid, center, low, high, grid > growth.depths[-1], colour, label)
        return
    if provider == "backprop" and (line := sweep.linear(width)) is not None:
        grid = np.arange(line.depths[0], line.depths[-1] + CURVE_STEP / 2, CURVE_STEP)
        center, low, high = line.band(grid)
        label = f"fit a + b D, width {width}: R² = {line.line.r_squared:.3f}"
        _draw_curve(ax, grid, center, low, high, np.zeros(grid.size, bool), colour, label)
        return
    fit = sweep.growth(provider, width)
    if fit is None:
        return
    model = fit.chosen if fit.chosen != UNDECIDED else min(fit.fits, key=lambda m: fit.fits[m].aic)
    grid = np.arange(fit.depths[0], fit.depths[-1] + CURVE_STEP / 2, CURVE_STEP)
    predictions = [predict(fit, float(depth), model=model) for depth in grid]
    center = np.array([p.value for p in predictions])
    low = np.array([p.interval.low for p in predictions])
    high = np.array([p.interval.high for p in predictions])
    label = f"fit {model} model, {provider} width {width}"
    _draw_curve(ax, grid, center, low, high, np.zeros(grid.size, bool), colour, label)


def depth_figure(sweep: Sweep) -> Figure:
    """Time and counted multiplications against depth per provider, with the claims' fits."""
    figure = Figure(figsize=(13, 8), layout="constrained")
    time_ax, count_ax = figure.subplots(1, 2, sharex=True)
    results = sweep.results
    several_widths = results["width"].nunique() > 1

    for provider, width in _lines(sweep):
        style = _style(sweep, provider, width)
        name = f"{provider}, width {width}" if several_widths else provider
        line = results[(results["provider"] == provider) & (results["width"] == width)]
        line = line.sort_values("depth")
        ok = line[line["status"] == "ok"]

        plot_positive(time_ax, ok["depth"], ok["median_s"], x_name="depth",
                      reason="below timer resolution", linestyle="none", label=name,
                      **style)  # fmt: skip
        _time_curve(time_ax, sweep, provider, width, style["color"])

        plot_positive(count_ax, ok["depth"], ok["multiplications"], x_name="depth",
                      linestyle="none", label=f"{name}, counted", **style)  # fmt: skip
        shown = line[line["depth"] <= max(TARGET_DEPTH, ok["depth"].max())]
        count_ax.plot(shown["depth"], shown["predicted_multiplications"], color=style["color"],
                      linewidth=1.0, alpha=0.8)  # fmt: skip

    count_ax.plot([], [], color="black", linewidth=1.0,
                  label="cost model (exact; also where a cell was not run)")  # fmt: skip
    time_ax.plot([], [], color="black", linestyle="--", label="fit extrapolated")
    time_ax.fill_between([], [], [], color="black", alpha=BAND_ALPHA,
                         label=f"{CONFIDENCE:.0%} band of the fitted mean")  # fmt: skip
    for ax, what in ((time_ax, "time per gradient (s, median of repeats; log scale)"),
                     (count_ax, "multiplications per gradient (counted; log scale)")):  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("depth D (hidden layers)")
        ax.set_ylabel(what)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    time_ax.set_title("Time against depth, with the fits the claims use")
    count_ax.set_title("Counted multiplications against depth, with the cost models")
    figure.suptitle(f"Cost of one gradient against depth: {sweep_setting(results)}")
    return figure


def speedup_figure(sweep: Sweep, target_depth: int = TARGET_DEPTH) -> Figure:
    """naive / backprop against depth: counts from the cost models, time measured and fitted."""
    figure = Figure(figsize=(9, 6), layout="constrained")
    ax = figure.subplots()
    shape = sweep_shape(sweep.results)
    naive_widths = set(sweep.widths("naive"))
    widths = [width for width in sweep.widths("backprop") if width in naive_widths]

    for index, width in enumerate(widths):
        colour = WIDTH_COLOURS[index % len(WIDTH_COLOURS)]
        naive_depths, _ = sweep.samples("naive", width)
        last = max(target_depth, int(naive_depths.max()) if naive_depths.size else 1)
        depths = np.arange(1, last + 1)
        counts = [count_ratio(width, int(depth), *shape) for depth in depths]
        ax.plot(depths, counts, color=colour, linewidth=1.5,
                label=f"width {width}: counted multiplications (cost model)")  # fmt: skip

        ratios = {int(d): time_ratio(sweep, width, int(d)) for d in depths}
        measured = [d for d, r in ratios.items() if r is not None and not r.extrapolated]
        fitted = [d for d, r in ratios.items() if r is not None and r.extrapolated]
        if measured:
            values = np.array([ratios[d].value for d in measured])
            low = np.array([ratios[d].interval.low for d in measured])
            high = np.array([ratios[d].interval.high for d in measured])
            ax.errorbar(measured, values, yerr=[values - low, high - values], color=colour,
                        marker=WIDTH_MARKERS[index % len(WIDTH_MARKERS)], linestyle="none",
                        capsize=2, label=f"width {width}: time, measured")  # fmt: skip
        if fitted:
            center = np.array([ratios[d].value for d in fitted])
            low = np.array([ratios[d].interval.low for d in fitted])
            high = np.array([ratios[d].interval.high for d in fitted])
            _draw_curve(ax, np.array(fitted), center, low, high, np.ones(len(fitted), bool),
                        colour, f"width {width}: time, extrapolated")  # fmt: skip

    ax.axhline(SPEEDUP_LEVEL, color="black", linestyle=":", linewidth=1.2,
               label="10^6: 'about a million times faster'")  # fmt: skip
    ax.axvline(target_depth, color="grey", linestyle=":", linewidth=1.0)
    ax.text(target_depth, 0.02, f" depth {target_depth}", transform=ax.get_xaxis_transform(),
            fontsize=8, color="dimgrey")  # fmt: skip
    ax.set_yscale("log")
    ax.set(
        xlabel="depth D (hidden layers)",
        ylabel="naive / backprop per gradient (no unit, log scale)",
        title=f"How many times faster backprop is than the naive expansion\n"
        f"{sweep_setting(sweep.results)}; bands and bars: {CONFIDENCE:.0%} intervals",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return figure


def agreement_figure(sweep: Sweep) -> Figure:
    """max |g - backprop| / max |backprop| against depth for every provider of the sweep."""
    figure = Figure(figsize=(8, 5.5), layout="constrained")
    ax = figure.subplots()
    results = sweep.results

    for provider, width in _lines(sweep):
        if provider == "backprop":
            continue
        line = results[(results["provider"] == provider) & (results["width"] == width)]
        ok = line[line["status"] == "ok"].sort_values("depth")
        plot_positive(ax, ok["depth"], ok["max_rel_diff"], x_name="depth",
                      reason="identical to backprop (0) or not a number",
                      label=f"{provider}, width {width}", linewidth=0.8,
                      **_style(sweep, provider, width))  # fmt: skip

    ax.axhline(SAME_GRADIENT_TOLERANCE, color="black", linestyle=":", linewidth=1.0,
               label=f"'same gradient' tolerance {SAME_GRADIENT_TOLERANCE:g}")  # fmt: skip
    ax.set_yscale("log")
    ax.set(
        xlabel="depth D (hidden layers)",
        ylabel="max |g - backprop| / max |backprop| (relative, no unit)",
        title=f"Each provider's gradient against backprop's, float64\n{sweep_setting(results)}",
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    return figure
