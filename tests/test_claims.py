"""The seven claims: each verdict rule shown holding, failing and undecided on purpose-built
tables, the counts behind claim 3 against the cost formulas written out here, field case C08
(gradient descent on x^2) and C13 (too few depths to judge a growth class), and the claims
judged on a small real sweep. No assertion is made on a time.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.claims import (
    DOES_NOT_HOLD,
    HOLDS,
    NOT_MEASURED,
    SAME_GRADIENT_TOLERANCE,
    UNDECIDED,
    VERDICTS,
    Evidence,
    Sweep,
    about_level,
    claim_backprop_linear,
    claim_dataset_size,
    claim_finite_differences,
    claim_million,
    claim_naive_exponential,
    claim_quadratic,
    claim_same_gradient,
    count_ratio,
    fit_rate,
    is_affine,
    judge_claims,
)
from bench.experiments import dataset_size, fd_step, quadratic
from bench.sweep import RESULT_COLUMNS, TIMING_COLUMNS, SweepConfig, load_results, run_sweep
from gradients import get_provider

N_INPUTS, N_OUTPUTS = 64, 10
# Two repeats a depth keep the made-up sweeps on the fits' regression intervals: the
# bootstrap path (three repeats or more) is exercised by the real sweep and the rate fit.
N_REPEATS = 2
# Seconds per counted multiplication and per call, roughly those of the naive provider here.
S_PER_MULTIPLICATION = 3e-9
OVERHEAD_S = 2e-4


def layer_sizes(width: int, depth: int) -> tuple[int, ...]:
    return (N_INPUTS, *([width] * depth), N_OUTPUTS)


def model_multiplications(provider: str, width: int, depth: int) -> int:
    return get_provider(provider).predict_counts(layer_sizes(width, depth), 1).multiplications


def sweep_tables(lines: dict, *, sigma: float = 0.03, seed: int = 0):
    """(results, timings) of a made-up sweep.

    ``lines`` maps (provider, width) to (depths, counts, seconds): one count and one true
    time per depth; the timed repeats are the time times lognormal noise of ``sigma``.
    """
    rng = np.random.default_rng(seed)
    rows, timings = [], []
    for (provider, width), (depths, counts, seconds) in lines.items():
        for depth, count, true_s in zip(depths, counts, seconds, strict=True):
            repeats = true_s * rng.lognormal(0.0, sigma, N_REPEATS)
            row = dict.fromkeys(RESULT_COLUMNS, math.nan)
            row.update(
                provider=provider, width=width, depth=depth, batch_size=1,
                layer_sizes="-".join(map(str, layer_sizes(width, depth))),
                n_parameters=sum(o * (i + 1) for i, o in zip(layer_sizes(width, depth),
                                                             layer_sizes(width, depth)[1:])),
                status="ok", reason="", multiplications=count,
                predicted_multiplications=count, median_s=float(np.median(repeats)),
                iqr_s=float(np.subtract(*np.percentile(repeats, [75, 25]))),
                repeats=N_REPEATS, loops=1, seed=0, activation="tanh", data="digits",
                blas_threads=1, max_rel_diff=math.nan if provider == "backprop" else 2e-16,
            )  # fmt: skip
            rows.append(row)
            timings += [
                {"provider": provider, "width": width, "depth": depth, "repeat": i, "time_s": t}
                for i, t in enumerate(repeats)
            ]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS), pd.DataFrame(
        timings, columns=TIMING_COLUMNS
    )


def naive_line(width: int, depths) -> tuple:
    counts = [model_multiplications("naive", width, depth) for depth in depths]
    seconds = [OVERHEAD_S + S_PER_MULTIPLICATION * count for count in counts]
    return list(depths), counts, seconds


def backprop_line(width: int, depths) -> tuple:
    counts = [model_multiplications("backprop", width, depth) for depth in depths]
    seconds = [5e-5 + 1e-5 * depth for depth in depths]
    return list(depths), counts, seconds


NAIVE_DEPTHS = {2: range(1, 15), 3: range(1, 10), 4: range(1, 9)}


def realistic_sweep(**noise) -> Sweep:
    lines = {("naive", w): naive_line(w, depths) for w, depths in NAIVE_DEPTHS.items()}
    lines.update({("backprop", w): backprop_line(w, range(1, 25)) for w in NAIVE_DEPTHS})
    return Sweep(*sweep_tables(lines, **noise))


@pytest.fixture(scope="module")
def realistic() -> Sweep:
    return realistic_sweep()


# Claim 1


def test_naive_base_interval_contains_the_width_on_exponential_costs_with_overhead(realistic):
    claim = claim_naive_exponential(realistic)

    assert claim.verdict == HOLDS
    for width in (2, 3, 4):
        low, high = claim.values[width]["time_base_interval"]
        assert low <= width <= high
        assert high < width + 0.5 and low > width - 0.5
        # The raw per-layer factor includes the lengthening paths: above the width.
        assert claim.values[width]["time_factor"] > width


def test_naive_claim_does_not_hold_on_polynomial_costs():
    depths = range(1, 15)
    counts = [1000 * depth**3 for depth in depths]
    seconds = [OVERHEAD_S + 1e-7 * count for count in counts]
    sweep = Sweep(
        *sweep_tables({("naive", w): (list(depths), counts, seconds) for w in (2, 3, 4)})
    )

    claim = claim_naive_exponential(sweep)

    assert claim.verdict == DOES_NOT_HOLD


def test_naive_claim_is_undecided_on_three_depths_field_case_c13():
    # C13: on three depths an exponential fits L^2 with R^2 = 0.98; the claim must not guess.
    depths = [1, 2, 3]
    seconds = [float(depth**2) for depth in depths]
    lines = {("naive", w): (depths, [100 * d**2 for d in depths], seconds) for w in (2, 3, 4)}

    claim = claim_naive_exponential(Sweep(*sweep_tables(lines)))

    assert claim.verdict == UNDECIDED
    assert "at least 5" in claim.conditions


def test_naive_claim_without_widths_3_and_4_is_undecided_not_measured():
    sweep = Sweep(*sweep_tables({("naive", 2): naive_line(2, range(1, 15))}))

    claim = claim_naive_exponential(sweep)

    assert claim.verdict == UNDECIDED
    assert claim.not_measured
    assert "3, 4" in claim.conditions


def test_rate_fit_recovers_overhead_and_rate_and_predicts_the_depth_20_time():
    depths = np.arange(1, 15)
    counts = np.array([model_multiplications("naive", 2, depth) for depth in depths], float)
    truth = OVERHEAD_S + S_PER_MULTIPLICATION * counts
    rng = np.random.default_rng(3)

    fit = fit_rate(depths, counts, [t * rng.lognormal(0, 0.02, 7) for t in truth])
    at_20 = fit.predict(model_multiplications("naive", 2, 20), 20)

    assert fit.seconds_per_multiplication == pytest.approx(S_PER_MULTIPLICATION, rel=0.02)
    assert fit.overhead_s == pytest.approx(OVERHEAD_S, rel=0.1)
    assert at_20.extrapolated
    assert at_20.interval.contains(OVERHEAD_S + S_PER_MULTIPLICATION * 29_108_470_074)


# Claim 2


def test_backprop_claim_holds_on_affine_counts_and_linear_time(realistic):
    claim = claim_backprop_linear(realistic)

    assert claim.verdict == HOLDS
    assert all(entry["counts_affine"] for entry in claim.values.values())


def test_backprop_claim_does_not_hold_when_counts_are_not_affine():
    depths = list(range(1, 25))
    counts = [300 + 14 * depth + depth**2 for depth in depths]
    seconds = [5e-5 + 1e-5 * depth for depth in depths]

    claim = claim_backprop_linear(
        Sweep(*sweep_tables({("backprop", 2): (depths, counts, seconds)}))
    )

    assert claim.verdict == DOES_NOT_HOLD
    assert "not affine" in claim.conditions


def test_backprop_claim_does_not_hold_when_time_grows_exponentially():
    depths = list(range(1, 16))
    counts = [300 + 14 * depth for depth in depths]
    seconds = [1e-6 * 2.0**depth for depth in depths]

    claim = claim_backprop_linear(
        Sweep(*sweep_tables({("backprop", 2): (depths, counts, seconds)}))
    )

    assert claim.verdict == DOES_NOT_HOLD


def test_backprop_claim_does_not_hold_when_time_grows_quadratically():
    depths = list(range(1, 25))
    counts = [300 + 14 * depth for depth in depths]
    seconds = [5e-5 + 1e-6 * depth**2 for depth in depths]

    claim = claim_backprop_linear(
        Sweep(*sweep_tables({("backprop", 2): (depths, counts, seconds)}))
    )

    assert claim.verdict == DOES_NOT_HOLD


def test_backprop_claim_holds_at_one_width_though_another_cannot_tell():
    swept = sweep_tables({("backprop", 2): backprop_line(2, range(1, 25))})
    short = sweep_tables({("backprop", 3): backprop_line(3, range(1, 4))})
    sweep = Sweep(*(pd.concat(parts, ignore_index=True) for parts in zip(swept, short)))

    claim = claim_backprop_linear(sweep)

    assert claim.values[2]["verdict"] == HOLDS
    assert claim.values[3]["verdict"] == UNDECIDED
    assert claim.verdict == HOLDS


def test_backprop_claim_is_undecided_on_three_depths():
    depths = [1, 2, 3]
    sweep = Sweep(*sweep_tables({("backprop", 2): backprop_line(2, depths)}))

    assert claim_backprop_linear(sweep).verdict == UNDECIDED


@pytest.mark.parametrize(
    ("depths", "counts", "affine"),
    [
        ((1, 2, 3, 20, 64), (318, 332, 346, 584, 1200), True),  # 304 + 14 D, uneven depths
        ((1, 2, 3, 20, 64), (318, 332, 346, 585, 1200), False),
        ((1, 2, 4), (10, 20, 40), True),
        ((1, 2, 4), (10, 20, 41), False),
    ],
)
def test_counts_are_affine_only_when_every_point_is_on_one_line(depths, counts, affine):
    assert is_affine(depths, counts) is affine


# Claim 3


def naive_formula(sizes: tuple[int, ...], batch_size: int = 1) -> int:
    """The naive count written out from the derivation: for each weight matrix l, every
    unit j of layer l+1 and source (input unit or bias) of layer l, every path to an output
    costs 2 r + 1 multiplications (r weight matrices after W_l); plus one forward pass."""
    M = len(sizes) - 1
    total = 0
    for layer in range(M):
        r = M - 1 - layer
        n_paths = 1
        for size in sizes[layer + 2 :]:
            n_paths *= size
        total += sizes[layer + 1] * (sizes[layer] + 1) * n_paths * (2 * r + 1)
    forward = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return batch_size * (total + forward)


def backprop_formula(sizes: tuple[int, ...], batch_size: int = 1) -> int:
    """Forward pass, weight gradients, deltas through W and times f'(z)."""
    pairs = list(zip(sizes, sizes[1:]))
    forward = sum(a * b for a, b in pairs)
    through = sum(a * b for a, b in pairs[1:])
    derivative = sum(sizes[1:-1])
    return batch_size * (2 * forward + through + derivative)


