"""Claim 4: the naive expansion and backpropagation give the same gradient.

For: the largest relative difference between the two over every naive cell of the sweep (and
the batch-of-32 checks, when run), against ``SAME_GRADIENT_TOLERANCE``.
Not for: computing the differences (the sweep records them) or timing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.claims.claim import DOES_NOT_HOLD, HOLDS, NOT_MEASURED, UNDECIDED, Claim
from bench.claims.rules import SAME_GRADIENT_TOLERANCE
from bench.claims.wording import depth_range


def exact_disagreement(results: pd.DataFrame, accuracy_cost: pd.DataFrame | None) -> float | None:
    """The largest difference naive vs backprop seen anywhere, or None if never compared."""
    every = np.concatenate(
        [_naive_cells(results)["max_rel_diff"].to_numpy(float), _batch_errors(accuracy_cost)]
    )
    if every.size == 0:
        return None
    return float("nan") if np.isnan(every).any() else float(every.max())


def _naive_cells(results: pd.DataFrame) -> pd.DataFrame:
    """The sweep's naive cells that ran, each compared with backprop on the same batch."""
    return results[(results["provider"] == "naive") & (results["status"] == "ok")]


def _batch_errors(accuracy_cost: pd.DataFrame | None) -> np.ndarray:
    """Naive against backprop on the batch-of-32 checks; empty when they did not run."""
    if accuracy_cost is None:
        return np.array([])
    return accuracy_cost.loc[accuracy_cost["provider"] == "naive", "error"].to_numpy(float)


def claim_same_gradient(results: pd.DataFrame, accuracy_cost: pd.DataFrame | None = None) -> Claim:
    naive = _naive_cells(results)
    differences = naive["max_rel_diff"].to_numpy(float)
    extra = _batch_errors(accuracy_cost)
    every = np.concatenate([differences, extra])

    if every.size == 0:
        verdict, conditions = UNDECIDED, f"{NOT_MEASURED}: no naive cell ran"
        figure = NOT_MEASURED
    elif np.isnan(every).any():
        verdict = DOES_NOT_HOLD
        conditions = f"{int(np.isnan(every).sum())} comparison(s) gave NaN"
        figure = conditions
    else:
        largest = float(every.max())
        verdict = HOLDS if largest <= SAME_GRADIENT_TOLERANCE else DOES_NOT_HOLD
        relation = "<=" if verdict == HOLDS else ">"
        conditions = f"largest difference {largest:.2g} {relation} {SAME_GRADIENT_TOLERANCE:g}"
        figure = (
            f"max relative difference {largest:.2g} (range {every.min():.2g} .. {largest:.2g} "
            f"over {len(differences)} sweep cells"
            + (f" and {len(extra)} batch-of-32 checks" if extra.size else "")
            + ")"
        )
    widths = sorted(int(w) for w in naive["width"].unique())
    depths = sorted(int(d) for d in naive["depth"].unique())
    conclusion = (
        "The path-by-path sum and backpropagation give the same gradient up to float64 rounding."
        if verdict == HOLDS
        else f"Verdict {verdict}: {conditions}."
    )
    return Claim(
        number=4,
        title="Both give the same gradient",
        statement="Naive expansion and backpropagation compute the same derivative.",
        configuration=f"every naive cell of the sweep (widths {', '.join(map(str, widths)) or '-'}"
        f", {depth_range(depths) if depths else 'no depths'}), float64, against backprop at the "
        "same parameters and batch"
        + ("; plus width-2 networks on 32 digits" if extra.size else ""),
        measured=figure,
        verdict=verdict,
        conditions=conditions,
        conclusion=conclusion,
        values={
            "max_difference": float(every.max()) if every.size else None,
            "n_compared": int(every.size),
            "tolerance": SAME_GRADIENT_TOLERANCE,
        },
    )
