"""Losses, all reduced the same way: the mean over the batch of a per-sample loss.

    L = (1/N) * sum_n loss(y_hat_n, y_n)

- ``mse``: loss(y_hat, y) = 0.5 * ||y_hat - y||^2, the cost of the usual SGD explanation;
  the 0.5 makes its derivative y_hat - y.
- ``cross-entropy``: softmax of the outputs followed by the negative log-likelihood of an
  integer class label.

Every provider and the SGD loop go through these functions, so a batch of N samples has the
same scale of gradient as one sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Loss:
    """A loss: its value and its derivative with respect to the network outputs."""

    name: str

    def value(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        raise NotImplementedError

    def value_and_output_gradient(
        self, outputs: np.ndarray, targets: np.ndarray
    ) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def check_targets(
        self, targets: np.ndarray, n_outputs: int, dtype: type = np.float64
    ) -> np.ndarray:
        """Targets in the layout and dtype this loss expects, or a clear error."""
        raise NotImplementedError


class MeanSquaredError(Loss):
    def __init__(self) -> None:
        super().__init__("mse")

    def value(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        residual = outputs - targets
        return 0.5 * float(np.sum(residual * residual)) / outputs.shape[0]

    def value_and_output_gradient(
        self, outputs: np.ndarray, targets: np.ndarray
    ) -> tuple[float, np.ndarray]:
        residual = outputs - targets
        n_samples = outputs.shape[0]
        return 0.5 * float(np.sum(residual * residual)) / n_samples, residual / n_samples

    def check_targets(
        self, targets: np.ndarray, n_outputs: int, dtype: type = np.float64
    ) -> np.ndarray:
        targets = np.asarray(targets, dtype=dtype)
        if targets.ndim == 1 and n_outputs == 1:
            targets = targets[:, None]
        if targets.ndim != 2 or targets.shape[1] != n_outputs:
            raise ValueError(
                f"`targets` for mse must have shape (n_samples, {n_outputs}), got {targets.shape}"
            )
        if not np.all(np.isfinite(targets)):
            raise ValueError("`targets` must be finite, got NaN or infinite values")
        return targets


class SoftmaxCrossEntropy(Loss):
    def __init__(self) -> None:
        super().__init__("cross-entropy")

    @staticmethod
    def _log_softmax(outputs: np.ndarray) -> np.ndarray:
        # Shifting by the row maximum keeps exp from overflowing; the result is unchanged.
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def value(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        log_p = self._log_softmax(outputs)
        rows = np.arange(outputs.shape[0])
        return -float(log_p[rows, targets].sum()) / outputs.shape[0]

    def value_and_output_gradient(
        self, outputs: np.ndarray, targets: np.ndarray
    ) -> tuple[float, np.ndarray]:
        log_p = self._log_softmax(outputs)
        n_samples = outputs.shape[0]
        rows = np.arange(n_samples)
        # Softmax followed by cross-entropy differentiates to p - onehot(label); this holds
        # only for the pair, which is why they are one loss here.
        gradient = np.exp(log_p)
        gradient[rows, targets] -= 1.0
        gradient /= n_samples
        return -float(log_p[rows, targets].sum()) / n_samples, gradient

    def check_targets(
        self, targets: np.ndarray, n_outputs: int, dtype: type = np.float64
    ) -> np.ndarray:
        targets = np.asarray(targets)
        if targets.ndim != 1:
            raise ValueError(
                f"`targets` for cross-entropy must be a 1-D array of class labels, "
                f"got shape {targets.shape}"
            )
        if targets.size and not np.issubdtype(targets.dtype, np.integer):
            if not np.all(np.isfinite(targets)) or np.any(targets != np.round(targets)):
                raise ValueError("`targets` for cross-entropy must be integer class labels")
        targets = targets.astype(np.int64)
        if targets.size and (targets.min() < 0 or targets.max() >= n_outputs):
            raise ValueError(
                f"`targets` for cross-entropy must be class labels in 0..{n_outputs - 1}, "
                f"got labels from {targets.min()} to {targets.max()}"
            )
        return targets


LOSSES: dict[str, Loss] = {"mse": MeanSquaredError(), "cross-entropy": SoftmaxCrossEntropy()}


def get_loss(name: str | Loss) -> Loss:
    """The loss called ``name`` (a ``Loss`` passes through); a clear error lists the names."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(LOSSES))
        raise ValueError(f"`loss` must be one of {valid}, got {name!r}") from None