def test_the_width_2_depth_20_ratio_in_counts_equals_the_formulas(realistic):
    sizes = layer_sizes(2, 20)

    claim = claim_million(realistic)

    assert claim.values["naive_count"] == naive_formula(sizes) == 29_108_470_074
    assert claim.values["backprop_count"] == backprop_formula(sizes) == 584
    assert claim.values["count_ratio"] == pytest.approx(29_108_470_074 / 584, rel=1e-15)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 8])
def test_count_ratio_equals_the_formulas_at_every_width(width):
    sizes = layer_sizes(width, 20)
    expected = naive_formula(sizes) / backprop_formula(sizes)
    assert count_ratio(width, 20, N_INPUTS, N_OUTPUTS, 1) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [
        (5e5, 2e6, HOLDS),
        (1e5, 1e7, HOLDS),
        (5e7, 5e7, DOES_NOT_HOLD),
        (1e3, 5e4, DOES_NOT_HOLD),
        (5e4, 5e5, UNDECIDED),
        (2e6, math.inf, UNDECIDED),
        (math.nan, 1e6, UNDECIDED),
    ],
)
def test_about_a_million_means_within_a_factor_ten(low, high, verdict):
    assert about_level(low, high) == verdict


def test_the_depth_20_time_ratio_is_marked_extrapolated_unless_naive_ran_there(realistic):
    extrapolated = claim_million(realistic)

    depths = range(1, 21)
    lines = {("naive", 2): naive_line(2, depths), ("backprop", 2): backprop_line(2, depths)}
    measured = claim_million(Sweep(*sweep_tables(lines)))

    assert extrapolated.values["time_ratio_extrapolated"] is True
    assert measured.values["time_ratio_extrapolated"] is False
    low, high = measured.values["time_ratio_interval"]
    assert low <= measured.values["time_ratio"] <= high


