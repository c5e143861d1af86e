"""Tests of the timing loop, on a simulated clock where each call costs a known time."""

import gc
import re
from types import SimpleNamespace

import pytest
from threadpoolctl import threadpool_info

from bench import timing
from bench.timing import (
    Timing,
    blas_info,
    calibrate_loops,
    interleaved,
    loop_counts,
    measure,
    single_thread_blas,
    time_callable,
)


class SimulatedClock:
    """A clock that moves only when a simulated call is made, by that call's cost."""

    def __init__(self):
        self.now_s = 0.0
        self.calls: list[str] = []

    def perf_counter(self) -> float:
        return self.now_s

    def callable_costing(self, cost_s: float, name: str = "fn"):
        def call():
            self.now_s += cost_s
            self.calls.append(name)

        return call


@pytest.fixture
def clock(monkeypatch) -> SimulatedClock:
    simulated = SimulatedClock()
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=simulated.perf_counter))
    return simulated


def test_timing_statistics_match_worked_values():
    result = Timing(samples_s=(5.0, 1.0, 4.0, 2.0, 3.0), loops=10)

    # numpy's default (linear) percentiles of 1..5: 25th = 2, 75th = 4.
    assert result.median_s == 3.0
    assert result.iqr_s == 2.0
    assert result.min_s == 1.0
    assert result.mean_s == 3.0
    assert result.n_repeats == 5


def test_timing_refuses_no_samples():
    with pytest.raises(ValueError, match="`samples_s` must hold at least one sample"):
        Timing(samples_s=(), loops=1)


def test_loop_counts_follow_one_two_five_series():
    counts = loop_counts()

    assert [next(counts) for _ in range(8)] == [1, 2, 5, 10, 20, 50, 100, 200]


@pytest.mark.parametrize(
    ("cost_s", "min_measure_s", "expected_loops"),
    [
        (5e-3, 2e-3, 1),
        (1.5e-3, 2e-3, 2),
        (3e-4, 2e-3, 10),
        (3e-7, 2e-3, 10_000),
        # Runs shorter than RELIABLE_TICKS clock ticks predict nothing; every count is tried.
        (3e-10, 2e-6, 10_000),
    ],
)
def test_calibration_picks_smallest_count_lasting_min_measure(
    clock, cost_s, min_measure_s, expected_loops
):
    fn = clock.callable_costing(cost_s)

    assert calibrate_loops(fn, min_measure_s) == expected_loops


def test_calibration_skips_counts_predicted_too_short(clock):
    fn = clock.callable_costing(3e-4)

    calibrate_loops(fn, 2e-3)

    # One call predicts 0.3 ms per call, so 2 and 5 loops are skipped and 10 is run.
    assert len(clock.calls) == 1 + 10


def test_time_callable_runs_warmup_calibration_then_repeats(clock):
    fn = clock.callable_costing(3e-4)

    result = time_callable(fn, repeats=4, warmup=2, min_measure_s=2e-3)

    assert result.loops == 10
    assert result.n_repeats == 4
    assert result.samples_s == pytest.approx((3e-4,) * 4)
    assert len(clock.calls) == 2 + (1 + 10) + 4 * 10


def test_time_callable_with_given_loops_skips_calibration(clock):
    fn = clock.callable_costing(1e-6)

    result = time_callable(fn, repeats=3, warmup=0, loops=7)

    assert result.loops == 7
    assert result.samples_s == pytest.approx((1e-6,) * 3)
    assert len(clock.calls) == 3 * 7


def set_collector(enabled: bool):
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_measure_runs_with_collector_off_and_restores_it(enabled_before):
    seen = []
    was_enabled = gc.isenabled()
    set_collector(enabled_before)
    try:
        measure(lambda: seen.append(gc.isenabled()), 3)

        assert seen == [False, False, False]
        assert gc.isenabled() is enabled_before
    finally:
        set_collector(was_enabled)


