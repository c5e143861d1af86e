"""Finite differences against backpropagation: error as a function of the step, and the cost.

For: the claim that finite differences cost about one forward pass per parameter and are only
approximate. ``run`` measures max |fd - bp| / max |bp| for forward and central differences over
steps from 1e-1 to 1e-13, in float64 and float32, on a small tanh network and a fixed sample of
the digits; the reference is always a float64 backprop gradient at the very same parameters
and inputs, so the float32 rows show what float32 arithmetic costs. Truncation error falls
with the step and rounding error grows as eps / step, so the best step should sit near
sqrt(eps) for forward and eps^(1/3) for central differences.

``run_accuracy_cost`` is the accuracy-against-cost view: every registered provider's error
against backprop and its counted multiplications, on networks of one width and several
depths.

Not for: timing (counts are machine-independent), or choosing the library's default step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.logplot import plot_positive, save_png_and_svg
from gradients import MLP, get_loss, get_provider, provider_names
from gradients.data import load_digits
from gradients.gradcheck import max_relative_difference
from gradients.providers.finite_differences import default_step
from gradients.validation import check_dtype, check_positive_int

STEPS = tuple(np.logspace(-1, -13, 25))
LAYER_SIZES = (64, 2, 2, 10)
N_SAMPLES = 100
DTYPES = ("float64", "float32")
SCHEMES = {"fd-forward": "forward", "fd-central": "central"}
# The error of each scheme's best step is read as agreeing with the theory when the step is
# within this factor of sqrt(eps) (forward) or eps^(1/3) (central).
THEORY_FACTOR = 10.0
# The theory's exponent of eps for each scheme's best step.
THEORY_EXPONENT = {"forward": 1 / 2, "central": 1 / 3}

ACCURACY_WIDTH = 2
ACCURACY_DEPTHS = (1, 2, 4, 6)
ACCURACY_SAMPLES = 32


def digits_sample(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_samples`` training images of the digits split made with ``seed``."""
    data = load_digits(seed=seed)
    n_samples = check_positive_int("n_samples", n_samples)
    if n_samples > data.train_inputs.shape[0]:
        raise ValueError(
            f"`n_samples` must be at most {data.train_inputs.shape[0]}, got {n_samples}"
        )
    return data.train_inputs[:n_samples], data.train_targets[:n_samples]


