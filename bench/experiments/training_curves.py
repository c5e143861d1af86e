"""Training curves: loss against updates and against time, and exact providers side by side.

For: two views of training with the library's loop (``gradients.sgd.train``).

- ``run``: per-sample SGD, minibatches of 32 and full-batch gradient descent with backprop on
  the digits, each with a learning rate that converges, the full training loss recorded at
  log-spaced update counts. Small batches make many cheap, noisy updates; the whole data set
  makes few, expensive, exact ones, which the two x-axes (updates, seconds) tell apart.
- ``run_exact_providers``: every registered exact provider (backprop, naive, ...) trained from
  the same network and shuffling seed. They compute the same gradient by different sums, so
  their loss curves must agree to rounding.

Not for: tuning learning rates, test accuracy, or approximate providers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.logplot import plot_positive, save_png_and_svg
from bench.timing import single_thread_blas
from gradients import MLP, get_loss, get_provider, provider_names
from gradients.data import load_digits
from gradients.objectives import NetworkObjective
from gradients.providers.base import Evaluation
from gradients.sgd import train
from gradients.validation import check_positive_int

LAYER_SIZES = (64, 32, 10)
# (name, batch size (None: all), learning rate, epochs): epochs that keep the three runs to a
# few seconds; rates that converge on the digits with this network. Full-batch descent at 1.5
# already raises the loss in some epochs, at 2.0 it climbs above the initial loss for a while.
REGIMES = (
    ("per-sample SGD", 1, 0.05, 10),
    ("minibatch 32", 32, 0.3, 100),
    ("full-batch GD", None, 1.0, 1000),
)
RECORD_POINTS = 150
TARGET_LOSS = 0.1

EXACT_LAYER_SIZES = (64, 4, 10)
EXACT_SAMPLES = 300
EXACT_BATCH_SIZE = 32
EXACT_LEARNING_RATE = 0.5
EXACT_EPOCHS = 30
REFERENCE_PROVIDER = "backprop"


@dataclass(frozen=True)
class Regime:
    name: str
    batch_size: int | None
    learning_rate: float
    epochs: int


class MonitoredObjective(NetworkObjective):
    """A network objective that records the full training loss at chosen update counts.

    Recording happens before the gradient of the next update, that is after ``updates``
    updates. Its own time is measured and subtracted, so ``elapsed_s`` is training time only.
    """

    def __init__(self, *args, record_at: set[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record_at = record_at
        self.records: list[tuple[int, float, float]] = []  # (updates, elapsed_s, loss)
        self.updates = 0
        self.recording_s = 0.0
        self.start_s = time.perf_counter()

    def loss_and_gradient(self, indices: np.ndarray) -> Evaluation:
        if self.updates in self.record_at:
            self.record()
        self.updates += 1
        return super().loss_and_gradient(indices)

    def record(self) -> None:
        began_s = time.perf_counter()
        loss = self.loss.value(self.network.forward(self.inputs), self.targets)
        self.records.append((self.updates, began_s - self.start_s - self.recording_s, loss))
        self.recording_s += time.perf_counter() - began_s


def record_points(n_updates: int, n_points: int = RECORD_POINTS) -> set[int]:
    """Update counts 0, 1, ... spaced evenly on a log scale up to ``n_updates``."""
    spaced = np.geomspace(1, n_updates, n_points).round().astype(int)
    return {0, *spaced.tolist()}


def run(
    regimes: Sequence[tuple[str, int | None, float, int]] = REGIMES,
    *,
    layer_sizes: Sequence[int] = LAYER_SIZES,
    provider: str = REFERENCE_PROVIDER,
    seed: int = 0,
) -> pd.DataFrame:
    """The full training loss against updates and seconds, one row per recorded point."""
    data = load_digits(seed=seed)
    loss = get_loss("cross-entropy")
    n_samples = data.train_inputs.shape[0]

    frames = []
    with single_thread_blas():
        for regime in (Regime(*entry) for entry in regimes):
            batch_size = n_samples if regime.batch_size is None else regime.batch_size
            updates_per_epoch = -(-n_samples // batch_size)
            n_updates = updates_per_epoch * check_positive_int("epochs", regime.epochs)
            objective = MonitoredObjective(
                MLP(layer_sizes, seed=seed),
                loss,
                get_provider(provider),
                data.train_inputs,
                data.train_targets,
                record_at=record_points(n_updates),
            )
            history = train(
                objective,
                learning_rate=regime.learning_rate,
                epochs=regime.epochs,
                batch_size=batch_size,
                seed=seed,
            )
            if history.divergence is None:
                objective.record()  # the loss after the last update
            updates, elapsed_s, losses = zip(*objective.records)
            frames.append(
                pd.DataFrame(
                    {
                        "regime": regime.name,
                        "batch_size": batch_size,
                        "learning_rate": regime.learning_rate,
                        "epochs": regime.epochs,
                        "updates": updates,
                        "elapsed_s": elapsed_s,
                        "train_loss": losses,
                        "diverged": history.divergence is not None,
                        "provider": provider,
                        "layer_sizes": "-".join(map(str, layer_sizes)),
                        "n_samples": n_samples,
                        "seed": seed,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def summary(frame: pd.DataFrame, *, target_loss: float = TARGET_LOSS) -> dict:
    """Per regime: initial and final loss, updates and seconds, and when it reached the target."""
    result = {"target_loss": target_loss}
    for name, rows in frame.groupby("regime", sort=False):
        rows = rows.sort_values("updates")
        reached = rows[rows["train_loss"] <= target_loss]
        last = rows.iloc[-1]
        result[name] = {
            "batch_size": int(last["batch_size"]),
            "learning_rate": float(last["learning_rate"]),
            "initial_loss": float(rows["train_loss"].iloc[0]),
            "final_loss": float(last["train_loss"]),
            "updates": int(last["updates"]),
            "elapsed_s": float(last["elapsed_s"]),
            "seconds_per_update": float(last["elapsed_s"] / last["updates"]),
            "diverged": bool(last["diverged"]),
            "updates_to_target": int(reached["updates"].iloc[0]) if len(reached) else None,
            "seconds_to_target": float(reached["elapsed_s"].iloc[0]) if len(reached) else None,
        }
    return result


def plot(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """Full training loss against updates and against seconds, log-log, one line a regime."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    by_updates, by_time = figure.subplots(1, 2)
    initial = frame[frame["updates"] == 0]["train_loss"]

    for name, rows in frame.groupby("regime", sort=False):
        # Update 0 (and its 0 s) has no place on a log x-axis: the initial loss is drawn as a
        # horizontal line instead.
        rows = rows[rows["updates"] > 0].sort_values("updates")
        label = f"{name} (rate {rows['learning_rate'].iloc[0]:g})"
        for ax, column, x_name in ((by_updates, "updates", "update"), (by_time, "elapsed_s", "s")):
            plot_positive(
                ax, rows[column], rows["train_loss"], x_name=x_name, positive_x=True,
                label=label, markersize=2, linewidth=1.2,
            )  # fmt: skip

    first = frame.iloc[0]
    for ax in (by_updates, by_time):
        ax.set_xscale("log")
        ax.set_yscale("log")
        if len(initial):
            ax.axhline(initial.max(), color="grey", linestyle="--", linewidth=0.8,
                       label=f"initial loss {initial.max():.3g}")  # fmt: skip
        ax.set_ylabel("training loss (mean cross-entropy, nats, log scale)")
        ax.legend(fontsize=8, loc="lower left")
    by_updates.set(xlabel="updates (log scale)", title="Loss against the number of updates")
    by_time.set(
        xlabel="training time (s, log scale; loss evaluations excluded)",
        title="Loss against elapsed time (single-threaded BLAS)",
    )
    figure.suptitle(
        f"Training {first['layer_sizes']} tanh on {first['n_samples']} digits with "
        f"{first['provider']}: per-sample SGD, minibatches and full-batch descent"
    )
    return save_png_and_svg(figure, path_without_suffix)


