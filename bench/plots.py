"""The scaling figure: time and counted multiplications against depth, one colour a provider.

Cells that were not run (over budget) appear on the multiplications panel at their predicted
count as hollow markers, so the figure shows where each provider was stopped and why.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from bench.logplot import plot_positive, save_png_and_svg

PROVIDER_COLOURS = {
    "backprop": "tab:blue",
    "naive": "tab:red",
    "fd-forward": "tab:green",
    "fd-central": "tab:olive",
}
OTHER_COLOURS = ("tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:cyan", "tab:orange")


def provider_colour(provider: str, order: list[str]) -> str:
    if provider in PROVIDER_COLOURS:
        return PROVIDER_COLOURS[provider]
    others = [name for name in order if name not in PROVIDER_COLOURS]
    return OTHER_COLOURS[others.index(provider) % len(OTHER_COLOURS)]


def write_scaling_figure(
    results: pd.DataFrame, path_without_suffix: Path, *, budget_s: float | None = None
) -> list[Path]:
    """Write the scaling figure as PNG and SVG; return their paths."""
    figure = Figure(figsize=(12, 5), layout="constrained")
    time_ax, count_ax = figure.subplots(1, 2, sharex=True)
    order = list(dict.fromkeys(results["provider"]))
    widths = sorted(results["width"].unique())
    styles = ["-", "--", ":", "-."]

    for provider in order:
        colour = provider_colour(provider, order)
        for index, width in enumerate(widths):
            line = results[(results["provider"] == provider) & (results["width"] == width)]
            line = line.sort_values("depth")
            ok = line[line["status"] == "ok"]
            if line.empty:
                continue
            label = provider if len(widths) == 1 else f"{provider}, width {width}"
            style = {"color": colour, "linestyle": styles[index % len(styles)], "label": label}
            plot_positive(time_ax, ok["depth"], ok["median_s"], x_name="depth", **style)
            plot_positive(count_ax, ok["depth"], ok["multiplications"], x_name="depth", **style)
            skipped = line[line["status"] != "ok"]
            if not skipped.empty:
                count_ax.plot(
                    skipped["depth"], skipped["predicted_multiplications"], linestyle="none",
                    marker="o", markerfacecolor="none", color=colour, alpha=0.6,
                )  # fmt: skip

    count_ax.plot([], [], linestyle="none", marker="o", markerfacecolor="none", color="black",
                  label="predicted, not run (over budget)")  # fmt: skip
    if budget_s is not None:
        time_ax.axhline(budget_s, color="gray", linestyle=":", label=f"budget ({budget_s:g} s)")
    title = _title(results)
    for ax, what in ((time_ax, "time per gradient (s, median)"),
                     (count_ax, "counted multiplications per gradient")):  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel(what)
        ax.grid(True, which="major", alpha=0.3)
    time_ax.set_title(f"Time against depth — {title}")
    count_ax.set_title("Counted multiplications against depth")
    time_ax.legend(loc="upper left", fontsize=8)
    count_ax.legend(loc="upper left", fontsize=8)
    return save_png_and_svg(figure, path_without_suffix)


def _title(results: pd.DataFrame) -> str:
    first = results.iloc[0]
    return (
        f"{first['data']} data, {first['activation']}, batch {int(first['batch_size'])}, "
        "1 BLAS thread"
    )
