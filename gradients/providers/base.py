"""What a gradient provider is: a way to compute a loss and its gradient.

A provider takes a network, a loss, a batch of inputs and its targets, and returns an
``Evaluation``: the loss, the gradient in the layout of ``network.parameters``, and the
operations it counted while it ran. ``predict_counts`` gives the same counts in closed form,
without running anything, so a harness can refuse work before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.validation import check_batch


@dataclass
class Evaluation:
    loss: float
    gradient: np.ndarray
    counts: OpCounts = field(default_factory=OpCounts)


class Provider:
    """Base class of gradient providers.

    Subclasses set ``name`` and implement ``compute`` (on inputs and targets already checked
    and in the network's dtype) and ``predict_counts``.
    """

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = True  # False where the gradient is an approximation
    counted: ClassVar[bool] = True  # False where another library does uninstrumented work

    def loss_and_gradient(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        """The mean loss over the batch and its gradient with respect to the parameters."""
        inputs, targets = check_batch(network, loss, inputs, targets)
        return self.compute(network, loss, inputs, targets)

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        raise NotImplementedError

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """Settings worth recording next to a measurement."""
        return {"provider": self.name}


def forward_multiplications(layer_sizes: tuple[int, ...], batch_size: int) -> int:
    """Multiplications of one forward pass: one per weight per sample."""
    return batch_size * sum(n_in * n_out for n_in, n_out in zip(layer_sizes, layer_sizes[1:]))
