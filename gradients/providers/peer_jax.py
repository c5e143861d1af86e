"""JAX's gradient of our network: ``jax.jit(jax.value_and_grad(loss))``, float64 enabled.

For: the ``jax`` peer provider. The network is a pure function of a list of (W, b) pairs;
the jitted gradient and loss are kept per network structure (layer sizes, activation, bias,
loss), so a second network of the same shape reuses the compiled code, and jit itself keeps
one compilation per shape and dtype of the arguments. Every timed call waits for its result
with ``block_until_ready``: JAX dispatches asynchronously, and an unawaited call would time
only the dispatch.
Not for: setting XLA's threads: ``XLA_FLAGS`` is read once, when jax is imported, so the
harness sets it before the first import.

Constructing the provider turns on ``jax_enable_x64``, a process-wide setting: without it
JAX silently computes a float64 network in float32. float32 networks stay float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.peers import (
    PeerProvider,
    PreparedPeer,
    check_peer_support,
    peer_evaluation,
)

ACTIVATIONS = {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}


def mean_squared_error(outputs, targets):
    residual = outputs - targets
    return 0.5 * jnp.sum(residual * residual) / outputs.shape[0]


def cross_entropy(outputs, labels):
    log_p = jax.nn.log_softmax(outputs, axis=1)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))


LOSSES = {"mse": mean_squared_error, "cross-entropy": cross_entropy}


def jax_loss_function(activation_name: str, loss_name: str, bias: bool):
    """``f(layers, inputs, targets)`` with ``layers`` a list of (W, b) pairs (b unused
    without bias)."""
    activation, loss_function = ACTIVATIONS[activation_name], LOSSES[loss_name]

    def f(layers, inputs, targets):
        a = inputs
        for layer, (W, b) in enumerate(layers):
            a = a @ W.T + b if bias else a @ W.T
            if layer < len(layers) - 1:
                a = activation(a)
        return loss_function(a, targets)

    return f


class JaxJit(PeerProvider):
    name = "jax"
    package = "jax"

    def __init__(self) -> None:
        jax.config.update("jax_enable_x64", True)
        self._functions: dict[tuple, tuple] = {}

    def functions(self, network: MLP, loss: Loss) -> tuple:
        """The jitted (value and gradient, loss) pair for this structure, built once."""
        check_peer_support(network, loss, ACTIVATIONS, LOSSES)
        key = (network.layer_sizes, network.activation.name, network.bias, loss.name)
        if key not in self._functions:
            f = jax_loss_function(network.activation.name, loss.name, network.bias)
            self._functions[key] = (jax.jit(jax.value_and_grad(f)), jax.jit(f))
        return self._functions[key]

    def prepare(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> PreparedPeer:
        value_and_gradient, loss_function = self.functions(network, loss)
        layers = [
            (jnp.asarray(W), jnp.asarray(b)) for W, b in zip(network.weights, network.biases)
        ]
        X, Y = jnp.asarray(inputs), jnp.asarray(targets)

        def gradient():
            return jax.block_until_ready(value_and_gradient(layers, X, Y))

        def loss_only():
            return jax.block_until_ready(loss_function(layers, X, Y))

        def evaluation(result):
            value, layer_gradients = result
            return peer_evaluation(network, value, layer_gradients)

        return PreparedPeer(gradient, loss_only, evaluation)
