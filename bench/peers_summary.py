"""What a side-by-side run of ``bench.peers`` found: ratios, verdicts, tables and figure.

For: pure functions of the results table (and the run's metadata): our backprop's time over
the fastest peer's per cell, backprop's share of the machine's matrix-multiply rate, naive's
seconds per multiplication against backprop's, gradient over loss-alone ratios, the process's
CPU share while timing, and a verdict on each target; the summary as Markdown and the ratio
figure. Not for: measuring anything (``bench.peers``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from bench.logplot import save_png_and_svg

REFERENCE = "backprop"

# Targets (see the README): limits on ratios measured side by side in this run.
BATCH_1_LIMIT = 1.0
LARGE_BATCH_LIMIT = 1.1
LARGE_BATCH = 256
MATMUL_WIDTH = 256
MATMUL_FRACTION_LIMIT = 0.75
GRADIENT_OVER_LOSS_LIMIT = 3.0
LOSS_FLOOR_S = 50e-6
NAIVE_PER_MULTIPLICATION_LIMIT = 3.0
LOOP_OVERHEAD_FRACTION_LIMIT = 0.01
LOOP_OVERHEAD_CELL_FLOOR_S = 1e-3
# Below this CPU time per wall second while timing, the machine was shared.
SHARED_MACHINE_CPU_SHARE = 0.9

# Colour scale of the figure, with its ticks: ratios beyond are drawn at the ends.
FIGURE_RATIO_RANGE = (0.25, 0.5, 1.0, 2.0, 4.0)


def fastest_peers(results: pd.DataFrame, statistic: str = "median_s") -> pd.DataFrame:
    """Per cell, the fastest peer that ran by ``statistic`` (a time column) and its time."""
    ok = results[(results["kind"] == "peer") & (results["status"] == "ok")]
    ok = ok.dropna(subset=[statistic])
    keys = ["batch_size", "width", "depth"]
    fastest = ok.loc[ok.groupby(keys)[statistic].idxmin(), [*keys, "provider", statistic]]
    return fastest.rename(columns={"provider": "fastest_peer", statistic: "peer_s"})


def ratio_table(
    results: pd.DataFrame, provider: str = REFERENCE, statistic: str = "median_s"
) -> pd.DataFrame:
    """Per cell, ``provider``'s time over the fastest peer's, both by ``statistic``."""
    keys = ["batch_size", "width", "depth"]
    ours = results[(results["provider"] == provider) & (results["status"] == "ok")]
    table = ours[[*keys, statistic]].merge(fastest_peers(results, statistic), on=keys)
    table["ratio"] = table[statistic] / table["peer_s"]
    return table.sort_values(keys).reset_index(drop=True)


def matmul_fractions(results: pd.DataFrame, peak_per_s: float) -> pd.DataFrame:
    """backprop's counted multiplications per second over the machine's, at width 256."""
    rows = results[
        (results["provider"] == REFERENCE)
        & (results["status"] == "ok")
        & (results["width"] == MATMUL_WIDTH)
        & (results["batch_size"] == LARGE_BATCH)
    ]
    rate = rows["multiplications"] / rows["median_s"]
    return pd.DataFrame(
        {"depth": rows["depth"], "per_s": rate, "fraction": rate / peak_per_s}
    ).sort_values("depth")


def naive_per_multiplication(results: pd.DataFrame) -> pd.DataFrame:
    """naive's seconds per counted multiplication at its deepest measured depth, over
    backprop's in the same cell, per batch size and width."""
    ok = results[results["status"] == "ok"]
    naive = ok[ok["provider"] == "naive"]
    if naive.empty:
        return pd.DataFrame(columns=["batch_size", "width", "depth", "naive", "backprop", "ratio"])
    deepest = naive.loc[naive.groupby(["batch_size", "width"])["depth"].idxmax()]
    backprop = ok[ok["provider"] == REFERENCE]
    table = deepest[["batch_size", "width", "depth", "s_per_multiplication"]].merge(
        backprop[["batch_size", "width", "depth", "s_per_multiplication"]],
        on=["batch_size", "width", "depth"],
        suffixes=("_naive", "_backprop"),
    )
    table = table.rename(
        columns={
            "s_per_multiplication_naive": "naive",
            "s_per_multiplication_backprop": "backprop",
        }
    )
    table["ratio"] = table["naive"] / table["backprop"]
    return table.sort_values(["batch_size", "width"]).reset_index(drop=True)


