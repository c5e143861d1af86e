"""The chain rule expanded path by path, for each weight on its own.

For the weight ``W_l[j, i]`` (from unit i of layer l to unit j of layer l+1) the derivative of
the loss is a sum over every path ``j = u_{l+1} -> u_{l+2} -> ... -> u_M = k`` from that unit
to an output k of the product of the local derivatives met along the path:

    dL/dW_l[j, i] = sum_batch sum_paths  a_l[i] * f'(z_{l+1})[j]
                    * prod_{m = l+1}^{M-1} W_m[u_{m+1}, u_m] * f'(z_{m+1})[u_{m+1}]
                    * dL/dy_hat[k]

(there is no ``f'`` on the linear output layer). A bias is a weight from a unit whose output
is always 1, and is expanded the same way, the 1 included. One forward pass supplies every
local derivative; nothing else is shared: every path's product is multiplied out in full for
every weight, no partial product or sum is reused across paths or weights, and no sum is
factored into a product of sums. The work is numpy-vectorized over the batch, the weights of
one row and a chunk of paths: the same multiplications, done in fewer Python steps.

Counted multiplications. Let r_l = M - 1 - l be the number of weight matrices after W_l,
P_l = n_{l+2} * ... * n_M the number of paths from a unit of layer l+1 (P = 1 when r = 0),
and c_l = n_l + 1 with biases (n_l without). A path's product has 2 r_l + 2 factors (the
input, r_l weights, r_l - 1 hidden derivatives and f'(z_{l+1}) when r_l >= 1, and the output
derivative), hence 2 r_l + 1 multiplications; with one for the single-factor case r_l = 0:

    B * sum_l n_{l+1} * c_l * P_l * (2 r_l + 1)  +  B * sum_l n_l n_{l+1}  (the forward pass)

and one loss evaluation. With width w and depth D the first layer alone has P = w^(D-1) * n_M
paths per unit, so the cost grows by a factor w per added layer.
"""

from __future__ import annotations

import math

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP, ForwardTrace
from gradients.providers.base import Evaluation, Provider, forward_multiplications
from gradients.validation import check_positive_int

# Elements of the running path products held at once: 2^16 float64 values are 512 KiB,
# which stays in a core's L2 cache here and bounds the peak memory whatever the depth.
DEFAULT_BLOCK_ELEMENTS = 1 << 16


class Naive(Provider):
    name = "naive"

    def __init__(self, block_elements: int = DEFAULT_BLOCK_ELEMENTS) -> None:
        self.block_elements = check_positive_int("block_elements", block_elements)

    def describe(self) -> dict[str, object]:
        return {"provider": self.name, "block_elements": self.block_elements}

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        counts = OpCounts()
        trace = network.forward_trace(inputs, counts)
        value, output_gradient = loss.value_and_output_gradient(trace.outputs, targets)
        counts.loss_evaluations += 1

        gradient = np.zeros_like(network.parameters)
        grad_weights, grad_biases = network.unflatten(gradient)
        for layer in range(len(network.weights)):
            sources = trace.activations[layer]
            if network.bias:
                sources = np.hstack([sources, np.ones((sources.shape[0], 1), sources.dtype)])
            for j in range(network.weights[layer].shape[0]):
                row = self._row_gradient(
                    network, trace, output_gradient, sources, layer, j, counts
                )
                grad_weights[layer][j] = row[: grad_weights[layer].shape[1]]
                if network.bias:
                    grad_biases[layer][j] = row[-1]

        return Evaluation(value, gradient, counts)

    def _row_gradient(
        self,
        network: MLP,
        trace: ForwardTrace,
        output_gradient: np.ndarray,
        sources: np.ndarray,
        layer: int,
        j: int,
        counts: OpCounts,
    ) -> np.ndarray:
        """dL/dW_layer[j, :] (and the bias, as the last source): every path from unit j."""
        sizes = network.layer_sizes
        tail_sizes = sizes[layer + 2 :]  # the unit choices of a path after unit j
        n_paths = math.prod(tail_sizes)
        batch_size, n_sources = sources.shape
        chunk = max(1, self.block_elements // (batch_size * n_sources))

        row = np.zeros(n_sources, dtype=sources.dtype)
        for start in range(0, n_paths, chunk):
            paths = np.arange(start, min(start + chunk, n_paths))
            factors = self._path_factors(network, trace, output_gradient, layer, j, paths)
            # Every path's product, for every source unit, multiplied out in full.
            shape = (batch_size, n_sources, paths.size)
            product = np.multiply(
                sources[:, :, None], factors[0], out=np.empty(shape, sources.dtype)
            )
            for factor in factors[1:]:
                product *= factor
            counts.multiplications += product.size * len(factors)
            row += product.sum(axis=(0, 2))
        return row

    @staticmethod
    def _path_factors(
        network: MLP,
        trace: ForwardTrace,
        output_gradient: np.ndarray,
        layer: int,
        j: int,
        paths: np.ndarray,
    ) -> list[np.ndarray]:
        """The local derivatives along each path, shaped to broadcast as (batch, 1, path)."""
        n_matrices = len(network.weights)
        if layer == n_matrices - 1:
            return [output_gradient[:, j, None, None]]

        tail_sizes = network.layer_sizes[layer + 2 :]
        units = [np.full(paths.size, j)] + list(np.unravel_index(paths, tail_sizes))
        factors = [trace.derivatives[layer][:, j, None, None]]
        for m in range(layer + 1, n_matrices):
            came_from, goes_to = units[m - layer - 1], units[m - layer]
            factors.append(network.weights[m][goes_to, came_from][None, None, :])
            if m < n_matrices - 1:
                factors.append(trace.derivatives[m][:, goes_to][:, None, :])
        factors.append(output_gradient[:, units[-1]][:, None, :])
        return factors

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        n_matrices = len(layer_sizes) - 1
        expansion = 0
        for layer in range(n_matrices):
            remaining = n_matrices - 1 - layer
            n_paths = math.prod(layer_sizes[layer + 2 :])
            n_sources = layer_sizes[layer] + bias
            expansion += layer_sizes[layer + 1] * n_sources * n_paths * (2 * remaining + 1)
        forward = forward_multiplications(layer_sizes, batch_size)
        return OpCounts(multiplications=batch_size * expansion + forward, loss_evaluations=1)
