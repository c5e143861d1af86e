"""Threshold parsing and comparison arithmetic (field case C11 and its neighbours)."""

from decimal import Decimal

import pytest

from bench.thresholds import exceeds, falls_below, parse_limit, percent, ratio, to_decimal


@pytest.mark.parametrize(
    ("threshold", "bare", "limit"),
    [
        ("10%", "fraction", "1.10"),
        ("7.5%", "fraction", "1.075"),
        (" 7.5 % ", "fraction", "1.075"),
        ("0%", "fraction", "1"),
        ("0.1", "fraction", "1.1"),
        ("1.5x", "fraction", "1.5"),
        ("1.5X", "factor", "1.5"),
        ("1.5", "factor", "1.5"),
        ("1.5", "fraction", "2.5"),
        ("50%", "factor", "1.5"),
        (0.05, "fraction", "1.05"),
        (2, "factor", "2"),
    ],
)
def test_threshold_text_parses_to_ratio_limit(threshold, bare, limit):
    assert parse_limit(threshold, bare=bare) == Decimal(limit)


@pytest.mark.parametrize("threshold", ["", "%", "ten percent", "-5%", "10 %%", "1.5y", "nan"])
def test_unreadable_threshold_is_an_error_naming_the_option(threshold):
    with pytest.raises(ValueError, match="`--tolerance` must be a percentage like 10%"):
        parse_limit(threshold, name="--tolerance")


@pytest.mark.parametrize(("threshold", "bare"), [("0.5x", "fraction"), ("0.9", "factor")])
def test_factor_below_one_is_an_error(threshold, bare):
    with pytest.raises(ValueError, match="must be a factor >= 1"):
        parse_limit(threshold, bare=bare)


@pytest.mark.parametrize("threshold", [-0.1, float("nan"), float("inf")])
def test_negative_or_non_finite_number_is_an_error(threshold):
    with pytest.raises(ValueError, match="`threshold` must"):
        parse_limit(threshold)


def test_boolean_threshold_is_a_type_error():
    with pytest.raises(TypeError, match="`threshold` must be a number"):
        parse_limit(True)


def test_float_arithmetic_would_fail_exactly_ten_percent():
    # The trap of case C11, pinned so that the decimal comparison below is needed.
    assert 1.1 / 1.0 - 1 == 0.10000000000000009
    assert 1.1 / 1.0 - 1 > 0.1


@pytest.mark.parametrize(
    ("baseline", "current"),
    [
        (1.0, 1.1),  # C11: 1.0 ms against 1.1 ms
        (0.001, 0.0011),  # the same in seconds
        (1e-3, 1.1e-3),
        (3.0, 3.3),
        (0.7, 0.77),
        (100, 110),
        (250, 275),
    ],
)
def test_exactly_ten_percent_slower_does_not_fail_a_ten_percent_threshold(baseline, current):
    limit = parse_limit("10%")
    assert ratio(baseline, current, cell="c") == limit
    assert not exceeds(baseline, current, limit, cell="c")


@pytest.mark.parametrize(("baseline", "current"), [(1.0, 1.1000001), (100, 111), (0.001, 0.00111)])
def test_just_above_ten_percent_fails(baseline, current):
    assert exceeds(baseline, current, parse_limit("10%"), cell="c")


@pytest.mark.parametrize(
    ("current", "fails"), [(1.075, False), (1.0749, False), (1.0751, True), (1.08, True)]
)
def test_seven_and_a_half_percent_threshold_is_applied_as_written(current, fails):
    assert exceeds(1.0, current, parse_limit("7.5%"), cell="c") is fails


@pytest.mark.parametrize("baseline", [0, 0.0, -1.0])
def test_zero_or_negative_baseline_is_an_error_naming_the_cell(baseline):
    with pytest.raises(ValueError, match="baseline of naive w2 d3 must be a positive number"):
        exceeds(baseline, 1.1, parse_limit("10%"), cell="naive w2 d3")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_measurement_is_an_error(value):
    with pytest.raises(ValueError, match="current value of c must be a finite number"):
        ratio(1.0, value, cell="c")


@pytest.mark.parametrize(
    ("current", "below"),
    [(0.6667, False), (0.6666, True), (0.5, True), (1.0, False), (1.6, False)],
)
def test_falls_below_mirrors_the_limit(current, below):
    assert falls_below(1.0, current, parse_limit("1.5x"), cell="c") is below


def test_integers_compare_exactly():
    assert ratio(3, 4, cell="c") == Decimal(4) / Decimal(3)
    assert to_decimal("`x`", 2**60 + 1) == Decimal(2**60 + 1)


@pytest.mark.parametrize(("limit", "text"), [("1.075", "7.5%"), ("1.1", "10%"), ("1.5", "50%")])
def test_limit_prints_as_the_percentage_written(limit, text):
    assert percent(Decimal(limit)) == text