def _verdict(values: pd.Series, limit: float, *, at_most: bool = True) -> dict:
    values = values.dropna()
    if values.empty:
        return {"met": None, "worst": None, "limit": limit, "cells": 0}
    worst = float(values.max() if at_most else values.min())
    met = bool(worst <= limit) if at_most else bool(worst >= limit)
    return {"met": met, "worst": worst, "limit": limit, "cells": int(values.size)}


def summarise(results: pd.DataFrame, metadata: dict) -> dict:
    """Tables of the ratios and a verdict on every target, JSON-ready."""
    ratios = ratio_table(results)
    rates = metadata["matmul_multiplications_per_s"]
    peak_per_s = max(rates.values())
    fractions = matmul_fractions(results, peak_per_s)
    naive = naive_per_multiplication(results)

    ok = results[results["status"] == "ok"]
    backprop = ok[ok["provider"] == REFERENCE]
    heavy = backprop[backprop["loss_only_median_s"] >= LOSS_FLOOR_S]
    measured_s = ok["median_s"][ok["median_s"] >= LOOP_OVERHEAD_CELL_FLOOR_S]
    overhead_s = metadata["loop_overhead_s"]

    def cells(table: pd.DataFrame, columns: list[str]) -> list[dict]:
        return table[columns].to_dict(orient="records")

    targets = {
        "batch_1_vs_fastest_peer": _verdict(
            ratios[ratios["batch_size"] == 1]["ratio"], BATCH_1_LIMIT
        ),
        "batch_256_vs_fastest_peer": _verdict(
            ratios[ratios["batch_size"] == LARGE_BATCH]["ratio"], LARGE_BATCH_LIMIT
        ),
        "width_256_matmul_fraction": _verdict(
            fractions["fraction"], MATMUL_FRACTION_LIMIT, at_most=False
        ),
        "gradient_over_loss_only": _verdict(
            heavy["gradient_over_loss_only"], GRADIENT_OVER_LOSS_LIMIT
        ),
        "naive_per_multiplication": _verdict(naive["ratio"], NAIVE_PER_MULTIPLICATION_LIMIT),
        "loop_overhead_fraction": _verdict(overhead_s / measured_s, LOOP_OVERHEAD_FRACTION_LIMIT),
    }
    gradient_over_loss = ok.pivot_table(
        index=["batch_size", "width", "depth"],
        columns="provider",
        values="gradient_over_loss_only",
    ).reset_index()
    return {
        "targets": targets,
        "ratios": cells(ratios, ["batch_size", "width", "depth", "ratio", "fastest_peer"]),
        # The same from each provider's fastest sample: a check on the medians where
        # another process slowed some samples down.
        "ratios_of_minima": cells(
            ratio_table(results, statistic="min_s"),
            ["batch_size", "width", "depth", "ratio", "fastest_peer"],
        ),
        "matmul_peak_multiplications_per_s": peak_per_s,
        "matmul_fractions": cells(fractions, ["depth", "per_s", "fraction"]),
        "naive_per_multiplication": naive.to_dict(orient="records"),
        "gradient_over_loss_only": gradient_over_loss.to_dict(orient="records"),
        "failed": cells(results[results["status"] == "failed"], ["provider", "width", "depth",
                                                                   "batch_size", "reason"]),
        "cpu_over_wall": cpu_share(results),
    }  # fmt: skip


def cpu_share(results: pd.DataFrame) -> dict:
    """The process's CPU time over wall time while cells were timed, over the cells.

    Near 1 with one thread per library on an otherwise idle machine; below, another process
    took the CPU for part of the time (timings include waiting); above, more than one of our
    threads was busy (a library's pool not pinned, or idle threads spinning).
    """
    per_cell = results.groupby(["batch_size", "width", "depth"])["cpu_over_wall"].first()
    per_cell = per_cell.dropna()
    if per_cell.empty:
        return {"median": None, "min": None, "max": None, "shared": None}
    median = float(per_cell.median())
    return {
        "median": median,
        "min": float(per_cell.min()),
        "max": float(per_cell.max()),
        "shared": bool(median < SHARED_MACHINE_CPU_SHARE),
    }


