"""The gate's comparisons with the baseline: one function per layer, and the notice rows.

For: layers 1 to 4 as rows of the verdict table, machine differences as warnings, and
providers the baseline holds that this run did not measure.
Not for: measuring (``bench.check.measure``, ``bench.check.instructions``) or layer 2's
bounds (``bench.check.shape``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from bench import thresholds
from bench.check.baseline import Baseline
from bench.check.grid import WIDTH
from bench.check.instructions import InstructionCount
from bench.check.measure import REMEASURE_ATTEMPTS, Measurement
from bench.check.shape import SHAPE_RULES, shape_row
from bench.check.verdicts import (
    FAIL,
    INSTRUCTIONS_METRIC,
    NEW,
    NOT_MEASURED,
    OK,
    REMEASURED,
    TIME_METRIC,
    WARNING,
    Row,
    limit_verdict,
)
from bench.metadata import COMPARED_FIELDS, blas_summary
from bench.metadata import field as metadata_field


def compare_work(baseline: Baseline, measurements: Sequence[Measurement]) -> list[Row]:
    """Layer 1: counts equal the baseline's exactly; a change either way fails."""
    rows = []
    for now in measurements:
        before = baseline.cells.get(now.provider, {}).get((now.width, now.depth))
        for metric in ("multiplications", "loss_evaluations"):
            value = getattr(now, metric)
            if before is None:
                rows.append(Row("work", now.cell, metric, None, value, None, NEW))
                continue
            expected = getattr(before, metric)
            # Equality needs no ratio; a count of zero (a provider of one's own) has none.
            ratio = float(thresholds.ratio(expected, value, cell=now.cell)) if expected else None
            verdict = OK if value == expected else FAIL
            rows.append(Row("work", now.cell, metric, expected, value, ratio, verdict))
    return rows


def compare_shape(baseline: Baseline, measurements: Sequence[Measurement]) -> list[Row]:
    """Layer 2: each provider's fitted growth, on the depths that both runs measured."""
    rows = []
    for provider, rules in SHAPE_RULES.items():
        now = {m.depth: m for m in measurements if m.provider == provider and m.width == WIDTH}
        cells = baseline.cells.get(provider, {}).items()
        before = {depth: m for (width, depth), m in cells if width == WIDTH}
        depths = sorted(now.keys() & before.keys()) or sorted(now)
        if len(depths) < 4:  # the overhead model has three parameters
            continue
        label = f"{provider} w{WIDTH} d{depths[0]}-{depths[-1]}"
        for rule in rules:
            value = rule.statistic(depths, [getattr(now[depth], rule.on) for depth in depths])
            reference = None
            if all(depth in before for depth in depths):
                reference = rule.statistic(
                    depths, [getattr(before[depth], rule.on) for depth in depths]
                )
            rows.append(shape_row(label, rule, value, reference))
    return rows


def compare_time(
    baseline: Baseline,
    measurements: Sequence[Measurement],
    tolerance: Decimal,
    remeasure: Callable[[Measurement], Measurement],
) -> tuple[list[Row], list[Measurement]]:
    """Layer 3: time / forward time against the baseline's; flagged cells measured again.

    A flagged cell keeps the smallest ratio of its measurements, so that it fails only when
    the slowdown is there every time. Returns the rows and the measurements kept.
    """
    rows, final = [], []
    metric = TIME_METRIC
    for now in measurements:
        before = baseline.cells.get(now.provider, {}).get((now.width, now.depth))
        if before is None:
            rows.append(Row("time", now.cell, metric, None, now.time_ratio, None, NEW))
            final.append(now)
            continue
        suffix = ""
        for _ in range(REMEASURE_ATTEMPTS):
            if not thresholds.exceeds(before.time_ratio, now.time_ratio, tolerance, cell=now.cell):
                break
            again, suffix = remeasure(now), REMEASURED
            now = min(now, again, key=lambda measurement: measurement.time_ratio)
        final.append(now)
        ratio = thresholds.ratio(before.time_ratio, now.time_ratio, cell=now.cell)
        verdict = limit_verdict(ratio, tolerance) + suffix
        rows.append(
            Row("time", now.cell, metric, before.time_ratio, now.time_ratio, float(ratio), verdict)
        )
    return rows, final


def compare_instructions(
    baseline: Baseline, counts: Sequence[InstructionCount], tolerance: Decimal
) -> list[Row]:
    """Layer 4: instructions per gradient, at most ``tolerance`` times the baseline's."""
    rows = []
    metric = INSTRUCTIONS_METRIC
    for now in counts:
        before = baseline.instructions.get(now.provider, {}).get((now.width, now.depth))
        if before is None:
            rows.append(Row("instructions", now.cell, metric, None, now.per_gradient, None, NEW))
            continue
        ratio = thresholds.ratio(before.per_gradient, now.per_gradient, cell=now.cell)
        verdict = limit_verdict(ratio, tolerance)
        rows.append(
            Row("instructions", now.cell, metric, before.per_gradient, now.per_gradient,
                float(ratio), verdict)
        )  # fmt: skip
    return rows


def compare_machines(baseline_metadata: dict, metadata: dict) -> list[Row]:
    """Warnings where the machine or software differs in what changes timings.

    Only the fields of ``bench.metadata.COMPARED_FIELDS`` are compared, so volatile ones
    (host name, current CPU frequency, start time) never raise a warning.
    """
    rows = []
    for dotted, description in COMPARED_FIELDS.items():
        before, now = metadata_field(baseline_metadata, dotted), metadata_field(metadata, dotted)
        if dotted == "numpy.blas":
            before, now = "; ".join(blas_summary(before)), "; ".join(blas_summary(now))
        if before != now:
            rows.append(Row("machine", "machine", description, before, now, None, WARNING))
    return rows


def providers_not_measured(baseline: Baseline, providers: Sequence[str]) -> list[Row]:
    """Providers in the baseline that this run did not measure: reported, never failed."""
    return [
        Row("cells", name, "cells", len(cells), None, None, NOT_MEASURED)
        for name, cells in baseline.cells.items()
        if name not in providers
    ]
