"""Figures on log axes: draw only what a log axis can show, say what was left out, save.

For: drawing a series on axes with a logarithmic y (and optionally x) scale, where a zero
timing or an infinite error has no place. Such points are never passed to matplotlib, which
would either drop them silently or pull the line to the edge of the axes; they are left out
and named in a note on the axes (field case C12). Also writing one figure as PNG and SVG.
Not for: choosing what to plot, styling beyond what a reader needs, or linear-axis figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.files import save_figure_atomic

NOTE_GID = "left-out-note"
# Notes are stacked upward from the lower-left corner of the axes, one line each.
NOTE_X, NOTE_Y, NOTE_LINE_SPACING = 0.02, 0.03, 0.06
NOTE_FONT_SIZE = 7
# A note names at most this many left-out values or runs of consecutive integers; past
# that, it gives their span.
NOTE_MAX_ITEMS = 4
# Integers below this are written out in full in notes, larger ones in scientific notation.
INTEGER_DIGITS_LIMIT = 1e15
FIGURE_SUFFIXES = (".png", ".svg")
PNG_DPI = 150


def plot_positive(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    x_name: str = "x",
    reason: str = "≤ 0 or not finite",
    positive_x: bool = False,
    **kwargs: object,
) -> list[float]:
    """Draw the points with finite, positive ``y`` on ``ax``; return the ``x`` left out.

    ``positive_x`` also leaves out points whose ``x`` is not positive, for a log x-axis. The
    left-out points are named in a small note in the lower-left corner of the axes, e.g.
    "time: 1 point ≤ 0 or not finite left out: depth 1"; ``reason`` replaces the middle part
    (say "below timer resolution"). ``kwargs`` go to ``ax.plot``; points get a marker unless
    one is given, so that a series with gaps still shows where its measurements are.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"`x` and `y` must be one-dimensional and of one length, got {x.shape} and {y.shape}"
        )

    drawable = np.isfinite(x) & np.isfinite(y) & (y > 0)
    if positive_x:
        drawable &= x > 0
    left_out = [float(value) for value in x[~drawable]]

    kwargs.setdefault("marker", "o")
    # NOTE: the line joins the points either side of a left-out one; the marker and the note
    # show the gap. Plotting NaN in its place would break the line there instead.
    lines = ax.plot(x[drawable], y[drawable], **kwargs)
    if left_out:
        label = str(kwargs.get("label", ""))
        label = "series" if not label or label.startswith("_") else label  # "_x": no legend
        _add_note(ax, _note_text(label, left_out, x_name, reason), lines[0].get_color())
    return left_out


def left_out_notes(ax: Axes) -> list[str]:
    """The texts of the notes ``plot_positive`` put on ``ax``, oldest first."""
    return [text.get_text() for text in ax.texts if text.get_gid() == NOTE_GID]


def save_png_and_svg(figure: Figure, path_without_suffix: str | Path) -> list[Path]:
    """Write ``figure`` as ``<path>.png`` and ``<path>.svg``; return both paths."""
    base = Path(path_without_suffix)
    paths = [base.with_name(base.name + suffix) for suffix in FIGURE_SUFFIXES]
    for path in paths:
        save_figure_atomic(figure, path, dpi=PNG_DPI)
    return paths


def _note_text(label: str, left_out: list[float], x_name: str, reason: str) -> str:
    count = len(left_out)
    points = "point" if count == 1 else "points"
    return f"{label}: {count} {points} {reason} left out: {x_name} {_describe(left_out)}"


def _describe(values: list[float]) -> str:
    """Values as "1, 3", runs of consecutive integers as "1-2500", many as their span."""
    items, start = [], 0
    for end in range(1, len(values) + 1):
        run_ends = end == len(values) or not _consecutive_integers(values[end - 1], values[end])
        if run_ends:
            first, last = values[start], values[end - 1]
            items.append(
                _number(first) if end - start == 1 else f"{_number(first)}-{_number(last)}"
            )
            start = end
    if len(items) > NOTE_MAX_ITEMS:
        return f"from {_number(min(values))} to {_number(max(values))}"
    return ", ".join(items)


def _number(value: float) -> str:
    """Integers in full (depths, counts), anything else to three significant digits."""
    whole = float(value).is_integer() and abs(value) < INTEGER_DIGITS_LIMIT
    return str(int(value)) if whole else f"{value:.3g}"


def _consecutive_integers(value: float, following: float) -> bool:
    return float(value).is_integer() and following == value + 1


def _add_note(ax: Axes, text: str, color: str) -> None:
    line = len(left_out_notes(ax))
    ax.text(
        NOTE_X,
        NOTE_Y + NOTE_LINE_SPACING * line,
        text,
        transform=ax.transAxes,
        fontsize=NOTE_FONT_SIZE,
        color=color,
        gid=NOTE_GID,
        va="bottom",
        ha="left",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1},
        zorder=5,  # above the data, so the note stays legible wherever the points fall
    )
