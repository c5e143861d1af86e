"""What the SGD loop minimises: parameters, a number of samples, and a gradient on any subset.

``NetworkObjective`` binds a network, a loss, a provider and a data set; ``Quadratic`` is
f(x) = x^2, the one-parameter example on which the learning rate's role can be seen exactly.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from gradients.losses import Loss, get_loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider
from gradients.validation import check_batch, check_finite_array


class Objective(Protocol):
    parameters: np.ndarray  # updated in place by the loop

    @property
    def n_samples(self) -> int: ...

    def loss_and_gradient(self, indices: np.ndarray) -> Evaluation: ...


class NetworkObjective:
    """The mean loss of ``network`` on the samples picked by ``indices``."""

    def __init__(
        self,
        network: MLP,
        loss: Loss | str,
        provider: Provider,
        inputs: np.ndarray,
        targets: np.ndarray,
    ) -> None:
        if not isinstance(provider, Provider):
            raise TypeError(f"`provider` must be a Provider (from get_provider), got {provider!r}")
        self.network = network
        self.loss = get_loss(loss)
        self.provider = provider
        check_finite_array("inputs", inputs)
        self.inputs, self.targets = check_batch(network, self.loss, inputs, targets)
        self.parameters = network.parameters

    @property
    def n_samples(self) -> int:
        return self.inputs.shape[0]

    def loss_and_gradient(self, indices: np.ndarray) -> Evaluation:
        return self.provider.compute(
            self.network, self.loss, self.inputs[indices], self.targets[indices]
        )


class Quadratic:
    """f(x) = x^2 with gradient 2x: gradient descent gives x_{k+1} = (1 - 2 rate) x_k."""

    n_samples = 1

    def __init__(self, x0: float) -> None:
        self.parameters = np.array([float(x0)])

    def loss_and_gradient(self, indices: np.ndarray) -> Evaluation:
        x = self.parameters[0]
        with np.errstate(over="ignore"):  # an overflow to inf is what divergence looks like
            return Evaluation(float(x * x), np.array([2.0 * x]))
