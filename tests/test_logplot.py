"""Log-axis drawing: points a log axis cannot show are left out and named (field case C12)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from bench.logplot import left_out_notes, plot_positive, save_png_and_svg

C12_DEPTHS = [1, 2, 3, 4]
C12_TIMES_S = [0.0, 2e-6, 8e-6, 3.2e-5]


def log_axes():
    ax = Figure().subplots()
    ax.set_yscale("log")
    return ax


def test_zero_timing_of_c12_is_left_out_and_named_in_a_note():
    ax = log_axes()

    left_out = plot_positive(ax, C12_DEPTHS, C12_TIMES_S, x_name="depth", label="backprop")

    assert left_out == [1.0]
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [2, 3, 4])
    np.testing.assert_array_equal(line.get_ydata(), [2e-6, 8e-6, 3.2e-5])
    assert left_out_notes(ax) == ["backprop: 1 point ≤ 0 or not finite left out: depth 1"]
    assert left_out_notes(ax)[0] in [text.get_text() for text in ax.texts]


def test_c12_line_keeps_the_axis_near_its_data_instead_of_its_edge():
    ax = log_axes()

    plot_positive(ax, C12_DEPTHS, C12_TIMES_S, x_name="depth")
    ax.relim()
    ax.autoscale_view()

    low, high = ax.get_ylim()
    assert 1e-7 < low < 2e-6
    assert 3.2e-5 < high < 1e-3


@pytest.mark.parametrize(
    ("times_s", "expected_left_out"),
    [
        ([-1e-6, 2e-6, 8e-6, 3.2e-5], [1.0]),
        ([np.nan, 2e-6, 8e-6, 3.2e-5], [1.0]),
        ([2e-6, np.inf, 8e-6, 3.2e-5], [2.0]),
        ([0.0, 0.0, 8e-6, 3.2e-5], [1.0, 2.0]),
        ([2e-6, 4e-6, 8e-6, 3.2e-5], []),
    ],
)
def test_non_positive_and_non_finite_values_are_left_out(times_s, expected_left_out):
    ax = log_axes()

    left_out = plot_positive(ax, C12_DEPTHS, times_s, x_name="depth")

    assert left_out == expected_left_out
    assert len(ax.lines[0].get_xdata()) == 4 - len(expected_left_out)
    assert len(left_out_notes(ax)) == (1 if expected_left_out else 0)


def test_every_point_left_out_still_leaves_a_note():
    ax = log_axes()

    left_out = plot_positive(ax, [1, 2], [0.0, 0.0], x_name="depth", label="naive")

    assert left_out == [1.0, 2.0]
    assert len(ax.lines[0].get_xdata()) == 0
    assert left_out_notes(ax) == ["naive: 2 points ≤ 0 or not finite left out: depth 1-2"]


def test_reason_replaces_the_default_wording():
    ax = log_axes()

    plot_positive(ax, C12_DEPTHS, C12_TIMES_S, x_name="depth", reason="below timer resolution")

    assert left_out_notes(ax) == ["series: 1 point below timer resolution left out: depth 1"]


def test_positive_x_leaves_out_points_a_log_x_axis_cannot_show():
    ax = log_axes()
    ax.set_xscale("log")

    left_out = plot_positive(ax, [0, 10, 100], [1.0, 2.0, 3.0], x_name="updates", positive_x=True)

    assert left_out == [0.0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [10, 100])


def test_notes_of_two_series_are_stacked_not_overlaid():
    ax = log_axes()

    plot_positive(ax, C12_DEPTHS, C12_TIMES_S, x_name="depth", label="backprop")
    plot_positive(ax, C12_DEPTHS, C12_TIMES_S, x_name="depth", label="naive")

    notes = [text for text in ax.texts if text.get_text() in left_out_notes(ax)]
    assert len(notes) == 2
    assert notes[0].get_position()[1] != notes[1].get_position()[1]


@pytest.mark.parametrize(
    ("x", "described"),
    [
        ([1, 3], "1, 3"),
        ([1, 2, 3, 7], "1-3, 7"),
        (list(range(1, 2501)), "1-2500"),
        ([1e-13, 1e-11, 1e-9, 1e-7, 1e-5], "from 1e-13 to 1e-05"),
    ],
)
def test_note_names_left_out_values_compactly(x, described):
    ax = log_axes()

    plot_positive(ax, x, np.zeros(len(x)), x_name="step")

    assert left_out_notes(ax)[0].endswith(f"left out: step {described}")


def test_markers_are_drawn_unless_the_caller_chooses_otherwise():
    ax = log_axes()

    plot_positive(ax, C12_DEPTHS, C12_TIMES_S)
    plot_positive(ax, C12_DEPTHS, C12_TIMES_S, marker=None)

    assert ax.lines[0].get_marker() == "o"
    assert ax.lines[1].get_marker() in (None, "None", "")


def test_mismatched_lengths_are_refused_with_both_shapes():
    with pytest.raises(ValueError, match=r"`x` and `y`.*\(4,\) and \(3,\)"):
        plot_positive(log_axes(), C12_DEPTHS, C12_TIMES_S[:3])


def test_save_png_and_svg_writes_both_formats(tmp_path):
    figure = Figure()
    ax = figure.subplots()
    ax.set_yscale("log")
    plot_positive(ax, C12_DEPTHS, C12_TIMES_S)

    paths = save_png_and_svg(figure, tmp_path / "figures" / "c12")

    assert [path.name for path in paths] == ["c12.png", "c12.svg"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert "<svg" in paths[1].read_text(encoding="utf-8")
