"""Claim 5: finite differences cost about P forward passes and are only approximate.

For: the counted loss evaluations of the finite-difference providers against P + 1 and 2P,
their time relative to backprop, and their best error over the steps of ``fd_step`` against
the exact methods' disagreement.
Not for: running the step experiment (``bench.experiments.fd_step``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from bench.claims.claim import DOES_NOT_HOLD, HOLDS, NOT_MEASURED, UNDECIDED, Claim
from bench.claims.estimates import Estimate, measured_time, ratio_of
from bench.claims.rules import APPROXIMATE_FACTOR, HEADLINE_WIDTH
from bench.claims.sweep_fits import Sweep
from bench.experiments import fd_step
from bench.scaling import measured

FLOAT64_EPS = float(np.finfo(np.float64).eps)
# Loss evaluations one gradient of P parameters takes: P + 1 one-sided, 2P central.
FD_LOSS_EVALUATIONS: dict[str, Callable[[int], int]] = {
    "fd-forward": lambda n_parameters: n_parameters + 1,
    "fd-central": lambda n_parameters: 2 * n_parameters,
}


def fd_count_mismatches(frame: pd.DataFrame) -> tuple[int, list[str]]:
    """(networks checked, descriptions of loss-evaluation counts that differ from P+1 / 2P)."""
    checked, mismatches = 0, []
    for name, expected in FD_LOSS_EVALUATIONS.items():
        rows = frame[frame["provider"] == name]
        if "status" in rows:
            rows = rows[rows["status"] == "ok"]
        for row in rows.itertuples(index=False):
            checked += 1
            want = expected(int(row.n_parameters))
            if int(row.loss_evaluations) != want:
                mismatches.append(
                    f"{name} at P = {int(row.n_parameters)}: {int(row.loss_evaluations)} "
                    f"loss evaluations, not {want}"
                )
    return checked, mismatches


def fd_time_ratios(sweep: Sweep, provider: str, width: int) -> dict[int, Estimate]:
    """Seconds of a finite-difference gradient over backprop's, per depth both ran."""
    ratios = {}
    depths, _ = sweep.samples(provider, width)
    for depth in depths:
        numerator = measured_time(sweep, provider, width, int(depth))
        denominator = measured_time(sweep, "backprop", width, int(depth))
        if numerator is not None and denominator is not None:
            ratios[int(depth)] = ratio_of(numerator, denominator, names=(provider, "backprop"))
    return ratios


def claim_finite_differences(
    sweep: Sweep,
    fd_steps: pd.DataFrame | None,
    exact_difference: float | None = None,
    width: int = HEADLINE_WIDTH,
) -> Claim:
    results = sweep.results
    frames = [results] + (
        [] if fd_steps is None else [fd_steps[~fd_steps["provider"].eq("backprop")]]
    )
    checked, mismatches = 0, []
    for frame in frames:
        n, wrong = fd_count_mismatches(frame)
        checked, mismatches = checked + n, mismatches + wrong

    time_texts, values = [], {"count_cells": checked, "count_mismatches": mismatches}
    for name in FD_LOSS_EVALUATIONS:
        ratios = fd_time_ratios(sweep, name, width)
        if not ratios:
            continue
        rows = measured(results, name, width).set_index("depth")
        deepest = max(ratios)
        per_evaluation = ratios[deepest].value / float(rows.loc[deepest, "loss_evaluations"])
        time_texts.append(
            f"{name} time / backprop time {ratios[min(ratios)].value:.3g} at depth {min(ratios)} "
            f"to {ratios[deepest].text()} at depth {deepest} "
            f"(P = {int(rows.loc[deepest, 'n_parameters'])}; {per_evaluation:.2g} backprop "
            f"gradients per loss evaluation)"
        )
        values[f"{name} time ratio"] = {d: r.value for d, r in ratios.items()}

    floor = APPROXIMATE_FACTOR * max(exact_difference or 0.0, FLOAT64_EPS)
    error_texts, too_small = [], []
    if fd_steps is not None:
        summary = fd_step.summary(fd_steps)["float64"]
        for name in FD_LOSS_EVALUATIONS:
            entry = summary[name]
            error_texts.append(
                f"{name} best error {entry['best_error']:.2g} at step {entry['best_step']:.2g}, "
                f"{entry['default_step_error']:.2g} at the default step "
                f"{entry['default_step']:.2g}"
            )
            values[f"{name} best error"] = entry["best_error"]
            if entry["best_error"] <= floor:
                too_small.append(name)

    if mismatches:
        verdict, conditions = DOES_NOT_HOLD, "; ".join(mismatches[:3])
    elif checked == 0 and fd_steps is None:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: no finite-difference cell ran"
    elif fd_steps is None:
        verdict = UNDECIDED
        conditions = f"{NOT_MEASURED}: the error against the step (counts are P + 1 and 2P)"
    elif too_small:
        verdict = DOES_NOT_HOLD
        conditions = f"{', '.join(too_small)} reach an error <= {floor:.2g}, as exact as backprop"
    elif checked == 0:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: counts in the sweep"
    else:
        verdict = HOLDS
        conditions = (
            f"counts exact in {checked} networks; best errors above {floor:.2g} "
            f"({APPROXIMATE_FACTOR:g} x the exact methods' disagreement or float64 rounding)"
        )
    values["approximate_floor"] = floor
    measured_text = "; ".join(
        [f"loss evaluations = P + 1 (forward) and 2P (central) in {checked} networks"
         + (f", {len(mismatches)} differ" if mismatches else "")]
        + time_texts
        + error_texts
    )  # fmt: skip
    if verdict == HOLDS:
        best = min(values[f"{name} best error"] for name in FD_LOSS_EVALUATIONS)
        conclusion = (
            "A finite-difference gradient costs one forward pass per parameter (two for "
            f"central differences){_dearer_text(values)}, and it is only approximate: even at "
            f"its best step its error ({best:.2g}) is {best / floor * APPROXIMATE_FACTOR:.2g} "
            "times the exact methods' disagreement."
        )
    else:
        conclusion = f"Verdict {verdict}: {conditions}."
    return Claim(
        number=5,
        title="Finite differences cost about P forward passes and are approximate",
        statement="A finite-difference gradient needs about one forward pass per parameter "
        "and is only an approximation, whose error depends on the step.",
        configuration=f"fd-forward and fd-central in the sweep (width {width}); steps "
        "1e-1 .. 1e-13 on a 64-2-2-10 tanh network with 100 digits, float64 and float32, "
        "against float64 backprop",
        measured=measured_text,
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values=values,
    )


def _dearer_text(values: dict) -> str:
    ratios = [
        values[f"{name} time ratio"]
        for name in FD_LOSS_EVALUATIONS
        if f"{name} time ratio" in values
    ]
    if not ratios:
        return ""
    every = [ratio for by_depth in ratios for ratio in by_depth.values()]
    return f"; in time that is {min(every):.2g} to {max(every):.2g} backprop gradients here"
