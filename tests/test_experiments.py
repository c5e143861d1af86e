"""The experiments behind the claims: each summary on a small configuration, and each figure.

The quadratic's numbers are those of field case C08; the others are pinned by what must hold
whatever the machine: counts, the order of the finite-difference errors, exact providers
agreeing to rounding. No assertion is made on a time.
"""

import math
import sys

import numpy as np
import pytest
from scipy import stats

from bench.experiments import dataset_size, fd_step, quadratic, training_curves
from gradients import get_loss, get_provider, register_provider, unregister_provider
from gradients.data import load_digits
from gradients.network import MLP
from gradients.objectives import NetworkObjective
from gradients.providers import Backprop
from gradients.sgd import DEFAULT_DIVERGENCE_FACTOR, train

C08_RATES = (0.1, 0.5, 0.9, 1.0, 1.1)
C08_X0 = 10.0


@pytest.fixture(scope="module")
def quadratic_frame():
    return quadratic.run(C08_RATES, x0=C08_X0, max_updates=2500)


@pytest.fixture(scope="module")
def quadratic_summary(quadratic_frame):
    return quadratic.summary(quadratic_frame)["rates"]


@pytest.fixture(scope="module")
def fd_frame():
    return fd_step.run(np.logspace(-1, -13, 13), n_samples=20)


@pytest.fixture(scope="module")
def fd_summary(fd_frame):
    return fd_step.summary(fd_frame)


@pytest.fixture(scope="module")
def accuracy_frame():
    return fd_step.run_accuracy_cost((1, 2), n_samples=8)


@pytest.fixture(scope="module")
def dataset_frame():
    return dataset_size.run((10, 30, 100), repeats=2, min_measure_s=1e-4)


@pytest.fixture(scope="module")
def training_frame():
    regimes = (("per-sample SGD", 1, 0.05, 1), ("full-batch GD", None, 1.0, 20))
    return training_curves.run(regimes, layer_sizes=(64, 8, 10))


@pytest.fixture(scope="module")
def exact_frame():
    return training_curves.run_exact_providers(
        layer_sizes=(64, 3, 10), n_samples=64, batch_size=16, epochs=3
    )


# Quadratic (C08)


@pytest.mark.parametrize(
    ("rate", "x_10"),
    [(0.1, 10 * 0.8**10), (0.9, 10 * (-0.8) ** 10), (1.0, 10.0), (1.1, 10 * (-1.2) ** 10)],
)
def test_quadratic_x10_is_x0_times_one_minus_twice_the_rate_to_the_tenth(
    quadratic_summary, rate, x_10
):
    assert quadratic_summary[rate]["x_10"] == pytest.approx(x_10, abs=1e-9)


@pytest.mark.parametrize(("rate", "x_10"), [(0.1, 1.0737), (0.9, 1.0737), (1.1, 61.917)])
def test_quadratic_x10_matches_c08(quadratic_summary, rate, x_10):
    assert quadratic_summary[rate]["x_10"] == pytest.approx(x_10, abs=1e-3)
    assert quadratic_summary[rate]["x_10"] == pytest.approx(x_10, rel=1e-4)


@pytest.mark.parametrize("rate", C08_RATES)
def test_quadratic_observed_ratio_is_one_minus_twice_the_rate(quadratic_summary, rate):
    entry = quadratic_summary[rate]
    assert entry["observed_ratio"] == pytest.approx(abs(1 - 2 * rate), abs=1e-12)
    assert entry["ratio_spread"] < 1e-12


@pytest.mark.parametrize(
    ("rate", "behaviour", "flips"),
    [
        (0.1, "converges", False),
        (0.5, "converges", False),
        (0.9, "converges", True),
        (1.0, "oscillates", True),
        (1.1, "diverges", True),
    ],
)
def test_quadratic_behaviour_is_read_from_the_data(quadratic_summary, rate, behaviour, flips):
    assert quadratic_summary[rate]["behaviour"] == behaviour
    assert quadratic_summary[rate]["sign_flips_every_step"] is flips


def test_quadratic_rate_half_reaches_zero_after_one_step(quadratic_frame, quadratic_summary):
    assert quadratic_summary[0.5]["first_zero_step"] == 1
    run = quadratic_frame[
        (quadratic_frame["learning_rate"] == 0.5)
        & (quadratic_frame["stopping"] == quadratic.STOP_NON_FINITE)
    ]
    assert (run["x"].iloc[1:] == 0).all()


def test_quadratic_rate_one_swings_between_x0_and_minus_x0_for_the_whole_run(quadratic_frame):
    run = quadratic_frame[
        (quadratic_frame["learning_rate"] == 1.0)
        & (quadratic_frame["stopping"] == quadratic.STOP_NON_FINITE)
    ].sort_values("step")
    expected = C08_X0 * (-1.0) ** np.arange(len(run))
    np.testing.assert_array_equal(run["x"], expected)
    assert len(run) == 2501


