"""Time a callable: warm-up, a calibrated loop count, then repeated measurements.

For: wall-clock seconds per call of a zero-argument callable, as a ``Timing`` of repeated
samples with median, interquartile range and minimum; several callables timed in interleaved
rounds so that slow drift of the machine hits all of them alike; pinning BLAS and OpenMP to
one thread and describing the thread pools that were loaded.
Not for: statistics beyond a single timing, fitting costs against depth, or saving results.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from gradients.validation import check_positive_finite, check_positive_int

CLOCK_RESOLUTION_S = time.get_clock_info("perf_counter").resolution

# Loop counts run 1, 2, 5, 10, 20, 50, ... as in a 1-2-5 series of instrument ranges.
LOOP_MANTISSAS = (1, 2, 5)

# A calibration run shorter than this many clock ticks says little about the cost of one
# call, so the next loop count is not allowed to jump further than one step of the series.
RELIABLE_TICKS = 1000

# Keys of threadpoolctl's description worth recording; the file path is reduced to names.
LIBRARY_FIELDS = ("user_api", "internal_api", "prefix", "version", "threading_layer")


@dataclass(frozen=True)
class Timing:
    """Seconds per call, one sample per repeat, each the mean over ``loops`` calls."""

    samples_s: tuple[float, ...]
    loops: int
    resolution_s: float = CLOCK_RESOLUTION_S

    def __post_init__(self):
        samples_s = tuple(float(sample) for sample in self.samples_s)
        if not samples_s:
            raise ValueError("`samples_s` must hold at least one sample, got none")
        object.__setattr__(self, "samples_s", samples_s)
        check_positive_int("loops", self.loops)

    @property
    def n_repeats(self) -> int:
        return len(self.samples_s)

    @property
    def median_s(self) -> float:
        return float(np.median(self.samples_s))

    @property
    def iqr_s(self) -> float:
        q25, q75 = np.percentile(self.samples_s, [25, 75])
        return float(q75 - q25)

    @property
    def min_s(self) -> float:
        return min(self.samples_s)

    @property
    def mean_s(self) -> float:
        return float(np.mean(self.samples_s))


def loop_counts() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, ... without end."""
    scale = 1
    while True:
        for mantissa in LOOP_MANTISSAS:
            yield mantissa * scale
        scale *= 10


@contextmanager
def garbage_collector_off() -> Iterator[None]:
    """Disable the cyclic garbage collector, restoring its prior state even on error."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def measure(fn: Callable[[], object], loops: int) -> float:
    """Total seconds of ``loops`` calls of ``fn``, with the collector off.

    A collection starts whenever allocations pass a threshold, so with the collector on its
    pause lands in whichever sample happens to cross it and widens the spread; arrays are
    freed by reference counting either way.
    """
    timer = time.perf_counter
    iterations = range(loops)
    with garbage_collector_off():
        start = timer()
        for _ in iterations:
            fn()
        stop = timer()
    return stop - start


def calibrate_loops(fn: Callable[[], object], min_measure_s: float) -> int:
    """Smallest count in 1, 2, 5, 10, ... whose ``loops`` calls last at least ``min_measure_s``.

    Each run long enough to trust gives a cost per call, and counts that this cost predicts
    to be too short are skipped rather than run. None of these runs is kept as a sample.
    """
    per_call_s = 0.0
    counts = loop_counts()
    while True:
        loops = next(counts)
        if 0.0 < per_call_s * loops < min_measure_s:
            continue
        elapsed_s = measure(fn, loops)
        if elapsed_s >= min_measure_s:
            return loops
        if elapsed_s >= RELIABLE_TICKS * CLOCK_RESOLUTION_S:
            per_call_s = elapsed_s / loops


def check_timing_options(warmup: object, min_measure_s: object, loops: object) -> None:
    check_positive_int("warmup", warmup, minimum=0)
    check_positive_finite("min_measure_s", min_measure_s)
    if loops is not None:
        check_positive_int("loops", loops)


def time_callable(
    fn: Callable[[], object],
    *,
    repeats: int = 7,
    warmup: int = 1,
    min_measure_s: float = 0.002,
    loops: int | None = None,
    warmup_s: float = 0.0,
    min_total_s: float = 0.0,
    max_repeats: int = 50,
) -> Timing:
    """Seconds per call of ``fn``: ``warmup`` unmeasured calls, then ``repeats`` samples.

    Without ``loops``, the count is calibrated so one sample lasts at least ``min_measure_s``,
    far above the clock's resolution; the calibration runs are not counted as samples.
    ``warmup_s`` keeps warming up until that many seconds have passed: on the shared virtual
    machines here a process that was idle runs at about half speed for its first tens of
    milliseconds, and a count of calls cannot know how long that is.
    ``min_total_s`` takes more samples (up to ``max_repeats``) until they span that long: the
    same machines slow down by half for spells of up to about 0.1 s, and a median is only
    robust to a spell that covers fewer than half of its samples.
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {fn!r}")
    check_positive_int("repeats", repeats)
    check_timing_options(warmup, min_measure_s, loops)

    for _ in range(warmup):
        fn()
    if warmup_s:
        warm_until = time.perf_counter() + check_positive_finite("warmup_s", warmup_s)
        while time.perf_counter() < warm_until:
            fn()

    if loops is None:
        loops = calibrate_loops(fn, min_measure_s)

    check_positive_int("max_repeats", max_repeats, minimum=repeats)
    samples_s, spent_s = [], 0.0
    while len(samples_s) < repeats or (spent_s < min_total_s and len(samples_s) < max_repeats):
        elapsed_s = measure(fn, loops)
        samples_s.append(elapsed_s / loops)
        spent_s += elapsed_s
    return Timing(samples_s=tuple(samples_s), loops=loops)


