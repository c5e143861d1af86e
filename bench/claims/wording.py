"""How the claims write a figure with its interval, a span of depths and a sweep's setting.

For: the few phrases every claim's text is built from, so that all claims read alike.
Not for: any figure's value (the fits and claims compute those).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bench.fits import Interval


def interval_text(value: float, interval: Interval) -> str:
    return f"{value:.3g} [{interval.low:.3g}, {interval.high:.3g}]"


def depth_range(depths: Sequence[int]) -> str:
    return f"depth {depths[0]}" if len(depths) == 1 else f"depths {depths[0]}-{depths[-1]}"


def sweep_setting(results: pd.DataFrame) -> str:
    first = results.iloc[0]
    threads = "BLAS threads not recorded"
    if "blas_threads" in results and results["blas_threads"].notna().any():
        count = int(results["blas_threads"].max())
        threads = f"{count} BLAS thread{'s' if count > 1 else ''}"
    return (
        f"{first['data']} data, {first['activation']}, batch {int(first['batch_size'])}, "
        f"seed {int(first['seed'])}, {threads}"
    )


def layer_pattern(results: pd.DataFrame) -> str:
    sizes = str(results.iloc[0]["layer_sizes"]).split("-")
    return f"{sizes[0]}-w-...-w-{sizes[-1]}"
