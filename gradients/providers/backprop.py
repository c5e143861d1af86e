"""Backpropagation: the chain rule evaluated once per layer, from the loss back to the inputs.

The forward pass keeps each layer's output ``a_l`` and local derivative ``f'(z_l)``. Going
back, ``delta_l = dL/dz_l`` is computed from ``delta_{l+1}`` alone,

    delta_L+1 = dL/dy_hat,   delta_l = (delta_{l+1} W_l) * f'(z_l),
    dL/dW_l = delta_{l+1}^T a_l,   dL/db_l = sum over the batch of delta_{l+1},

so each layer's result is reused by the layer before it: this reuse is the dynamic programme
that makes the cost linear in depth.

Counted multiplications for layer sizes n_0 .. n_M and batch B (one weight matrix per pair):

    forward          B * sum_l n_l n_{l+1}
    weight gradients B * sum_l n_l n_{l+1}
    delta through W  B * sum_{l>=1} n_l n_{l+1}         (no delta is needed for the inputs)
    times f'(z)      B * sum over hidden layers of n_l

and one loss evaluation.
"""

from __future__ import annotations

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider, forward_multiplications


class Backprop(Provider):
    name = "backprop"

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        counts = OpCounts()
        trace = network.forward_trace(inputs, counts)
        value, delta = loss.value_and_output_gradient(trace.outputs, targets)
        counts.loss_evaluations += 1

        gradient = np.empty_like(network.parameters)
        grad_weights, grad_biases = network.unflatten(gradient)
        batch_size = inputs.shape[0]
        for layer in reversed(range(len(network.weights))):
            W = network.weights[layer]
            # np.dot, not @: at batch 1 this is an outer product, which only np.dot sends to BLAS.
            np.dot(delta.T, trace.activations[layer], out=grad_weights[layer])
            if network.bias:
                np.sum(delta, axis=0, out=grad_biases[layer])
            counts.multiplications += batch_size * W.size
            if layer > 0:
                delta = np.dot(delta, W)
                delta *= trace.derivatives[layer - 1]
                counts.multiplications += batch_size * (W.size + W.shape[1])

        return Evaluation(value, gradient, counts)

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        pairs = list(zip(layer_sizes, layer_sizes[1:]))
        forward = forward_multiplications(layer_sizes, batch_size)
        through = batch_size * sum(n_in * n_out + n_in for n_in, n_out in pairs[1:])
        return OpCounts(multiplications=2 * forward + through, loss_evaluations=1)
