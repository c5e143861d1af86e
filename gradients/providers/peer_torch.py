"""PyTorch's gradient of our network: eager autograd, and the functional ``torch.func.grad``.

For: the ``torch`` and ``torch-func`` peer providers. The network is rebuilt as one
``F.linear`` per layer on leaf tensors that share memory with our weights
(``torch.from_numpy`` copies nothing), with the same activation and loss; the gradient comes
back per layer and is laid out flat afterwards, outside the timed call.
Not for: setting torch's thread counts (global; the harness pins them) or training in torch.

- ``torch``: what a PyTorch user writes, a forward pass on tensors that require grad and
  ``torch.autograd.grad`` of the loss (which returns the gradients without accumulating them
  into ``.grad``, so no zeroing is needed between calls).
- ``torch-func``: ``torch.func.grad_and_value`` of a pure function of the parameters.

The loss alone is the forward pass under ``torch.no_grad()``, as a user evaluates a model.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation
from gradients.providers.peers import (
    PeerProvider,
    PreparedPeer,
    check_peer_support,
    peer_evaluation,
)

ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


def mean_squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Our mse is the batch mean of 0.5 * ||y_hat - y||^2, not torch's mean over all entries.
    return F.mse_loss(outputs, targets, reduction="sum") * (0.5 / outputs.shape[0])


LOSSES = {"mse": mean_squared_error, "cross-entropy": F.cross_entropy}


def torch_parameters(network: MLP, requires_grad: bool) -> list[torch.Tensor]:
    """W_0, b_0, W_1, b_1, ... as tensors sharing memory with ``network`` (no b without bias)."""
    parameters = []
    for W, b in zip(network.weights, network.biases):
        parameters.append(torch.from_numpy(W).requires_grad_(requires_grad))
        if network.bias:
            parameters.append(torch.from_numpy(b).requires_grad_(requires_grad))
    return parameters


def torch_loss_function(network: MLP, loss: Loss):
    """``f(parameters, inputs, targets)``, the loss of the network written in torch."""
    check_peer_support(network, loss, ACTIVATIONS, LOSSES)
    activation, loss_function = ACTIVATIONS[network.activation.name], LOSSES[loss.name]
    step = 2 if network.bias else 1
    n_layers = len(network.weights)

    def f(parameters, inputs, targets):
        a = inputs
        for layer in range(n_layers):
            W = parameters[step * layer]
            b = parameters[step * layer + 1] if step == 2 else None
            a = F.linear(a, W, b)
            if layer < n_layers - 1:
                a = activation(a)
        return loss_function(a, targets)

    return f


def as_layers(network: MLP, gradients) -> list[tuple[object, object]]:
    """Flat (dW_0, db_0, dW_1, ...) as per-layer pairs, with no db without biases."""
    if network.bias:
        return list(zip(gradients[0::2], gradients[1::2]))
    return [(dW, None) for dW in gradients]


class TorchPeer(PeerProvider):
    package = "torch"

    def evaluation(self, network: MLP):
        def to_evaluation(result) -> Evaluation:
            value, gradients = result
            layers = as_layers(network, [g.numpy() for g in gradients])
            return peer_evaluation(network, float(value.detach()), layers)

        return to_evaluation

    @staticmethod
    def tensors(inputs: np.ndarray, targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(targets)


class TorchEager(TorchPeer):
    name = "torch"

    def prepare(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> PreparedPeer:
        f = torch_loss_function(network, loss)
        parameters = torch_parameters(network, requires_grad=True)
        X, Y = self.tensors(inputs, targets)

        def gradient():
            value = f(parameters, X, Y)
            return value, torch.autograd.grad(value, parameters)

        def loss_only():
            with torch.no_grad():
                return f(parameters, X, Y)

        return PreparedPeer(gradient, loss_only, self.evaluation(network))


class TorchFunc(TorchPeer):
    name = "torch-func"

    def prepare(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> PreparedPeer:
        f = torch_loss_function(network, loss)
        gradient_and_value = torch.func.grad_and_value(f)
        parameters = tuple(torch_parameters(network, requires_grad=False))
        X, Y = self.tensors(inputs, targets)

        def gradient():
            gradients, value = gradient_and_value(parameters, X, Y)
            return value, gradients

        def loss_only():
            with torch.no_grad():
                return f(parameters, X, Y)

        return PreparedPeer(gradient, loss_only, self.evaluation(network))
