"""Comparing gradients: NaN never passes (case C03), combined tolerances pass tiny values
(C04), the report, and the flagging of finite-difference stencils that cross a ReLU kink."""

import math

import numpy as np
import pytest

from gradients import MLP
from gradients.gradcheck import compare_gradients, kink_crossings, max_relative_difference

NAN = math.nan
INF = math.inf


def test_c03_an_entry_off_by_a_third_fails_even_where_a_relative_error_is_nan():
    # |a - n| / (|a| + |n|) is 0/0 = NaN on the first entry; NaN > tol is False.
    comparison = compare_gradients([0.0, 2.0], [0.0, 1.0], rtol=1e-5)

    assert not comparison.passed
    assert comparison.n_failed == 1
    assert comparison.worst[0] == (1, 2.0, 1.0)
    assert comparison.max_abs_error == 1.0


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract:RuntimeWarning")
@pytest.mark.parametrize(
    ("reference", "candidate"),
    [
        ([0.0, NAN], [0.0, 1.0]),
        ([0.0, 1.0], [0.0, NAN]),
        ([NAN, 1.0], [NAN, 1.0]),
        ([1.0, INF], [1.0, 2.0]),
        ([1.0, 2.0], [1.0, INF]),
        ([1.0, 2.0], [1.0, -INF]),
        ([1.0, INF], [1.0, INF]),
    ],
    ids=[
        "nan-reference",
        "nan-candidate",
        "nan-both",
        "inf-reference",
        "inf-candidate",
        "minus-inf-candidate",
        "inf-both",
    ],
)
def test_c03_nan_and_infinite_entries_never_pass(reference, candidate):
    # An infinite entry has an infinite difference, but also an infinite allowance
    # rtol * max(|a|, |n|): only a finiteness check keeps inf <= inf from passing.
    comparison = compare_gradients(reference, candidate, rtol=1e-5, atol=1e-8)

    assert not comparison.passed
    assert comparison.n_failed == 1


def test_c03_a_nan_entry_is_ranked_the_worst():
    comparison = compare_gradients([1.0, 5.0, 0.0], [1.5, NAN, 0.0])

    assert comparison.worst[0][0] == 1
    assert comparison.max_abs_error == INF


@pytest.mark.parametrize(
    ("reference", "candidate"),
    [([0.0, NAN], [0.0, 1.0]), ([1.0, 2.0], [1.0, NAN]), ([NAN], [NAN])],
)
def test_c03_max_relative_difference_propagates_nan(reference, candidate):
    assert math.isnan(max_relative_difference(reference, candidate))


def test_c04_tiny_value_against_zero_passes_under_combined_tolerances():
    # Relative error 1.0, absolute error 1e-12: |a - n| <= atol + rtol * max(|a|, |n|).
    comparison = compare_gradients([1e-12], [0.0], rtol=1e-5, atol=1e-10)

    assert comparison.passed
    assert comparison.max_abs_error == pytest.approx(1e-12, rel=1e-15)
    assert comparison.max_error_relative_to_largest == pytest.approx(1.0, rel=1e-15)


def test_c04_without_an_absolute_tolerance_the_tiny_value_fails():
    comparison = compare_gradients([1e-12], [0.0], rtol=1e-5, atol=0.0)

    assert not comparison.passed


@pytest.mark.parametrize(
    ("candidate", "passed"),
    [(1.0 + 0.9e-6, True), (1.0 + 1.1e-6, False), (1.0 - 1.1e-6, False)],
    ids=["inside", "above", "below"],
)
def test_relative_tolerance_is_taken_on_the_larger_magnitude(candidate, passed):
    comparison = compare_gradients([1.0, 1e-3], [candidate, 1e-3], rtol=1e-6, atol=0.0)

    assert comparison.passed is passed


def test_default_tolerances_are_stated_in_the_report():
    comparison = compare_gradients([1.0], [1.0])

    assert (comparison.rtol, comparison.atol) == (1e-6, 1e-10)
    assert comparison.passed and comparison.n_failed == 0