def test_quadratic_rate_1_1_loss_overflows_where_x0_squared_times_1_44_to_the_k_does(
    quadratic_summary,
):
    # Update u is evaluated at x_(u-1), so the loss is inf at the first k with
    # x0^2 * 1.44^k above the largest float, plus one.
    threshold = (math.log(sys.float_info.max) - math.log(C08_X0**2)) / math.log(1.44)
    expected_update = math.ceil(threshold) + 1

    assert quadratic_summary[1.1]["non_finite_loss_at_update"] == expected_update
    assert expected_update == 1935  # "about 1,930" in C08


def test_quadratic_default_divergence_rule_stops_rate_1_1_long_before_overflow(
    quadratic_summary,
):
    # The loss 100 * 1.44^k first exceeds 1e6 times its best (the first, 100) at this k.
    k = math.ceil(math.log(DEFAULT_DIVERGENCE_FACTOR) / math.log(1.44))

    assert quadratic_summary[1.1]["default_rule_stops_at_update"] == k + 1
    assert quadratic_summary[1.0]["default_rule_stops_at_update"] is None


def test_quadratic_refuses_a_zero_start():
    with pytest.raises(ValueError, match="`x0` must be finite and non-zero, got 0.0"):
        quadratic.run((0.1,), x0=0.0)


# Finite-difference step


def test_fd_central_best_error_is_far_below_fd_forward_best(fd_summary):
    float64 = fd_summary["float64"]
    assert float64["fd-central"]["best_error"] < float64["fd-forward"]["best_error"] / 100


@pytest.mark.parametrize("scheme", ["fd-forward", "fd-central"])
def test_fd_best_step_in_float64_is_near_the_theory(fd_summary, scheme):
    entry = fd_summary["float64"][scheme]
    assert entry["best_step_near_theory"]
    assert entry["default_step"] == pytest.approx(entry["theory_step"])


