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
factored into a product of sums.

Counted multiplications. Let r_l = M - 1 - l be the number of weight matrices after W_l,
P_l = n_{l+2} * ... * n_M the number of paths from a unit of layer l+1 (P = 1 when r = 0),
and c_l = n_l + 1 with biases (n_l without). A path's product has 2 r_l + 2 factors (the
input, r_l weights, r_l - 1 hidden derivatives and f'(z_{l+1}) when r_l >= 1, and the output
derivative), hence 2 r_l + 1 multiplications; with one for the single-factor case r_l = 0:

    B * sum_l n_{l+1} * c_l * P_l * (2 r_l + 1)  +  B * sum_l n_l n_{l+1}  (the forward pass)

and one loss evaluation. With width w and depth D the first layer alone has P = w^(D-1) * n_M
paths per unit, so the cost grows by a factor w per added layer.

How the arithmetic is laid out, so that its cost is the multiplications and not Python:
the paths of a layer, from every unit j of layer l+1, are numbered in mixed radix
(j, u_{l+2}, ..., u_M) and taken in blocks. For a block, the factors along each path are
gathered once, as arrays over (path, sample); then for a block of sources the products
``source x factor_1 x ... x factor_{K-1}`` are multiplied out in place over an array of
(source, path, sample), and the last factor's multiplication is done together with the sum
over paths and samples, as a matrix-vector product in BLAS: the same multiplications, each
done once per path, weight and sample, with the additions of the sum done as BLAS does them.
On the last layer (r = 0) the single multiplication per path is the product of the output
derivative with the sources, summed over the batch: one matrix product.

