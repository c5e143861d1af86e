"""Growth-model fits on synthetic costs whose answer is known, and the field cases C12 and C13."""

import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from bench.fits import (
    AIC_MARGIN,
    ANALYTIC,
    BOOTSTRAP,
    MIN_DEPTH_RATIO,
    MIN_DISTINCT_DEPTHS,
    UNDECIDED,
    fit_linear,
    fit_scaling,
    predict,
)

DEPTHS_1_TO_12 = list(range(1, 13))


def noisy_repeats(costs, n_repeats: int, sigma: float, seed: int) -> list[np.ndarray]:
    """Each cost times independent lognormal noise, ``n_repeats`` times per depth."""
    rng = np.random.default_rng(seed)
    return [cost * rng.lognormal(0.0, sigma, n_repeats) for cost in costs]


@pytest.mark.parametrize("base", [2.0, 3.0])
def test_exact_exponential_gives_a_tight_growth_factor_interval_around_the_base(base):
    L = np.array(DEPTHS_1_TO_12)

    fit = fit_scaling(L, base**L)
    growth_factor, interval = fit.growth_factor()

    assert fit.chosen == "exponential"
    assert growth_factor == pytest.approx(base, rel=1e-12)
    assert interval.contains(base)
    assert interval.high - interval.low < 1e-6 * base
    assert interval.method == ANALYTIC == fit.interval_method


def test_pure_power_law_is_chosen_with_exponent_two():
    L = np.array(DEPTHS_1_TO_12)

    fit = fit_scaling(L, 5 * L**2.0)
    exponent, interval = fit.depth_exponent()

    assert fit.chosen == "power"
    assert exponent == pytest.approx(2.0, rel=1e-12)
    assert interval.contains(2.0)
    assert fit.fits["power"].parameters["scale"] == pytest.approx(5.0, rel=1e-12)


def test_power_is_kept_over_the_overhead_model_it_nests_when_overhead_adds_nothing():
    # y = c0 + c1 L^k with c0 = 0 is the power law: it fits as well, at the price of one
    # more parameter, so the simpler model must win.
    L = np.array(DEPTHS_1_TO_12)

    fit = fit_scaling(L, 5 * L**2.0)

    assert fit.fits["overhead"].parameters["overhead"] == pytest.approx(0.0, abs=1e-9)
    assert fit.fits["overhead"].aic > fit.fits["power"].aic
    assert fit.chosen == "power"


def test_power_is_kept_when_overhead_beats_it_by_less_than_the_aic_margin():
    L = np.array(DEPTHS_1_TO_12)
    costs = np.array([repeat[0] for repeat in noisy_repeats(5 * L**2.0, 1, sigma=0.2, seed=17)])

    fit = fit_scaling(L, costs)

    gain = fit.fits["power"].aic - fit.fits["overhead"].aic
    assert 0 < gain < AIC_MARGIN
    assert fit.chosen == "power"


