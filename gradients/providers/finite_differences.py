"""Finite differences: each partial derivative from losses at perturbed parameters.

    forward:  dL/dtheta_i ~ (L(theta + h e_i) - L(theta)) / h          P + 1 loss evaluations
    central:  dL/dtheta_i ~ (L(theta + h e_i) - L(theta - h e_i)) / 2h  2P loss evaluations

The truncation error is O(h) for forward and O(h^2) for central differences, the rounding
error O(eps / h); balancing them gives the default steps h = sqrt(eps) (forward) and
h = eps^(1/3) (central), with eps the machine epsilon of the network's dtype: about 1.5e-8
and 6.1e-6 in float64. The step actually taken is (theta + h) - theta, which is exact in
floating point, so the quotient divides by the perturbation that was really made.

Each loss evaluation is a forward pass (``B * sum_l n_l n_{l+1}`` multiplications); the
subtractions and divisions of the quotients are not counted. Forward differences report
L(theta), which they evaluate anyway. Central differences never evaluate L(theta): they
report the mean of the two losses around the first parameter, which differs from L(theta) by
O(h^2) (about 1e-11 relatively at the default step) and keeps their cost at exactly 2P.
"""

from __future__ import annotations

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider, forward_multiplications
from gradients.validation import check_positive_finite


def default_step(scheme: str, dtype: type) -> float:
    eps = float(np.finfo(dtype).eps)
    return eps ** (1 / 2) if scheme == "forward" else eps ** (1 / 3)


class FiniteDifferences(Provider):
    exact = False
    scheme = ""

    def __init__(self, step: float | None = None) -> None:
        self.step = None if step is None else check_positive_finite("step", step)

    def step_for(self, network: MLP) -> float:
        return self.step if self.step is not None else default_step(self.scheme, network.dtype)

    def describe(self) -> dict[str, object]:
        return {"provider": self.name, "step": self.step}

    @staticmethod
    def _loss(network: MLP, loss: Loss, inputs: np.ndarray, targets, counts: OpCounts):
        counts.loss_evaluations += 1
        return loss.value(network.forward(inputs, counts), targets)


class ForwardDifferences(FiniteDifferences):
    name = "fd-forward"
    scheme = "forward"

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        counts = OpCounts()
        step = self.step_for(network)
        theta = network.parameters
        gradient = np.empty_like(theta)
        base = self._loss(network, loss, inputs, targets, counts)
        for i in range(theta.size):
            original = theta[i]
            theta[i] = original + step
            taken = theta[i] - original
            gradient[i] = (self._loss(network, loss, inputs, targets, counts) - base) / taken
            theta[i] = original
        return Evaluation(base, gradient, counts)

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        n_parameters = _n_parameters(layer_sizes, bias)
        forward = forward_multiplications(layer_sizes, batch_size)
        return OpCounts((n_parameters + 1) * forward, n_parameters + 1)


class CentralDifferences(FiniteDifferences):
    name = "fd-central"
    scheme = "central"

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        counts = OpCounts()
        step = self.step_for(network)
        theta = network.parameters
        gradient = np.empty_like(theta)
        value = None
        for i in range(theta.size):
            original = theta[i]
            theta[i] = original + step
            above, up = self._loss(network, loss, inputs, targets, counts), theta[i]
            theta[i] = original - step
            below, down = self._loss(network, loss, inputs, targets, counts), theta[i]
            theta[i] = original
            gradient[i] = (above - below) / (up - down)
            if value is None:
                value = 0.5 * (above + below)
        return Evaluation(value, gradient, counts)

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        n_evaluations = 2 * _n_parameters(layer_sizes, bias)
        forward = forward_multiplications(layer_sizes, batch_size)
        return OpCounts(n_evaluations * forward, n_evaluations)


def _n_parameters(layer_sizes: tuple[int, ...], bias: bool) -> int:
    return sum(n_out * (n_in + bias) for n_in, n_out in zip(layer_sizes, layer_sizes[1:]))