The blocks are sized so that the products of one block, and its factors, are each at most
about ``block_elements`` values (or ``MIN_INNER_LENGTH`` paths x samples per factor, if
more): large enough that each numpy call does much arithmetic, small enough to stay near the
core. The memory held at once is thus bounded whatever the number of paths, which grows
exponentially with depth; only the number of factors per path grows, linearly.
"""

from __future__ import annotations

import math

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider, forward_multiplications
from gradients.validation import check_positive_int

# Values of products, and of gathered factors, held at once: 2^17 float64 values are 1 MiB.
# Of 2^14 .. 2^17 this was fastest on this project's 2-core machines (0.55-0.7 ns per
# multiplication against 0.65-1.3 at 2^15), although their L2 cache holds only 512 KiB:
# fewer, longer numpy calls outweigh the cache misses.
DEFAULT_BLOCK_ELEMENTS = 1 << 17

# Products over fewer (path, sample) pairs than this per source are numpy calls whose
# overhead outweighs their arithmetic.
MIN_INNER_LENGTH = 256


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

        # Per unit, its values over the batch, as contiguous rows for gathering by unit.
        derivative_rows = [np.ascontiguousarray(d.T) for d in trace.derivatives]
        output_rows = np.ascontiguousarray(output_gradient.T)

        gradient = np.zeros_like(network.parameters)
        grad_weights, grad_biases = network.unflatten(gradient)
        for layer in range(len(network.weights)):
            sources = trace.activations[layer]
            if network.bias:
                sources = np.hstack([sources, np.ones((sources.shape[0], 1), sources.dtype)])
            rows = self._layer_gradient(
                network, derivative_rows, output_rows, sources, layer, counts
            )
            grad_weights[layer][...] = rows[:, : grad_weights[layer].shape[1]]
            if network.bias:
                grad_biases[layer][...] = rows[:, -1]

        return Evaluation(value, gradient, counts)

    def _layer_gradient(
        self,
        network: MLP,
        derivative_rows: list[np.ndarray],
        output_rows: np.ndarray,
        sources: np.ndarray,
        layer: int,
        counts: OpCounts,
    ) -> np.ndarray:
        """dL/dW_layer with the bias as a last column: every path from every unit j."""
        batch_size, n_sources = sources.shape
        n_matrices = len(network.weights)
        if layer == n_matrices - 1:
            # One factor per path, the output derivative: its product with each source,
            # summed over the batch, is one matrix product.
            counts.multiplications += output_rows.shape[0] * n_sources * batch_size
            return np.dot(output_rows, sources)

        units_after = network.layer_sizes[layer + 1]
        tail_sizes = network.layer_sizes[layer + 2 :]
        n_tail = math.prod(tail_sizes)
        remaining = n_matrices - 1 - layer
        n_factors = 2 * remaining + 1
        n_sample_factors = remaining + 1  # the factors that vary with the sample
        block_paths, block_sources = self._block_shape(
            batch_size, n_sources, n_sample_factors, n_tail
        )
        source_rows = np.ascontiguousarray(sources.T)  # (source, sample)
        # One buffer for every block's products: a fresh array of this size per block would
        # cost page faults comparable to the multiplications.
        buffer = np.empty(block_sources * block_paths * batch_size, dtype=sources.dtype)

        rows = np.zeros((units_after, n_sources), dtype=sources.dtype)
        for first, count in _path_blocks(units_after * n_tail, block_paths, n_tail):
            units = np.unravel_index(np.arange(first, first + count), (units_after, *tail_sizes))
            factors = _path_factors(network, derivative_rows, output_rows, layer, units)
            last = factors.pop()
            # Paths of one unit j, or of whole units j .. j + n_units - 1.
            j, n_units = first // n_tail, max(1, count // n_tail)
            for start in range(0, n_sources, block_sources):
                stop = min(start + block_sources, n_sources)
                shape = (stop - start, count, batch_size)
                product = buffer[: math.prod(shape)].reshape(shape)
                np.multiply(source_rows[start:stop, None, :], factors[0], out=product)
                for factor in factors[1:]:
                    product *= factor
                counts.multiplications += product.size * n_factors
                rows[j : j + n_units, start:stop] += _sum_with_last_factor(product, last, n_units)
        return rows

    def _block_shape(
        self, batch_size: int, n_sources: int, n_sample_factors: int, n_tail: int
    ) -> tuple[int, int]:
        """Paths and sources per block: the products of all sources, and the gathered
        factors, each at most ``block_elements`` values where that leaves long enough
        inner loops; otherwise fewer sources at a time."""
        min_paths = -(-MIN_INNER_LENGTH // batch_size)
        widest = max(n_sources, n_sample_factors)
        block_paths = max(1, self.block_elements // (widest * batch_size))
        block_sources = n_sources
        if block_paths < min_paths:
            block_paths = min_paths
            block_sources = max(1, min(n_sources, self.block_elements // (min_paths * batch_size)))
        if block_paths >= n_tail:
            return block_paths - block_paths % n_tail, block_sources  # whole units only
        n_blocks = -(-n_tail // block_paths)
        return -(-n_tail // n_blocks), block_sources  # blocks within one unit, evened out

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


def _path_blocks(n_paths: int, block_paths: int, n_tail: int):
    """(first path, count) of each block; a block never holds part of a unit and more."""
    if block_paths >= n_tail:
        for first in range(0, n_paths, block_paths):
            yield first, min(block_paths, n_paths - first)
        return
    for unit_first in range(0, n_paths, n_tail):
        for first in range(unit_first, unit_first + n_tail, block_paths):
            yield first, min(block_paths, unit_first + n_tail - first)


def _path_factors(
    network: MLP,
    derivative_rows: list[np.ndarray],
    output_rows: np.ndarray,
    layer: int,
    units: tuple[np.ndarray, ...],
) -> list[np.ndarray]:
    """The factors along each path after the source, shaped (1, path, sample) or
    (1, path, 1) for the weights, which do not vary with the sample."""
    n_matrices = len(network.weights)
    factors = [derivative_rows[layer][units[0]][None]]
    for m in range(layer + 1, n_matrices):
        came_from, goes_to = units[m - layer - 1], units[m - layer]
        factors.append(network.weights[m][goes_to, came_from][None, :, None])
        if m < n_matrices - 1:
            factors.append(derivative_rows[m][goes_to][None])
    factors.append(output_rows[units[-1]])
    return factors


def _sum_with_last_factor(product: np.ndarray, last: np.ndarray, n_units: int) -> np.ndarray:
    """sum over paths and samples of product * last, per unit: (n_units, sources)."""
    n_block_sources = product.shape[0]
    if n_units == 1:
        return np.dot(product.reshape(n_block_sources, -1), last.reshape(-1))
    per_unit = product.reshape(n_block_sources, n_units, -1).transpose(1, 0, 2)
    return np.matmul(per_unit, last.reshape(n_units, -1, 1))[:, :, 0]