def test_the_ratio_in_counts_is_undecided_when_the_cost_model_differs_from_a_counter():
    lines = {
        ("naive", 2): naive_line(2, range(1, 15)),
        ("backprop", 2): backprop_line(2, range(1, 25)),
    }
    results, timings = sweep_tables(lines)
    results.loc[0, "multiplications"] += 1

    claim = claim_million(Sweep(results, timings))

    assert claim.values["cost_model_differences"] == 1
    assert claim.values["count_verdict"] == UNDECIDED
    assert "DIFFERS" in claim.measured


# Claim 4


@pytest.mark.parametrize(
    ("difference", "verdict"),
    [
        (3e-16, HOLDS),
        (SAME_GRADIENT_TOLERANCE, HOLDS),
        (1e-6, DOES_NOT_HOLD),
        (math.nan, DOES_NOT_HOLD),
    ],
)
def test_same_gradient_verdict_follows_the_largest_difference(difference, verdict):
    results, _ = sweep_tables({("naive", 2): naive_line(2, range(1, 6))})
    results.loc[2, "max_rel_diff"] = difference

    assert claim_same_gradient(results).verdict == verdict


def test_same_gradient_is_undecided_when_no_naive_cell_ran():
    results, _ = sweep_tables({("backprop", 2): backprop_line(2, range(1, 6))})

    claim = claim_same_gradient(results)

    assert claim.verdict == UNDECIDED and claim.not_measured