def test_measure_restores_collector_when_callable_raises():
    def failing():
        raise RuntimeError("inside the timed call")

    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="inside the timed call"):
        measure(failing, 5)
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"repeats": 0}, ValueError, "`repeats` must be an integer >= 1, got 0"),
        ({"repeats": 2.5}, TypeError, "`repeats` must be an integer >= 1, got 2.5"),
        ({"warmup": -1}, ValueError, "`warmup` must be an integer >= 0, got -1"),
        ({"min_measure_s": 0.0}, ValueError, "`min_measure_s` must be a positive finite"),
        ({"min_measure_s": float("inf")}, ValueError, "`min_measure_s` must be a positive"),
        ({"loops": 0}, ValueError, "`loops` must be an integer >= 1, got 0"),
        ({"loops": True}, TypeError, "`loops` must be an integer >= 1, got True"),
    ],
)
def test_time_callable_names_the_bad_option(options, error, message):
    with pytest.raises(error, match=re.escape(message)):
        time_callable(lambda: None, **options)


def test_time_callable_refuses_non_callable():
    with pytest.raises(TypeError, match="`fn` must be callable, got 3"):
        time_callable(3)


def test_interleaved_rotates_order_each_round(clock):
    timers = {name: clock.callable_costing(5e-3, name) for name in "abc"}

    results = interleaved(timers, rounds=4, warmup=0, min_measure_s=2e-3)

    calibration, rounds = clock.calls[:3], clock.calls[3:]
    assert calibration == ["a", "b", "c"]
    assert rounds == list("abc" + "bca" + "cab" + "abc")
    assert {name: result.n_repeats for name, result in results.items()} == dict.fromkeys("abc", 4)


def test_interleaved_calibrates_each_callable_once(clock):
    timers = {
        "slow": clock.callable_costing(3e-4, "slow"),
        "fast": clock.callable_costing(3e-7, "fast"),
    }

    results = interleaved(timers, rounds=2, warmup=0, min_measure_s=2e-3)

    assert results["slow"].loops == 10
    assert results["fast"].loops == 10_000
    assert results["slow"].samples_s == pytest.approx((3e-4, 3e-4))
    assert results["fast"].samples_s == pytest.approx((3e-7, 3e-7))


@pytest.mark.parametrize(
    ("timers", "error", "message"),
    [
        ({}, ValueError, "`timers` must be a non-empty dict"),
        ({"x": 1}, TypeError, "`timers\\['x'\\]` must be callable"),
    ],
)
def test_interleaved_refuses_bad_timers(timers, error, message):
    with pytest.raises(error, match=message):
        interleaved(timers, rounds=1)


def test_interleaved_names_bad_rounds():
    with pytest.raises(ValueError, match="`rounds` must be an integer >= 1, got 0"):
        interleaved({"x": lambda: None}, rounds=0)


def test_blas_info_describes_loaded_pools_without_paths():
    libraries = blas_info()

    assert len(libraries) == len(threadpool_info())
    for name, described in libraries.items():
        assert "/" not in name and "\\" not in name
        assert "filepath" not in described
        assert {"internal_api", "version", "num_threads", "filename"} <= described.keys()


def test_single_thread_blas_pins_every_pool_and_restores_it():
    before = [info["num_threads"] for info in threadpool_info()]

    with single_thread_blas() as pinned:
        inside = [info["num_threads"] for info in threadpool_info()]

    assert inside == [1] * len(before)
    assert [threadpool["threads_after"] for threadpool in pinned.values()] == inside
    assert [threadpool["threads_before"] for threadpool in pinned.values()] == before
    assert [info["num_threads"] for info in threadpool_info()] == before


def test_samples_continue_until_they_span_min_total_s_or_reach_max_repeats():
    import time as real_time

    from bench.timing import time_callable

    timing = time_callable(
        lambda: real_time.sleep(0.001), repeats=3, loops=1, min_total_s=0.03, max_repeats=200
    )

    assert timing.n_repeats >= 3
    assert sum(timing.samples_s) * timing.loops >= 0.03


def test_max_repeats_caps_the_samples_that_min_total_s_asks_for():
    from bench.timing import time_callable

    timing = time_callable(lambda: None, repeats=2, loops=1, min_total_s=60.0, max_repeats=5)

    assert timing.n_repeats == 5


def test_max_repeats_below_repeats_is_refused():
    import pytest

    from bench.timing import time_callable

    with pytest.raises(ValueError, match="`max_repeats`"):
        time_callable(lambda: None, repeats=9, max_repeats=5)