@pytest.mark.parametrize(
    "true_cost",
    [lambda L: 5 * L**2.0, lambda L: 1e-4 + 1e-5 * L, lambda L: 2.0**L],
    ids=["power", "linear_with_overhead", "exponential"],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overhead_never_fits_worse_than_the_power_law_it_nests(true_cost, seed):
    L = np.array(DEPTHS_1_TO_12)
    costs = np.array([repeat[0] for repeat in noisy_repeats(true_cost(L), 1, 0.2, seed)])

    fits = fit_scaling(L, costs).fits

    assert fits["overhead"].r_squared_log >= fits["power"].r_squared_log


def test_linear_fit_recovers_intercept_and_slope_of_a_linear_cost():
    L = np.array(DEPTHS_1_TO_12)

    line = fit_linear(L, 1e-4 + 1e-5 * L)

    assert line.intercept == pytest.approx(1e-4, rel=1e-9)
    assert line.slope == pytest.approx(1e-5, rel=1e-9)
    assert line.r_squared == pytest.approx(1.0, abs=1e-12)
    assert line.intervals["slope"].contains(line.slope)


def test_linear_cost_with_overhead_is_fitted_by_the_overhead_model():
    L = np.array(DEPTHS_1_TO_12)

    fit = fit_scaling(L, 1e-4 + 1e-5 * L)
    overhead = fit.fits["overhead"].parameters

    assert fit.chosen == "overhead"
    assert overhead["overhead"] == pytest.approx(1e-4, rel=1e-6)
    assert overhead["scale"] == pytest.approx(1e-5, rel=1e-6)
    assert overhead["depth_exponent"] == pytest.approx(1.0, rel=1e-6)
    # The constant flattens the curve on log-log axes, so a pure power law fitted to the same
    # costs needs an exponent well below 1: it would understate growth at depth.
    power_exponent, _ = fit.depth_exponent("power")
    assert power_exponent < 0.5


@pytest.mark.parametrize("unit", [1e-9, 1e9])
def test_overhead_fit_does_not_depend_on_the_unit_of_the_costs(unit):
    L = np.array(DEPTHS_1_TO_12)
    costs = 1e-4 + 1e-5 * L

    reference = fit_scaling(L, costs).fits["overhead"].parameters
    scaled = fit_scaling(L, unit * costs).fits["overhead"].parameters

    assert scaled["overhead"] == pytest.approx(unit * reference["overhead"], rel=1e-6)
    assert scaled["scale"] == pytest.approx(unit * reference["scale"], rel=1e-6)
    assert scaled["depth_exponent"] == pytest.approx(reference["depth_exponent"], rel=1e-6)


@pytest.mark.parametrize("base", [2.0, 3.0])
def test_bootstrap_interval_of_noisy_exponential_holds_the_base_and_excludes_half_off(base):
    L = np.array(DEPTHS_1_TO_12)
    repeats = noisy_repeats(base**L, n_repeats=9, sigma=0.3, seed=7)

    fit = fit_scaling(L, repeats, seed=1)
    _, interval = fit.growth_factor()

    assert fit.interval_method == BOOTSTRAP == interval.method
    assert fit.chosen == "exponential"
    assert interval.contains(base)
    assert not interval.contains(base - 0.5)
    assert not interval.contains(base + 0.5)


def test_bootstrap_with_the_same_seed_gives_the_same_interval():
    L = np.array(DEPTHS_1_TO_12)
    repeats = noisy_repeats(2.0**L, n_repeats=5, sigma=0.3, seed=3)

    first = fit_scaling(L, repeats, seed=11, n_bootstrap=200).growth_factor()
    second = fit_scaling(L, repeats, seed=11, n_bootstrap=200).growth_factor()

    assert first == second


def test_repeats_of_unequal_length_are_fitted_through_their_medians():
    repeats = [[1.0, 2.0, 9.0], [4.0, 4.5, 3.0, 100.0], [8.0, 7.0, 9.0], [16.0, 15.0, 17.0]]

    fit = fit_scaling([1, 2, 3, 4], repeats, n_bootstrap=200)

    assert fit.values == (2.0, 4.25, 8.0, 16.0)
    assert fit.interval_method == BOOTSTRAP


def test_too_few_repeats_at_one_depth_fall_back_to_analytic_intervals_with_a_note():
    repeats = [[1.0, 1.1, 0.9], [2.0, 2.1], [4.0, 4.2, 3.9], [8.0, 8.1, 7.9], [16.0, 16.5, 15.5]]

    fit = fit_scaling([1, 2, 3, 4, 5], repeats)

    assert fit.interval_method == ANALYTIC
    assert any("repeats" in note for note in fit.notes)


def test_analytic_growth_factor_interval_matches_linregress_standard_error():
    L = np.array(DEPTHS_1_TO_12)
    costs = np.array([repeat[0] for repeat in noisy_repeats(2.0**L, 1, sigma=0.2, seed=5)])

    _, interval = fit_scaling(L, costs).growth_factor()

    line = stats.linregress(L, np.log(costs))
    t = stats.t.ppf(0.975, len(L) - 2)
    assert interval.low == pytest.approx(np.exp(line.slope - t * line.stderr), rel=1e-9)
    assert interval.high == pytest.approx(np.exp(line.slope + t * line.stderr), rel=1e-9)


def test_overhead_exponent_on_noisy_flat_times_gets_its_regression_interval_not_one_of_no_width():
    # Flat times with 10% noise, one repeat a depth: k runs away to 16.8 with c1 ~ 1e-23, and
    # (J^T J)^-1 once came out as k = 16.8 [16.8, 16.8] with "invalid value in sqrt".
    L = np.array(DEPTHS_1_TO_12)
    repeats = noisy_repeats(np.full(L.size, 1e-4), 1, sigma=0.1, seed=4)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overhead = fit_scaling(L, repeats).fits["overhead"]

    c0, c1, k = (overhead.parameters[name] for name in ("overhead", "scale", "depth_exponent"))
    # The same interval worked in (log c0, log c1, k), whose Jacobian columns are shares of
    # the cost, of order one; the variance of k does not depend on how c0 and c1 are written.
    f = c0 + c1 * L**k
    shares = np.column_stack([c0 / f, c1 * L**k / f, c1 * L**k * np.log(L) / f])
    residuals = np.log(f) - np.log([repeat[0] for repeat in repeats])
    dof = L.size - 3
    variance_k = residuals @ residuals / dof * np.linalg.inv(shares.T @ shares)[2, 2]
    half_width = stats.t.ppf(0.975, dof) * np.sqrt(variance_k)
    interval = overhead.intervals["depth_exponent"]
    assert interval.low == pytest.approx(k - half_width, rel=1e-6)
    assert interval.high == pytest.approx(k + half_width, rel=1e-6)
    assert overhead.intervals["overhead"].contains(1e-4)


def test_an_exponent_the_noisy_data_leave_undetermined_gets_an_unknown_interval():
    # Six depths of noisy quadratic times: k runs away to 182, where c1 D^k is 77% of the
    # cost at depth 6 and 1e-14 of it or less at the others, so the data pin down c1 6^k but
    # not c1 and k apart. The intervals of k and c0 once had no width: k = 182.5 [182.5, 182.5].
    L = np.arange(1, 7)
    repeats = noisy_repeats(5e-5 + 1e-6 * L**2.0, 2, sigma=1.0, seed=4)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overhead = fit_scaling(L, repeats).fits["overhead"]

    assert overhead.parameters["depth_exponent"] > 100
    exponent = overhead.intervals["depth_exponent"]
    assert (exponent.low, exponent.high) == (-np.inf, np.inf)
    assert overhead.intervals["scale"].high == np.inf
    c0 = overhead.intervals["overhead"]
    assert 0 <= c0.low < overhead.parameters["overhead"] < c0.high < np.inf


@pytest.mark.parametrize(
    ("true_cost", "misleading_model"),
    [(lambda L: L**2.0, "exponential"), (lambda L: 2.0**L, "power")],
    ids=["L_squared", "two_to_the_L"],
)
def test_case_c13_three_depths_are_undecided_although_the_wrong_model_has_high_r_squared(
    true_cost, misleading_model
):
    L = np.array([1, 2, 3])

    fit = fit_scaling(L, true_cost(L))

    # On three points the wrong growth class still explains 98% of the variance of log cost:
    # R^2 alone would pick a class by accident.
    assert fit.fits[misleading_model].r_squared_log == pytest.approx(0.978, abs=0.005)
    assert fit.chosen == UNDECIDED
    assert str(MIN_DISTINCT_DEPTHS) in fit.reason


@pytest.mark.parametrize(
    ("true_cost", "model", "parameter", "value"),
    [
        (lambda L: L**2.0, "power", "depth_exponent", 2.0),
        (lambda L: 2.0**L, "exponential", "growth_factor", 2.0),
    ],
    ids=["L_squared", "two_to_the_L"],
)
def test_case_c13_ten_depths_name_the_right_growth_model(true_cost, model, parameter, value):
    L = np.arange(1, 11)

    fit = fit_scaling(L, true_cost(L))

    assert fit.chosen == model
    assert fit.fits[model].parameters[parameter] == pytest.approx(value, rel=1e-9)


def test_four_depths_over_a_wide_range_are_undecided():
    L = np.array([1, 2, 4, 8])

    fit = fit_scaling(L, 2.0**L)

    assert fit.chosen == UNDECIDED
    assert fit.reason.startswith("only 4 usable depths")


def test_four_depths_from_8_to_11_are_undecided():
    L = np.arange(8, 12)

    assert fit_scaling(L, 2.0**L).chosen == UNDECIDED


@pytest.mark.parametrize(
    "true_cost", [lambda L: L**2.0, lambda L: 2.0**L], ids=["L_squared", "two_to_the_L"]
)
def test_narrow_depth_range_is_undecided_even_when_aic_would_decide(true_cost):
    L = np.arange(8, 16)
    assert len(L) >= MIN_DISTINCT_DEPTHS and L.max() / L.min() < MIN_DEPTH_RATIO

    fit = fit_scaling(L, true_cost(L))

    aic = {name: model_fit.aic for name, model_fit in fit.fits.items()}
    assert abs(aic["exponential"] - aic["power"]) > AIC_MARGIN
    assert fit.chosen == UNDECIDED
    assert "ratio" in fit.reason


def test_models_within_the_aic_margin_are_undecided():
    # Costs halfway between power and exponential growth: pick the mixture at which the
    # exponential and overhead models have equal AIC.
    L = np.arange(1, 11)

    def costs(share: float) -> np.ndarray:
        return np.exp(share * L * np.log(2) + (1 - share) * 2 * np.log(L))

    def aic_gap(share: float) -> float:
        fits = fit_scaling(L, costs(share)).fits
        return fits["exponential"].aic - fits["overhead"].aic

    share = optimize.brentq(aic_gap, 0.3, 0.9, xtol=1e-4)
    fit = fit_scaling(L, costs(share))

    assert fit.fits["overhead"].aic < fit.fits["power"].aic - AIC_MARGIN
    assert fit.chosen == UNDECIDED
    assert "AIC" in fit.reason


def test_case_c12_zero_timing_is_left_out_and_listed():
    fit = fit_scaling([1, 2, 3, 4], [0, 2e-6, 8e-6, 3.2e-5])

    assert fit.left_out_depths == (1,)
    assert fit.depths == (2, 3, 4)
    assert any("[1]" in note for note in fit.notes)
    assert fit.growth_factor()[0] == pytest.approx(4.0, rel=1e-12)
    assert fit.chosen == UNDECIDED


@pytest.mark.parametrize("bad_repeat", [0.0, -1e-9])
def test_depth_with_a_non_positive_repeat_is_left_out(bad_repeat):
    L = np.array(DEPTHS_1_TO_12)
    repeats = noisy_repeats(2.0**L, n_repeats=5, sigma=0.1, seed=2)
    repeats[0][3] = bad_repeat

    fit = fit_scaling(L, repeats, n_bootstrap=200)

    assert fit.left_out_depths == (1,)
    assert 1 not in fit.depths


def test_extrapolation_beyond_measured_depths_is_flagged_and_covers_the_true_cost():
    L = np.array(DEPTHS_1_TO_12)
    fit = fit_scaling(L, 2.0**L)

    far = predict(fit, 20)
    measured = predict(fit, 5)

    assert far.extrapolated
    assert not measured.extrapolated
    assert far.value == pytest.approx(2.0**20, rel=1e-9)
    assert far.interval.contains(2.0**20)
    assert measured.value == pytest.approx(32.0, rel=1e-12)


def test_depth_between_measured_depths_counts_as_extrapolated():
    L = np.array([1, 2, 4, 8, 16])

    assert predict(fit_scaling(L, 2.0**L), 3).extrapolated


def test_bootstrap_prediction_at_depth_20_covers_the_true_cost_and_is_wider_than_inside():
    L = np.array(DEPTHS_1_TO_12)
    fit = fit_scaling(L, noisy_repeats(2.0**L, n_repeats=9, sigma=0.3, seed=7), seed=1)

    far = predict(fit, 20)
    inside = predict(fit, 6)

    assert far.interval.method == BOOTSTRAP
    assert far.interval.contains(2.0**20)
    assert far.interval.high / far.interval.low > inside.interval.high / inside.interval.low


def test_analytic_prediction_interval_matches_the_textbook_mean_prediction_formula():
    L = np.array(DEPTHS_1_TO_12)
    costs = np.array([repeat[0] for repeat in noisy_repeats(2.0**L, 1, sigma=0.2, seed=5)])

    prediction = predict(fit_scaling(L, costs), 20, model="exponential")

    # Standard error of the mean response at x0: s * sqrt(1/n + (x0 - mean x)^2 / Sxx).
    line = stats.linregress(L, np.log(costs))
    residuals = np.log(costs) - (line.intercept + line.slope * L)
    n = len(L)
    s = np.sqrt(residuals @ residuals / (n - 2))
    se = s * np.sqrt(1 / n + (20 - L.mean()) ** 2 / np.sum((L - L.mean()) ** 2))
    center = line.intercept + line.slope * 20
    t = stats.t.ppf(0.975, n - 2)
    assert prediction.interval.low == pytest.approx(np.exp(center - t * se), rel=1e-9)
    assert prediction.interval.high == pytest.approx(np.exp(center + t * se), rel=1e-9)


def test_predict_needs_a_model_when_the_verdict_is_undecided():
    fit = fit_scaling([1, 2, 3], [1.0, 4.0, 9.0])

    with pytest.raises(ValueError, match="`model`"):
        predict(fit, 20)
    assert predict(fit, 20, model="power").value == pytest.approx(400.0, rel=1e-9)


def test_linear_r_squared_is_on_raw_costs_not_their_logarithms():
    L = np.array(DEPTHS_1_TO_12)
    costs = 2.0**L

    line = fit_linear(L, costs)

    assert line.r_squared == pytest.approx(np.corrcoef(L, costs)[0, 1] ** 2, rel=1e-12)
    assert line.r_squared < 0.95


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: fit_scaling([0, 1, 2], [1.0, 2.0, 3.0]), "`depths`"),
        (lambda: fit_scaling([1, 1, 2], [1.0, 2.0, 3.0]), "`depths`"),
        (lambda: fit_scaling([1.5, 2, 3], [1.0, 2.0, 3.0]), "`depths`"),
        (lambda: fit_scaling([1, 2, 3], [1.0, 2.0]), "`values`"),
        (lambda: fit_scaling([1, 2, 3], [1.0, np.nan, 3.0]), "`values`"),
        (lambda: fit_scaling([1, 2, 3], [1.0, [], 3.0]), "`values`"),
        (lambda: fit_scaling([1, 2, 3], [0.0, 0.0, 3.0]), "`values`"),
        (lambda: fit_scaling([1, 2, 3], [1.0, 2.0, 3.0], confidence=1.0), "`confidence`"),
        (lambda: fit_scaling([1, 2, 3], [1.0, 2.0, 3.0], n_bootstrap=5), "`n_bootstrap`"),
        (lambda: fit_linear([1], [1.0]), "`depths`"),
        (lambda: fit_linear([1, 2, 3], [1.0, 2.0, 3.0], confidence=0.0), "`confidence`"),
        (lambda: predict(fit_scaling([1, 2, 3], [1.0, 2.0, 4.0]), 0, "power"), "`depth`"),
        (lambda: predict(fit_scaling([1, 2, 3], [1.0, 2.0, 4.0]), 5, "cubic"), "`model`"),
    ],
    ids=[
        "zero_depth",
        "repeated_depth",
        "fractional_depth",
        "too_few_values",
        "nan_value",
        "empty_repeats",
        "one_usable_value",
        "confidence_one",
        "too_few_resamples",
        "one_depth_line",
        "confidence_zero",
        "zero_target_depth",
        "unknown_model",
    ],
)
def test_bad_input_raises_an_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize(
    "true_cost",
    [lambda L: 3 * L**2.0, lambda L: 1e-4 + 1e-5 * L, lambda L: 2.0**L],
    ids=["power_with_c0_at_its_bound", "linear_with_overhead", "exponential"],
)
def test_overhead_fit_reaches_the_optimum_of_a_bounded_least_squares_solver(true_cost):
    L = np.arange(1, 16)
    costs = np.array([repeat[0] for repeat in noisy_repeats(true_cost(L), 1, sigma=0.2, seed=4)])

    fitted = fit_scaling(L, costs).fits["overhead"].parameters

    def log_residuals(theta):
        c0, c1, k = theta
        return np.log(c0 + c1 * L**k) - np.log(costs)

    reference = min(
        (
            optimize.least_squares(
                log_residuals, start, bounds=([0, 0, -np.inf], np.inf), xtol=1e-14, ftol=1e-14
            )
            for start in ([0.5 * costs.min(), costs.min(), 1.0], [1e-12, costs.min(), 2.0])
        ),
        key=lambda result: result.cost,
    )
    ours = log_residuals([fitted["overhead"], fitted["scale"], fitted["depth_exponent"]])
    # Both solvers stop on tolerances: agree to a millionth of the cost.
    assert 0.5 * ours @ ours <= reference.cost * (1 + 1e-6)
