"""HIPS autograd's gradient of our network: ``autograd.value_and_grad`` of a numpy function.

For: the ``autograd`` peer provider. autograd traces numpy calls made through
``autograd.numpy`` on every call and replays them backwards, so it runs on our own arrays:
nothing is converted, and its cost over plain numpy is the tracing.
Not for: anything beyond the peer comparison.

Sigmoid is written as (1 + tanh(z/2)) / 2, which never overflows; ReLU as z * (z > 0), whose
derivative at the kink is 0, the convention of our own activations (autograd's
``maximum`` would give 1/2 there).
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad
from autograd.scipy.special import logsumexp

from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.peers import (
    PeerProvider,
    PreparedPeer,
    check_peer_support,
    peer_evaluation,
)

ACTIVATIONS = {
    "tanh": anp.tanh,
    "sigmoid": lambda z: 0.5 * (1.0 + anp.tanh(0.5 * z)),
    "relu": lambda z: z * (z > 0),
}


def mean_squared_error(outputs, targets):
    residual = outputs - targets
    return 0.5 * anp.sum(residual * residual) / outputs.shape[0]


def cross_entropy(outputs, labels):
    log_p = outputs - logsumexp(outputs, axis=1, keepdims=True)
    return -anp.mean(log_p[anp.arange(outputs.shape[0]), labels])


LOSSES = {"mse": mean_squared_error, "cross-entropy": cross_entropy}


def autograd_loss_function(network: MLP, loss: Loss):
    """``f(layers, inputs, targets)`` with ``layers`` a list of (W, b) pairs."""
    check_peer_support(network, loss, ACTIVATIONS, LOSSES)
    activation, loss_function = ACTIVATIONS[network.activation.name], LOSSES[loss.name]
    bias = network.bias

    def f(layers, inputs, targets):
        a = inputs
        for layer, (W, b) in enumerate(layers):
            a = anp.dot(a, W.T) + b if bias else anp.dot(a, W.T)
            if layer < len(layers) - 1:
                a = activation(a)
        return loss_function(a, targets)

    return f


class HipsAutograd(PeerProvider):
    name = "autograd"
    package = "autograd"

    def prepare(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> PreparedPeer:
        f = autograd_loss_function(network, loss)
        value_and_gradient = value_and_grad(f)
        layers = list(zip(network.weights, network.biases))

        def gradient():
            return value_and_gradient(layers, inputs, targets)

        def loss_only():
            return f(layers, inputs, targets)

        def evaluation(result):
            value, layer_gradients = result
            return peer_evaluation(network, value, layer_gradients)

        return PreparedPeer(gradient, loss_only, evaluation)