def run(
    steps: Sequence[float] = STEPS,
    *,
    layer_sizes: Sequence[int] = LAYER_SIZES,
    n_samples: int = N_SAMPLES,
    dtypes: Sequence[str] = DTYPES,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (dtype, scheme, step), plus one per (dtype, scheme) at the default step."""
    steps = [float(step) for step in steps]
    if not steps or not all(np.isfinite(step) and step > 0 for step in steps):
        raise ValueError(f"`steps` must be positive finite numbers, got {steps!r}")
    inputs, labels = digits_sample(n_samples, seed)
    loss = get_loss("cross-entropy")

    rows = []
    for dtype_name in dtypes:
        dtype = check_dtype(dtype_name)
        network = MLP(layer_sizes, seed=seed, dtype=dtype)
        X = inputs.astype(dtype)
        reference = _float64_backprop(network, loss, X, labels)
        backprop = get_provider("backprop").loss_and_gradient(network, loss, X, labels)
        eps = float(np.finfo(dtype).eps)
        configuration = {
            "dtype": np.dtype(dtype).name,
            "layer_sizes": "-".join(map(str, network.layer_sizes)),
            "n_parameters": network.n_parameters,
            "n_samples": n_samples,
            "eps": eps,
        }
        rows.append(
            {
                **configuration,
                **_measurement("backprop", np.nan, False, reference, backprop),
            }
        )
        for name, scheme in SCHEMES.items():
            trials = [(step, False) for step in steps] + [(default_step(scheme, dtype), True)]
            for step, is_default in trials:
                evaluation = _finite_differences(name, step, network, loss, X, labels)
                rows.append(
                    {
                        **configuration,
                        **_measurement(name, step, is_default, reference, evaluation),
                    }
                )
    return pd.DataFrame(rows)


def _float64_backprop(network: MLP, loss, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Backprop in float64 at the network's parameters and inputs, whatever their dtype."""
    reference = MLP(network.layer_sizes, network.activation.name, dtype=np.float64)
    reference.parameters[:] = network.parameters.astype(np.float64)
    provider = get_provider("backprop")
    return provider.loss_and_gradient(reference, loss, X.astype(np.float64), labels).gradient


def _finite_differences(name: str, step: float, network: MLP, loss, X, labels):
    # Below about eps * |theta| the perturbed parameter rounds back to theta: the quotient is
    # 0/0 or x/0. Those NaN and infinite errors are data here, not faults.
    with np.errstate(divide="ignore", invalid="ignore"):
        return get_provider(name, step=step).loss_and_gradient(network, loss, X, labels)


def _measurement(provider: str, step: float, is_default: bool, reference, evaluation) -> dict:
    return {
        "provider": provider,
        "step": step,
        "is_default_step": is_default,
        "error": max_relative_difference(reference, evaluation.gradient),
        "loss_evaluations": evaluation.counts.loss_evaluations,
        "multiplications": evaluation.counts.multiplications,
    }


def summary(frame: pd.DataFrame) -> dict:
    """Per dtype and scheme: best step and error, error at the default step, theory, counts."""
    result = {}
    for dtype, rows in frame.groupby("dtype", sort=False):
        eps = float(rows["eps"].iloc[0])
        n_parameters = int(rows["n_parameters"].iloc[0])
        backprop = rows[rows["provider"] == "backprop"]
        entry = {
            "eps": eps,
            "n_parameters": n_parameters,
            "backprop_error_vs_float64": float(backprop["error"].iloc[0]),
        }
        for name, scheme in SCHEMES.items():
            entry[name] = _scheme_summary(rows[rows["provider"] == name], scheme, eps)
        result[dtype] = entry
    return result


def _scheme_summary(rows: pd.DataFrame, scheme: str, eps: float) -> dict:
    sweep = rows[~rows["is_default_step"]]
    finite = sweep[np.isfinite(sweep["error"])]
    default = rows[rows["is_default_step"]].iloc[0]
    theory_step = eps ** THEORY_EXPONENT[scheme]
    if finite.empty:
        best_step = best_error = ratio = float("nan")
    else:
        best = finite.loc[finite["error"].idxmin()]
        best_step, best_error = float(best["step"]), float(best["error"])
        ratio = best_step / theory_step
    return {
        "best_step": best_step,
        "best_error": best_error,
        "default_step": float(default["step"]),
        "default_step_error": float(default["error"]),
        "theory_step": theory_step,
        "best_step_over_theory": ratio,
        "best_step_near_theory": bool(1 / THEORY_FACTOR <= ratio <= THEORY_FACTOR),
        "steps_with_non_finite_error": int((~np.isfinite(sweep["error"])).sum()),
        "loss_evaluations": int(default["loss_evaluations"]),
        "multiplications": int(default["multiplications"]),
    }


def plot(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """Error against step, log-log, one line per (scheme, dtype), with the theory's steps."""
    figure = Figure(figsize=(8, 5.5), layout="constrained")
    ax = figure.subplots()
    ax.set_xscale("log")
    ax.set_yscale("log")
    linestyles = {"float64": "-", "float32": "--"}
    colors = {"fd-forward": "tab:blue", "fd-central": "tab:orange"}

    for (dtype, name), rows in frame[frame["provider"].isin(SCHEMES)].groupby(
        ["dtype", "provider"], sort=False
    ):
        sweep = rows[~rows["is_default_step"]].sort_values("step")
        plot_positive(
            ax,
            sweep["step"],
            sweep["error"],
            x_name="step",
            reason="with error NaN, inf or 0",
            label=f"{name}, {dtype}",
            color=colors[name],
            linestyle=linestyles.get(dtype, ":"),
            markersize=3,
        )

    for dtype, rows in frame.groupby("dtype", sort=False):
        eps = float(rows["eps"].iloc[0])
        for scheme, symbol, height in (("forward", "√eps", 0.99), ("central", "eps^(1/3)", 0.9)):
            step = eps ** THEORY_EXPONENT[scheme]
            ax.axvline(step, color="grey", linestyle=linestyles.get(dtype, ":"), linewidth=0.8)
            ax.text(
                step,
                height,
                f" {symbol}\n {dtype}",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                color="dimgrey",
                va="top",
            )

    first = frame.iloc[0]
    counts = frame.groupby("provider")["loss_evaluations"].first()
    ax.set(
        xlabel="finite-difference step h (parameter units)",
        ylabel="max |fd - backprop| / max |backprop| (relative, no unit)",
        title=(
            f"Finite-difference error against the step: {first['layer_sizes']} tanh network,\n"
            f"{first['n_samples']} digits, P = {first['n_parameters']} parameters; "
            "reference: float64 backprop\n"
            f"loss evaluations per gradient: forward {counts['fd-forward']} (P + 1), "
            f"central {counts['fd-central']} (2P)"
        ),
    )
    ax.invert_xaxis()  # steps shrink from left to right, as one would try them
    ax.legend(fontsize=7, loc="lower right", handlelength=4)
    return save_png_and_svg(figure, path_without_suffix)


def run_accuracy_cost(
    depths: Sequence[int] = ACCURACY_DEPTHS,
    *,
    width: int = ACCURACY_WIDTH,
    n_samples: int = ACCURACY_SAMPLES,
    providers: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Each provider's error against backprop and its counted cost, one row per depth."""
    width = check_positive_int("width", width)
    depths = [check_positive_int("depths", depth) for depth in depths]
    names = provider_names() if providers is None else list(providers)
    inputs, labels = digits_sample(n_samples, seed)
    loss = get_loss("cross-entropy")

    rows = []
    for depth in depths:
        network = MLP((inputs.shape[1], *[width] * depth, 10), seed=seed)
        reference = get_provider("backprop").loss_and_gradient(network, loss, inputs, labels)
        for name in names:
            provider = get_provider(name)
            evaluation = provider.loss_and_gradient(network, loss, inputs, labels)
            rows.append(
                {
                    "provider": name,
                    "exact": provider.exact,
                    "width": width,
                    "depth": depth,
                    "layer_sizes": "-".join(map(str, network.layer_sizes)),
                    "n_parameters": network.n_parameters,
                    "n_samples": n_samples,
                    "error": max_relative_difference(reference.gradient, evaluation.gradient),
                    "multiplications": evaluation.counts.multiplications,
                    "loss_evaluations": evaluation.counts.loss_evaluations,
                }
            )
    return pd.DataFrame(rows)


def summary_accuracy_cost(frame: pd.DataFrame) -> dict:
    """Per provider: error and multiplications by depth, the worst error, the cost ratio."""
    backprop = frame[frame["provider"] == "backprop"].set_index("depth")["multiplications"]
    result = {}
    for name, rows in frame.groupby("provider", sort=True):
        rows = rows.set_index("depth").sort_index()
        result[name] = {
            "exact": bool(rows["exact"].iloc[0]),
            "error_by_depth": {int(d): float(e) for d, e in rows["error"].items()},
            "multiplications_by_depth": {
                int(d): int(m) for d, m in rows["multiplications"].items()
            },
            "max_error": float(rows["error"].max()),
            "multiplications_over_backprop_by_depth": {
                int(d): float(m / backprop[d]) for d, m in rows["multiplications"].items()
            },
        }
    return result


def plot_accuracy_cost(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """Error against counted multiplications, log-log, one series per provider over depth."""
    figure = Figure(figsize=(8, 5.5), layout="constrained")
    ax = figure.subplots()
    ax.set_xscale("log")
    ax.set_yscale("log")

    for name, rows in frame.groupby("provider", sort=True):
        rows = rows.sort_values("depth")
        kind = "exact" if rows["exact"].iloc[0] else "approximate"
        left_out = plot_positive(
            ax,
            rows["multiplications"],
            rows["error"],
            x_name="multiplications",
            reason="with zero error (identical to backprop)",
            positive_x=True,
            label=f"{name} ({kind})",
            linewidth=0.8,
        )
        for _, row in rows.iterrows():
            if row["multiplications"] not in left_out:
                ax.annotate(
                    f"D={row['depth']}",
                    (row["multiplications"], row["error"]),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )

    first = frame.iloc[0]
    ax.set(
        xlabel="multiplications per gradient (counted)",
        ylabel="max |g - backprop| / max |backprop| (relative, no unit)",
        title=(
            f"Accuracy against cost: width {first['width']}, depth D, "
            f"{first['n_samples']} digits, float64"
        ),
    )
    ax.legend(fontsize=8, loc="upper left")
    return save_png_and_svg(figure, path_without_suffix)