def test_summary_names_the_verdict_the_tolerances_and_the_worst_entries():
    comparison = compare_gradients([0.5, -0.25, 3.0], [0.5, 0.75, 3.0], rtol=1e-6, atol=1e-9)

    summary = comparison.summary()

    assert summary.startswith("FAILED on 1 entries (rtol 1e-06, atol 1e-09)")
    assert "[1] -0.25 vs 0.75" in summary


def test_flagged_entries_are_left_out_of_the_verdict_and_counted():
    flagged = np.array([False, True, False])

    comparison = compare_gradients([1.0, 0.0, 2.0], [1.0, -0.19, 2.0], flagged=flagged)

    assert comparison.passed
    assert (comparison.n_flagged, comparison.n_failed) == (1, 0)


def test_gradients_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="`candidate` must have 3 entries"):
        compare_gradients([1.0, 2.0, 3.0], [1.0, 2.0])


def test_max_relative_difference_is_on_the_scale_of_the_largest_entry():
    assert max_relative_difference([4.0, -0.001], [4.0, 0.001]) == pytest.approx(0.002 / 4)


# Kinks: a 1-2-1 ReLU network whose first hidden unit has pre-activation z = w x + b, with
# x = 1, so perturbing w or b by h moves z by h.
def relu_network(first_preactivation: float) -> MLP:
    network = MLP((1, 2, 1), "relu")
    network.weights[0][...] = [[0.5], [1.0]]
    network.biases[0][...] = [first_preactivation - 0.5, 0.3]
    network.weights[1][...] = [[0.7, -0.6]]
    return network


FIRST_UNIT_PARAMETERS = [0, 2]  # W1[0, 0] and b1[0]


@pytest.mark.parametrize(
    ("preactivation", "step", "expected"),
    [
        (0.0, 1e-6, FIRST_UNIT_PARAMETERS),  # exactly at the kink
        (1e-3, 1e-6, []),  # the stencil stays on one side
        (1e-3, 1e-2, FIRST_UNIT_PARAMETERS),  # the step reaches over the kink
        (-1e-3, 1e-2, FIRST_UNIT_PARAMETERS),
        (-1e-3, 1e-4, []),
    ],
)
def test_kink_crossings_flag_stencils_that_reach_over_the_kink(preactivation, step, expected):
    network = relu_network(preactivation)

    flagged = kink_crossings(network, np.array([[1.0]]), step)

    assert np.flatnonzero(flagged).tolist() == expected


def test_kink_crossings_flag_a_parameter_when_any_sample_crosses():
    network = relu_network(1e-3)
    # The second sample, x = -1, puts the first unit at z = -0.5 - 0.499 = -0.999: far away.
    # The third, x = 0.998, puts it at z = 0.5 * 0.998 - 0.499 = 0: at the kink.
    inputs = np.array([[1.0], [-1.0], [0.998]])

    flagged = kink_crossings(network, inputs, 1e-6)

    assert np.flatnonzero(flagged).tolist() == FIRST_UNIT_PARAMETERS


def test_kink_crossings_restore_the_parameters_exactly():
    network = relu_network(0.0)
    before = network.parameters.copy()

    kink_crossings(network, np.array([[1.0], [0.3]]), 1e-3)

    np.testing.assert_array_equal(network.parameters, before)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_smooth_activations_never_flag(activation):
    network = MLP((2, 3, 1), activation)

    flagged = kink_crossings(network, np.zeros((2, 2)), 0.5)

    assert flagged.shape == (network.n_parameters,)
    assert not flagged.any()


def test_kink_crossings_see_kinks_in_deeper_layers():
    network = MLP((1, 1, 1, 1), "relu")
    network.parameters[...] = [1.0, 0.0, 1.0, -1.0, 1.0, 0.0]  # z2 = a1 - 1 = 0 at x = 1

    flagged = kink_crossings(network, np.array([[1.0]]), 1e-6)

    # W1, b1, W2 and b2 all move z2; the output layer's W3 and b3 do not.
    assert flagged.tolist() == [True, True, True, True, False, False]
