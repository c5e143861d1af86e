"""One training loop for every provider: per-sample SGD, minibatches, or full-batch descent.

Each update moves the parameters against the gradient of the mean loss on a batch:

    theta <- theta - learning_rate * dL_batch/dtheta

``batch_size=1`` is stochastic gradient descent as the usual explanation has it, ``None`` is
gradient descent on the whole data set, anything between is minibatch SGD. A short last
batch is averaged over its own size, because the loss is a mean. The loop never prints: it
returns a ``History`` and calls ``callback`` after every epoch.

Training stops early, and says why, when the loss or the gradient stops being finite or the
loss climbs to ``divergence_factor`` times the best loss seen: a learning rate too large for
the curvature makes the iterates grow geometrically (on x^2, any rate above 1). The loss
watched is the mean over the last ``DIVERGENCE_WINDOW`` updates (at most one epoch),
because one sample's loss may be a million times another's while training goes well; with
the full batch it is the loss itself. It is compared with the best such mean, and with the
first loss (at the initial parameters) while no window is full yet.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gradients.counting import OpCounts
from gradients.objectives import Objective
from gradients.validation import check_positive_finite, check_positive_int

DEFAULT_DIVERGENCE_FACTOR = 1e6
DIVERGENCE_WINDOW = 100


@dataclass
class Divergence:
    update: int  # 1-based number of the update whose loss or gradient gave it away
    reason: str

    @property
    def message(self) -> str:
        return (
            f"training diverged at update {self.update}: {self.reason}; "
            "try a smaller learning rate"
        )


@dataclass
class History:
    update_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)  # sample-weighted mean per epoch
    epoch_elapsed_s: list[float] = field(default_factory=list)  # since the start
    update_elapsed_s: list[float] = field(default_factory=list)
    counts: OpCounts = field(default_factory=OpCounts)
    divergence: Divergence | None = None

    @property
    def n_updates(self) -> int:
        return len(self.update_losses)


def train(
    objective: Objective,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int | None = 1,
    seed: int = 0,
    shuffle: bool = True,
    divergence_factor: float | None = DEFAULT_DIVERGENCE_FACTOR,
    callback: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``objective`` in place and return what happened, update by update."""
    learning_rate = check_positive_finite("learning_rate", learning_rate)
    epochs = check_positive_int("epochs", epochs)
    seed = check_positive_int("seed", seed, minimum=0)
    n_samples = objective.n_samples
    if batch_size is None:
        batch_size = n_samples
    batch_size = check_positive_int("batch_size", batch_size)
    if batch_size > n_samples:
        raise ValueError(
            f"`batch_size` must be at most the number of samples ({n_samples}), got {batch_size}"
        )
    if divergence_factor is not None:
        divergence_factor = check_positive_finite("divergence_factor", divergence_factor)

    rng = np.random.default_rng(seed)
    history = History()
    recent_losses: deque[float] = deque(
        maxlen=min(DIVERGENCE_WINDOW, math.ceil(n_samples / batch_size))
    )
    first_loss = best_loss = math.inf
    start_s = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        epoch_loss_sum = 0.0
        for first in range(0, n_samples, batch_size):
            indices = order[first : first + batch_size]
            evaluation = objective.loss_and_gradient(indices)
            history.counts.add(evaluation.counts)
            update = history.n_updates + 1

            recent_losses.append(evaluation.loss)
            smoothed_loss = sum(recent_losses) / len(recent_losses)
            full = len(recent_losses) == recent_losses.maxlen
            if update == 1:
                first_loss = evaluation.loss
            # The best is taken over full windows only (a few samples' mean says too little),
            # and the first loss stands in until then, so an early blow-up is caught too.
            reference = min(first_loss, best_loss)
            reason = _divergence_reason(evaluation, smoothed_loss, reference, divergence_factor)
            if reason is not None:
                history.divergence = Divergence(update, reason)
                return history

            objective.parameters -= learning_rate * evaluation.gradient
            history.update_losses.append(evaluation.loss)
            history.update_elapsed_s.append(time.perf_counter() - start_s)
            if full:
                best_loss = min(best_loss, smoothed_loss)
            epoch_loss_sum += evaluation.loss * indices.size

        history.epoch_losses.append(epoch_loss_sum / n_samples)
        history.epoch_elapsed_s.append(time.perf_counter() - start_s)
        if callback is not None:
            callback(epoch + 1, history)
    return history


def _divergence_reason(
    evaluation, smoothed_loss: float, best_loss: float, factor: float | None
) -> str | None:
    if not math.isfinite(evaluation.loss):
        return f"the loss is {evaluation.loss}"
    if not np.all(np.isfinite(evaluation.gradient)):
        return "the gradient has NaN or infinite entries"
    if factor is not None and 0 < best_loss and smoothed_loss > factor * best_loss:
        return f"the loss {smoothed_loss:.4g} exceeds {factor:g} times its best {best_loss:.4g}"
    return None