def run_exact_providers(
    providers: Sequence[str] | None = None,
    *,
    layer_sizes: Sequence[int] = EXACT_LAYER_SIZES,
    n_samples: int = EXACT_SAMPLES,
    batch_size: int = EXACT_BATCH_SIZE,
    learning_rate: float = EXACT_LEARNING_RATE,
    epochs: int = EXACT_EPOCHS,
    seed: int = 0,
) -> pd.DataFrame:
    """Loss per update for each exact provider from one seed; one row per (provider, update)."""
    if providers is None:
        providers = [name for name in provider_names() if get_provider(name).exact]
    providers = list(providers)
    if REFERENCE_PROVIDER not in providers:
        providers.insert(0, REFERENCE_PROVIDER)
    data = load_digits(seed=seed)
    n_samples = check_positive_int("n_samples", n_samples, minimum=2)
    X, Y = data.train_inputs[:n_samples], data.train_targets[:n_samples]
    loss = get_loss("cross-entropy")

    runs = {}
    for name in providers:
        network = MLP(layer_sizes, seed=seed)
        objective = NetworkObjective(network, loss, get_provider(name), X, Y)
        history = train(
            objective,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
        )
        runs[name] = (history, network.parameters.copy())

    reference_parameters = runs[REFERENCE_PROVIDER][1]
    frames = []
    for name, (history, parameters) in runs.items():
        frames.append(
            pd.DataFrame(
                {
                    "provider": name,
                    "exact": get_provider(name).exact,
                    "update": np.arange(1, history.n_updates + 1),
                    "loss": history.update_losses,
                    "multiplications_per_update": history.counts.multiplications
                    // max(history.n_updates, 1),
                    "final_parameter_difference": float(
                        np.max(np.abs(parameters - reference_parameters))
                    ),
                    "diverged": history.divergence is not None,
                    "layer_sizes": "-".join(map(str, layer_sizes)),
                    "n_samples": n_samples,
                    "batch_size": batch_size,
                    "learning_rate": learning_rate,
                    "seed": seed,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def loss_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """|loss - reference loss| at each update, one column per provider."""
    losses = frame.pivot(index="update", columns="provider", values="loss")
    return losses.sub(losses[REFERENCE_PROVIDER], axis=0).abs()


def summary_exact_providers(frame: pd.DataFrame) -> dict:
    """Per provider: how far its loss curve and final parameters are from backprop's."""
    differences = loss_differences(frame)
    result = {}
    for name, rows in frame.groupby("provider", sort=False):
        result[name] = {
            "updates": int(rows["update"].max()),
            "final_loss": float(rows.sort_values("update")["loss"].iloc[-1]),
            "max_loss_difference": float(differences[name].max()),
            "final_parameter_difference": float(rows["final_parameter_difference"].iloc[0]),
            "multiplications_per_update": int(rows["multiplications_per_update"].iloc[0]),
        }
    others = [name for name in result if name != REFERENCE_PROVIDER]
    result["max_loss_difference"] = max(
        (result[name]["max_loss_difference"] for name in others), default=0.0
    )
    return result


def plot_exact_providers(frame: pd.DataFrame, path_without_suffix: str | Path) -> list[Path]:
    """The exact providers' loss curves overlaid, and their distance from backprop's."""
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    curves, distances = figure.subplots(1, 2)
    differences = loss_differences(frame)
    styles = ("-", "--", ":", "-.")

    for (name, rows), linestyle in zip(frame.groupby("provider", sort=False), styles * 10):
        rows = rows.sort_values("update")
        curves.plot(rows["update"], rows["loss"], linestyle=linestyle, linewidth=1.5, label=name)
        if name == REFERENCE_PROVIDER:
            continue
        plot_positive(
            distances,
            differences.index,
            differences[name],
            x_name="update",
            reason="equal to backprop's",
            label=f"{name} (max {differences[name].max():.2g})",
            linestyle="none",
            markersize=3,
        )

    first = frame.iloc[0]
    curves.set_yscale("log")
    curves.set(
        xlabel="update",
        ylabel="minibatch loss (mean cross-entropy, nats, log scale)",
        title="Loss at each update, every exact provider",
    )
    curves.legend(fontsize=8)
    distances.set_yscale("log")
    distances.set(
        xlabel="update",
        ylabel=f"|loss - {REFERENCE_PROVIDER} loss| (nats, log scale)",
        title=f"Distance from the {REFERENCE_PROVIDER} curve",
    )
    distances.legend(fontsize=8, loc="upper left")
    figure.suptitle(
        f"Exact providers from one seed: {first['layer_sizes']} tanh, {first['n_samples']} "
        f"digits, batch {first['batch_size']}, rate {first['learning_rate']:g}"
    )
    return save_png_and_svg(figure, path_without_suffix)