# Claim 5


@pytest.fixture(scope="module")
def fd_steps() -> pd.DataFrame:
    return fd_step.run(steps=(1e-2, 1e-4, 1e-6, 1e-8), n_samples=10, dtypes=("float64",))


def fd_sweep() -> Sweep:
    lines = {("backprop", 2): backprop_line(2, range(1, 6))}
    for name in ("fd-forward", "fd-central"):
        depths = list(range(1, 6))
        counts = [model_multiplications(name, 2, depth) for depth in depths]
        lines[(name, 2)] = (depths, counts, [1e-3 * depth for depth in depths])
    results, timings = sweep_tables(lines)
    P = results["n_parameters"]
    results["loss_evaluations"] = np.where(
        results["provider"] == "fd-forward",
        P + 1,
        np.where(results["provider"] == "fd-central", 2 * P, 1),
    )
    return Sweep(results, timings)


def test_finite_differences_claim_holds_on_exact_counts_and_approximate_errors(fd_steps):
    claim = claim_finite_differences(fd_sweep(), fd_steps, exact_difference=3e-16)

    assert claim.verdict == HOLDS
    assert claim.values["count_mismatches"] == []


def test_finite_differences_claim_does_not_hold_when_a_count_is_off(fd_steps):
    sweep = fd_sweep()
    sweep.results.loc[sweep.results["provider"] == "fd-central", "loss_evaluations"] += 1

    claim = claim_finite_differences(sweep, fd_steps)

    assert claim.verdict == DOES_NOT_HOLD
    assert "loss evaluations, not" in claim.conditions


def test_finite_differences_claim_does_not_hold_when_an_error_is_at_rounding_level(fd_steps):
    exact_like = fd_steps.assign(error=np.where(fd_steps["provider"] == "backprop", 0.0, 1e-17))

    claim = claim_finite_differences(fd_sweep(), exact_like, exact_difference=3e-16)

    assert claim.verdict == DOES_NOT_HOLD


def test_finite_differences_claim_without_the_step_experiment_is_undecided_not_measured():
    claim = claim_finite_differences(fd_sweep(), None)

    assert claim.verdict == UNDECIDED and claim.not_measured


# Claim 6 (field case C08)


@pytest.fixture(scope="module")
def c08() -> pd.DataFrame:
    return quadratic.run(rates=(0.1, 0.5, 0.9, 1.0, 1.1), x0=10.0)


def test_gradient_descent_on_x_squared_holds_with_the_values_of_field_case_c08(c08):
    claim = claim_quadratic(c08)
    values = claim.values

    assert claim.verdict == HOLDS
    assert values[0.1]["x_10"] == pytest.approx(1.0737418240, rel=1e-9)  # 10 * 0.8^10
    assert values[0.5]["x_10"] == 0.0
    assert abs(values[0.9]["x_10"]) == pytest.approx(1.0737418240, rel=1e-9)
    assert abs(values[1.0]["x_10"]) == 10.0
    assert values[1.1]["x_10"] == pytest.approx(61.917364224, rel=1e-9)  # 10 * 1.2^10
    # x_k = 10 * 1.2^k, so x_k^2 passes the float64 maximum near k = 1,935.
    assert 1925 <= values[1.1]["non_finite_loss_at_update"] <= 1940