def interleaved(
    timers: dict[str, Callable[[], object]],
    *,
    rounds: int = 7,
    warmup: int = 1,
    min_measure_s: float = 0.002,
) -> dict[str, Timing]:
    """Time several callables in rounds, each round one sample of each, order rotated.

    Drift of the machine (another job starting, the CPU clocking down) then lands on every
    callable alike instead of on whichever was timed last. Loop counts are calibrated once
    per callable, before the first round.
    """
    if not isinstance(timers, dict) or not timers:
        raise ValueError(f"`timers` must be a non-empty dict of name to callable, got {timers!r}")
    for name, fn in timers.items():
        if not callable(fn):
            raise TypeError(f"`timers[{name!r}]` must be callable, got {fn!r}")
    check_positive_int("rounds", rounds)
    check_timing_options(warmup, min_measure_s, None)

    names = list(timers)
    for name in names:
        for _ in range(warmup):
            timers[name]()
    loops = {name: calibrate_loops(timers[name], min_measure_s) for name in names}

    samples_s: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples_s[name].append(measure(timers[name], loops[name]) / loops[name])

    return {name: Timing(samples_s=tuple(samples_s[name]), loops=loops[name]) for name in names}


def loop_overhead_s(loops: int = 100_000, repeats: int = 7) -> float:
    """Median seconds per call that the loop itself adds: ``measure`` of an empty function."""
    check_positive_int("loops", loops)
    check_positive_int("repeats", repeats)

    def empty():
        pass

    return float(np.median([measure(empty, loops) / loops for _ in range(repeats)]))


def describe_library(info: dict) -> dict:
    """The essentials of one threadpoolctl entry, with its file path cut to two names."""
    described = {key: info[key] for key in LIBRARY_FIELDS if key in info}
    described["num_threads"] = info.get("num_threads")
    for key in ("architecture", "corearch"):
        if key in info:
            described["architecture"] = info[key]
    path = PurePath(info.get("filepath", ""))
    described["filename"] = path.name
    # The folder's name (numpy.libs, scipy.libs) tells which package shipped the library.
    described["folder"] = path.parent.name
    return described


def library_key(described: dict, taken: dict) -> str:
    """A unique name for a library: its file name, numbered if loaded twice under one name."""
    key = described["filename"] or described.get("prefix", "library")
    number = 2
    unique = key
    while unique in taken:
        unique = f"{key}#{number}"
        number += 1
    return unique


def blas_info() -> dict[str, dict]:
    """Thread pools loaded in this process (BLAS, OpenMP), by library file name."""
    libraries: dict[str, dict] = {}
    for info in threadpool_info():
        described = describe_library(info)
        libraries[library_key(described, libraries)] = described
    return libraries


@contextmanager
def single_thread_blas() -> Iterator[dict[str, dict]]:
    """Pin every loaded BLAS and OpenMP pool to one thread; yield what was pinned.

    The dict maps each library's file name to its description with ``threads_before`` and
    ``threads_after``. Import numpy, scipy and anything else that loads a pool before entering.
    """
    # NOTE: threadpoolctl limits only libraries already loaded; one loaded inside the block
    # keeps its default thread count. Re-applying the limit after each import would fix it.
    before = blas_info()
    with threadpool_limits(limits=1):
        after = blas_info()
        pinned = {}
        for key, described in after.items():
            threads_before = before.get(key, {}).get("num_threads")
            entry = {name: value for name, value in described.items() if name != "num_threads"}
            entry["threads_before"] = threads_before
            entry["threads_after"] = described["num_threads"]
            pinned[key] = entry
        yield pinned