# 64-2-2-10 with biases: P = 2*65 + 2*3 + 10*3 = 166 parameters.
@pytest.mark.parametrize(
    ("scheme", "evaluations"), [("fd-forward", 166 + 1), ("fd-central", 2 * 166)]
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fd_counts_p_plus_one_and_two_p_loss_evaluations(fd_summary, scheme, evaluations, dtype):
    assert fd_summary[dtype]["n_parameters"] == 166
    assert fd_summary[dtype][scheme]["loss_evaluations"] == evaluations


def test_fd_in_float32_is_far_less_accurate_and_fails_at_tiny_steps(fd_summary):
    for scheme in ("fd-forward", "fd-central"):
        float32, float64 = fd_summary["float32"][scheme], fd_summary["float64"][scheme]
        assert float32["best_error"] > 1000 * float64["best_error"]
        assert float32["steps_with_non_finite_error"] > 0
        assert float64["steps_with_non_finite_error"] == 0


def test_fd_reference_is_float64_backprop_at_the_float32_point(fd_summary):
    assert fd_summary["float64"]["backprop_error_vs_float64"] == 0.0
    assert 0 < fd_summary["float32"]["backprop_error_vs_float64"] < 1e-5


def test_accuracy_cost_exact_providers_agree_and_naive_costs_more(accuracy_frame):
    result = fd_step.summary_accuracy_cost(accuracy_frame)

    assert result["backprop"]["max_error"] == 0.0
    assert result["naive"]["max_error"] < 1e-12
    assert 0 < result["fd-central"]["max_error"] < 1e-6
    for depth in (1, 2):
        assert result["naive"]["multiplications_over_backprop_by_depth"][depth] > 1
    backprop_counts = get_provider("backprop").predict_counts((64, 2, 2, 10), 8)
    assert result["backprop"]["multiplications_by_depth"][2] == backprop_counts.multiplications


# Data-set size


def test_dataset_size_count_slope_is_exactly_0_for_sgd_and_1_for_gd(dataset_frame):
    result = dataset_size.summary(dataset_frame)

    sgd, gd = result[dataset_size.SGD], result[dataset_size.GD]
    assert sgd["multiplications"]["slope"] == pytest.approx(0.0, abs=1e-12)
    assert gd["multiplications"]["slope"] == pytest.approx(1.0, abs=1e-12)
    assert sgd["multiplications"]["high"] - sgd["multiplications"]["low"] < 1e-9
    assert gd["multiplications"]["high"] - gd["multiplications"]["low"] < 1e-9


def test_dataset_size_counts_are_backprop_counts_at_batch_1_and_n(dataset_frame):
    backprop = get_provider("backprop")
    for row in dataset_frame.itertuples():
        predicted = backprop.predict_counts((20, 16, 16, 1), row.batch_size)
        assert row.multiplications == predicted.multiplications
        assert row.batch_size == (1 if row.method == dataset_size.SGD else row.n_samples)


def test_log_log_slope_agrees_with_linregress_on_scattered_data():
    sizes = np.array([10, 30, 100, 300, 1000])
    costs = sizes**0.8 * np.array([1.0, 1.1, 0.9, 1.05, 0.97])
    line = stats.linregress(np.log10(sizes), np.log10(costs))

    fit = dataset_size.log_log_slope(sizes, costs)

    assert fit["slope"] == pytest.approx(line.slope)
    assert fit["stderr"] == pytest.approx(line.stderr)
    assert fit["low"] < 0.8 < fit["high"]


def test_log_log_slope_of_equal_costs_is_zero_with_no_spread():
    fit = dataset_size.log_log_slope([10, 100, 1000], [5.0, 5.0, 5.0])

    assert (fit["slope"], fit["low"], fit["high"]) == (0.0, 0.0, 0.0)


def test_dataset_size_refuses_repeated_sizes():
    with pytest.raises(ValueError, match="`sizes` must be distinct"):
        dataset_size.run((10, 10, 30))


# Training curves


def test_training_curves_record_the_initial_loss_and_end_lower(training_frame):
    result = training_curves.summary(training_frame)
    data = load_digits(seed=0)
    network = MLP((64, 8, 10), seed=0)
    initial = get_loss("cross-entropy").value(
        network.forward(data.train_inputs), data.train_targets
    )

    for regime, updates in (("per-sample SGD", 1348), ("full-batch GD", 20)):
        assert result[regime]["initial_loss"] == pytest.approx(initial, rel=1e-12)
        assert result[regime]["updates"] == updates
        assert result[regime]["final_loss"] < 0.5 * initial
        assert not result[regime]["diverged"]


def test_recording_the_loss_does_not_change_the_training():
    data = load_digits(seed=0)
    X, Y = data.train_inputs[:64], data.train_targets[:64]
    histories = []
    for objective_type, options in (
        (NetworkObjective, {}),
        (training_curves.MonitoredObjective, {"record_at": {0, 1, 2, 5}}),
    ):
        network = MLP((64, 5, 10), seed=0)
        objective = objective_type(
            network, "cross-entropy", get_provider("backprop"), X, Y, **options
        )
        histories.append(train(objective, learning_rate=0.3, epochs=2, batch_size=8))

    assert histories[0].update_losses == histories[1].update_losses
    assert [record[0] for record in objective.records] == [0, 1, 2, 5]


def test_naive_and_backprop_training_curves_are_equal_within_1e_10(exact_frame):
    result = training_curves.summary_exact_providers(exact_frame)

    assert {"backprop", "naive"} <= set(result)
    assert result["naive"]["updates"] == 12  # 3 epochs of 4 batches of 16
    assert result["max_loss_difference"] <= 1e-10
    assert result["naive"]["final_parameter_difference"] <= 1e-10


def test_exact_provider_curves_leave_out_approximate_providers(exact_frame):
    assert set(exact_frame["provider"]) == {"backprop", "naive"}


class CopiedBackprop(Backprop):
    name = "copied-backprop"


def test_exact_provider_curves_include_a_registered_exact_provider():
    register_provider(CopiedBackprop.name, CopiedBackprop)
    try:
        frame = training_curves.run_exact_providers(
            layer_sizes=(64, 2, 10), n_samples=32, batch_size=16, epochs=1
        )
    finally:
        unregister_provider(CopiedBackprop.name)

    result = training_curves.summary_exact_providers(frame)
    assert result[CopiedBackprop.name]["max_loss_difference"] == 0.0


# Figures


@pytest.mark.parametrize(
    ("frame_fixture", "plot"),
    [
        ("quadratic_frame", quadratic.plot),
        ("fd_frame", fd_step.plot),
        ("accuracy_frame", fd_step.plot_accuracy_cost),
        ("dataset_frame", dataset_size.plot),
        ("training_frame", training_curves.plot),
        ("exact_frame", training_curves.plot_exact_providers),
    ],
)
def test_plot_writes_a_png_and_an_svg(request, tmp_path, frame_fixture, plot):
    frame = request.getfixturevalue(frame_fixture)

    paths = plot(frame, tmp_path / frame_fixture)

    assert [path.suffix for path in paths] == [".png", ".svg"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert paths[0].stat().st_size > 1000
    assert "<svg" in paths[1].read_text(encoding="utf-8")