def test_gradient_descent_claim_does_not_hold_when_rate_1_converges(c08):
    relabelled = c08[c08["learning_rate"] != 1.0].copy()
    relabelled.loc[relabelled["learning_rate"] == 0.9, "learning_rate"] = 1.0

    claim = claim_quadratic(relabelled)

    assert claim.verdict == DOES_NOT_HOLD
    assert "rate 1 converges" in claim.conditions


def test_gradient_descent_claim_is_undecided_without_a_rate_above_1(c08):
    claim = claim_quadratic(c08[c08["learning_rate"] <= 1.0])

    assert claim.verdict == UNDECIDED and claim.not_measured


# Claim 7


def update_costs(sgd_s, gd_s, sizes=(100, 300, 1000, 3000, 10000)) -> pd.DataFrame:
    rows = []
    for n, sgd, gd in zip(sizes, sgd_s, gd_s, strict=True):
        for method, seconds, count in (
            (dataset_size.SGD, sgd, 1000),
            (dataset_size.GD, gd, 1000 * n),
        ):
            rows.append({"method": method, "n_samples": n, "multiplications": count,
                         "median_s": seconds, "min_s": seconds,
                         "layer_sizes": "20-16-16-1"})  # fmt: skip
    return pd.DataFrame(rows)


SIZES = np.array([100, 300, 1000, 3000, 10000])
WOBBLE = np.array([1.0, 1.03, 0.98, 1.01, 0.99])


@pytest.mark.parametrize(
    ("sgd_s", "gd_s", "verdict"),
    [
        (2e-5 * WOBBLE, 1e-7 * SIZES * WOBBLE, HOLDS),
        (2e-5 * WOBBLE, 1e-4 * WOBBLE, DOES_NOT_HOLD),  # GD as cheap at every size
        (2e-5 * WOBBLE * np.array([1, 9, 0.3, 5, 1]), 1e-7 * SIZES * WOBBLE, UNDECIDED),
    ],
)
def test_update_cost_verdict_follows_the_log_log_slopes(sgd_s, gd_s, verdict):
    assert claim_dataset_size(update_costs(sgd_s, gd_s)).verdict == verdict


def test_update_cost_claim_without_its_experiment_is_undecided_not_measured():
    claim = claim_dataset_size(None)

    assert claim.verdict == UNDECIDED and claim.not_measured


# A small real sweep


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("tiny-run")
    config = SweepConfig(
        providers=("backprop", "naive", "fd-forward", "fd-central"), widths=(2, 3),
        depths=(1, 2, 3, 4, 5), budget_s=0.05, repeats=3, min_measure_s=1e-4, warmup_s=0.0,
        min_sampling_s=0.0,
    )  # fmt: skip
    run_sweep(config, folder)
    results, timings, _ = load_results(folder)
    return results, timings


def test_every_counted_multiplication_of_a_real_sweep_equals_the_formulas(tiny_run):
    results, _ = tiny_run
    ok = results[results["status"] == "ok"]
    formulas = {"naive": naive_formula, "backprop": backprop_formula}

    for row in ok[ok["provider"].isin(formulas)].itertuples(index=False):
        sizes = tuple(int(size) for size in row.layer_sizes.split("-"))
        assert row.multiplications == formulas[row.provider](sizes), row.layer_sizes
    assert len(ok[ok["provider"] == "naive"]) >= 6


def test_the_seven_claims_judged_on_a_real_sweep_without_experiments(tiny_run):
    claims = judge_claims(Evidence(*tiny_run))

    assert [claim.number for claim in claims] == [1, 2, 3, 4, 5, 6, 7]
    assert all(claim.verdict in VERDICTS for claim in claims)
    assert claims[3].verdict == HOLDS  # naive and backprop agree to rounding
    assert claims[0].not_measured  # width 4 is not in this sweep
    for claim in claims[4:]:
        assert claim.verdict == UNDECIDED
        assert claim.conditions.startswith(NOT_MEASURED)
    million = claims[2]
    assert million.values["cost_model_differences"] == 0
    assert million.values["time_ratio_extrapolated"] is True


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (-0.03, -0.01, "holds"),  # tight, just below 0: still flat within the margin
        (0.3, 0.5, "does not hold"),  # clearly growing: not the claimed flat class
        (-0.2, 1.2, "undecided"),  # holds both 0 and 1
    ],
)
def test_a_time_slope_counts_as_flat_within_a_margin_of_zero(low, high, expected):
    from bench.claims.training import judge_slope

    verdict, _ = judge_slope({"slope": 0.0}, {"low": low, "high": high}, 0.0, 1.0)
    assert verdict == expected