# --- Presentation ---------------------------------------------------------------------------


def ratio_grid(summary: dict, batch_size: int, key: str = "ratios") -> pd.DataFrame:
    """Our backprop's time over the fastest peer's: depths down, widths across."""
    ratios = pd.DataFrame(summary[key])
    if ratios.empty:
        return pd.DataFrame()
    ratios = ratios[ratios["batch_size"] == batch_size]
    return ratios.pivot(index="depth", columns="width", values="ratio")


def _markdown_grid(grid: pd.DataFrame, beside: pd.DataFrame | None = None) -> str:
    """A depth x width table of ratios, with the ratios of ``beside`` in brackets."""
    header = "| depth | " + " | ".join(f"width {w}" for w in grid.columns) + " |"
    rule = "|---:|" + "---:|" * len(grid.columns)
    lines = [header, rule]
    for depth, row in grid.iterrows():
        values = []
        for width, value in row.items():
            text = "-" if value != value else f"{value:.2f}"
            if beside is not None and depth in beside.index and width in beside.columns:
                text += f" ({beside.at[depth, width]:.2f})"
            values.append(text)
        lines.append(f"| {depth} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def _verdict_text(verdict: dict, at_most: bool = True) -> str:
    if verdict["met"] is None:
        return "not measured"
    sign = "<=" if at_most else ">="
    state = "met" if verdict["met"] else "MISSED"
    worst, limit, cells = verdict["worst"], verdict["limit"], verdict["cells"]
    return f"{state}: worst {worst:.3g} ({sign} {limit:g} over {cells} cells)"


def _cpu_share_text(share: dict) -> str:
    if share["median"] is None:
        return "- CPU time over wall time while timing: not measured"
    text = (
        f"- CPU time over wall time while timing: median {share['median']:.2f} "
        f"(cells {share['min']:.2f} to {share['max']:.2f})"
    )
    if share["shared"]:
        text += (
            "; WARNING: another process shared the CPU, so these timings include waiting "
            "and their ratios are noisier than on an idle machine"
        )
    return text


def summary_markdown(summary: dict, metadata: dict) -> str:
    """The run's summary as Markdown: settings, the ratio tables and the target verdicts."""
    peers = metadata["peers"]
    threads = metadata["threads"]
    versions = ", ".join(f"{name} {version}" for name, version in peers["versions"].items())
    pools = ", ".join(
        f"{name} {info.get('version') or ''} ({info.get('threads_after')} thread)"
        for name, info in threads.get("threadpools", {}).items()
    )
    torch_threads = threads.get("torch", {})
    peak = summary["matmul_peak_multiplications_per_s"]
    lines = [
        "# Our providers against PyTorch, JAX and HIPS autograd",
        "",
        f"- numpy {metadata['numpy']['version']}; {versions}",
        f"- thread pools: {pools}",
        f"- torch threads: {torch_threads.get('num_threads', '-')} intra-op, "
        f"{torch_threads.get('num_interop_threads', '-')} inter-op, BLAS "
        f"{torch_threads.get('blas', '-')}; XLA_FLAGS "
        f"`{threads['environment']['XLA_FLAGS']}`; "
        + (
            f"every thread on CPU {threads['cpu']}"
            if threads.get("cpu") is not None
            else "threads free to use every CPU"
        ),
        f"- float64 matrix multiply, one thread: {2 * peak / 1e9:.1f} GFLOP/s "
        f"({peak / 1e9:.1f} G multiplications/s)",
        f"- loop overhead {metadata['loop_overhead_s'] * 1e9:.0f} ns per call; "
        f"run took {metadata['elapsed_s']:.0f} s",
        f"- absent peers: {', '.join(f'{n} ({r})' for n, r in peers['absent'].items()) or 'none'}",
        _cpu_share_text(summary["cpu_over_wall"]),
        "",
    ]
    for batch_size in sorted({r["batch_size"] for r in summary["ratios"]}):
        lines += [
            f"## Our backprop's time over the fastest peer's, batch {batch_size}",
            "",
            "Ratio of medians; in brackets, of each one's fastest sample.",
            "",
            _markdown_grid(
                ratio_grid(summary, batch_size),
                ratio_grid(summary, batch_size, "ratios_of_minima"),
            ),
            "",
        ]
    if summary["matmul_fractions"]:
        lines += ["## backprop's fraction of the matrix-multiply rate, width 256, batch 256", ""]
        lines += ["| depth | G multiplications/s | fraction |", "|---:|---:|---:|"]
        lines += [
            f"| {r['depth']} | {r['per_s'] / 1e9:.2f} | {r['fraction']:.2f} |"
            for r in summary["matmul_fractions"]
        ]
        lines.append("")
    if summary["naive_per_multiplication"]:
        lines += ["## naive's seconds per multiplication over backprop's, deepest naive depth", ""]
        lines += ["| batch | width | depth | naive (ns) | backprop (ns) | ratio |",
                  "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        lines += [
            f"| {r['batch_size']} | {r['width']} | {r['depth']} | {r['naive'] * 1e9:.3g} | "
            f"{r['backprop'] * 1e9:.3g} | {r['ratio']:.2f} |"
            for r in summary["naive_per_multiplication"]
        ]
        lines.append("")
    targets = summary["targets"]
    lines += [
        "## Targets",
        "",
        f"1. batch 1, backprop / fastest peer: "
        f"{_verdict_text(targets['batch_1_vs_fastest_peer'])}",
        f"2. batch 256, backprop / fastest peer: "
        f"{_verdict_text(targets['batch_256_vs_fastest_peer'])}; width 256 fraction of the "
        f"matmul rate: {_verdict_text(targets['width_256_matmul_fraction'], at_most=False)}",
        f"3. backprop / loss alone where the loss takes >= 50 us: "
        f"{_verdict_text(targets['gradient_over_loss_only'])}",
        f"4. naive / backprop seconds per multiplication: "
        f"{_verdict_text(targets['naive_per_multiplication'])}",
        f"5. loop overhead / cells of 1 ms or more: "
        f"{_verdict_text(targets['loop_overhead_fraction'])}",
        "",
    ]
    if summary["failed"]:
        lines += ["## Failed checks", ""]
        lines += [
            f"- {r['provider']} width {r['width']} depth {r['depth']} batch {r['batch_size']}: "
            f"{r['reason']}"
            for r in summary["failed"]
        ]
        lines.append("")
    return "\n".join(lines)


def write_ratio_figure(results: pd.DataFrame, path_without_suffix: Path) -> list[Path]:
    """One heat map per batch size of backprop's time over the fastest peer's, each cell
    labelled with the ratio and the peer."""
    ratios = ratio_table(results)
    batch_sizes = sorted(ratios["batch_size"].unique())
    if not batch_sizes:
        figure = Figure(figsize=(5.2, 2.0), layout="constrained")
        figure.text(0.5, 0.5, "no peer ran: nothing to compare", ha="center", va="center")
        return save_png_and_svg(figure, path_without_suffix)

    figure = Figure(figsize=(5.2 * len(batch_sizes), 4.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(batch_sizes)))
    norm = LogNorm(vmin=FIGURE_RATIO_RANGE[0], vmax=FIGURE_RATIO_RANGE[-1])
    for ax, batch_size in zip(axes, batch_sizes):
        cells = ratios[ratios["batch_size"] == batch_size]
        grid = cells.pivot(index="depth", columns="width", values="ratio")
        names = cells.pivot(index="depth", columns="width", values="fastest_peer")
        image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if value == value:
                label = f"{value:.2f}\n{names.iat[i, j]}"
                dark = not 0.2 < norm(value) < 0.8  # the ends of the colour scale
                colour = "white" if dark else "black"
                ax.text(j, i, label, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(grid.columns)), [str(w) for w in grid.columns])
        ax.set_yticks(range(len(grid.index)), [str(d) for d in grid.index])
        ax.set_xlabel("width (units per hidden layer)")
        ax.set_ylabel("depth (hidden layers)")
        ax.set_title(f"batch {batch_size}")

    colorbar = figure.colorbar(image, ax=list(axes), shrink=0.9)
    colorbar.set_ticks(FIGURE_RATIO_RANGE, labels=[f"{t:g}" for t in FIGURE_RATIO_RANGE])
    colorbar.minorticks_off()
    colorbar.set_label("our backprop's time / fastest peer's (below 1: ours faster)")
    figure.suptitle("backprop against the fastest of the peers that ran, one thread each")
    return save_png_and_svg(figure, path_without_suffix)
