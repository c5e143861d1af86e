"""Finite differences: each partial derivative from losses at perturbed parameters.

    forward:  dL/dtheta_i ~ (L(theta + h e_i) - L(theta)) / h          P + 1 loss evaluations
    central:  dL/dtheta_i ~ (L(theta + h e_i) - L(theta - h e_i)) / 2h  2P loss evaluations

The truncation error is O(h) for forward and O(h^2) for central differences, the rounding
error O(eps / h); balancing them gives the default steps h = sqrt(eps) (forward) and
h = eps^(1/3) (central), with eps the machine epsilon of the network's dtype: about 1.5e-8
and 6.1e-6 in float64, 3.5e-4 and 4.9e-3 in float32. The step actually taken is
(theta + h) - theta, which is exact in floating point, so the quotient divides by the
perturbation that was really made.

Each loss evaluation is a forward pass (``B * sum_l n_l n_{l+1}`` multiplications); the
subtractions and divisions of the quotients are not counted. Forward differences report
L(theta), which they evaluate anyway. Central differences never evaluate L(theta): they
report the mean of the two losses around the first parameter, which differs from L(theta) by
O(h^2) (about 1e-11 relatively at the default step) and keeps their cost at exactly 2P.

Two ways to run the same evaluations, chosen by size:

- a loop: perturb one parameter in place, run the network's forward pass, restore it;
- vectorized: several perturbed copies of the network evaluated in one batched pass, each
  copy's forward pass computed in full (the layers before the perturbed one too, as a loop
  would), so the counted multiplications are the same. It saves the per-call overhead of
  numpy that dominates small networks, and costs copies of the perturbed layer's weights,
  which stop paying once one forward pass is itself large.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider, forward_multiplications
from gradients.validation import check_positive_finite

# The vectorized evaluation is used where a layer's outputs for the whole batch are at most
# this many values (batch size x widest layer after the inputs): there the per-call overhead
# of numpy outweighs the arithmetic. Measured on this project's 2-core machines (one BLAS
# thread, float64, digits-shaped networks, central differences), the vectorized pass took
# 1/12 to 1/4 of the loop's time at batch 1 up to width 64 and 1/2 at width 256; at batch 16
# or 64, 1/4 to 1/2 up to 640 values and 0.8 at 1024; at batch 256 (2560 values or more),
# 1.03 to 1.15 of it. A machine with cheaper numpy calls has a lower crossover.
VECTORIZE_UP_TO_VALUES = 1 << 10

# Values held by one batched pass (the copies of the perturbed layer and the activations of
# every copy): 2^18 float64 values are 2 MiB, which bounds the memory whatever the network.
BATCH_ELEMENTS = 1 << 18


def default_step(scheme: str, dtype: type) -> float:
    eps = float(np.finfo(dtype).eps)
    return eps ** (1 / 2) if scheme == "forward" else eps ** (1 / 3)


def _mean_squared_errors(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    residual = outputs - targets
    return 0.5 * np.sum(residual * residual, axis=(1, 2)) / outputs.shape[1]


def _cross_entropies(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    shifted = outputs - outputs.max(axis=2, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    rows = np.arange(outputs.shape[1])
    return -log_p[:, rows, targets].sum(axis=1) / outputs.shape[1]


# The losses of a stack of outputs, one per network copy, by the formulas of
# ``gradients.losses``; a loss missing here is evaluated copy by copy with its ``value``.
# NOTE: this belongs in ``gradients.losses``, as a per-sample form of each Loss.
STACKED_LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mse": _mean_squared_errors,
    "cross-entropy": _cross_entropies,
}


class FiniteDifferences(Provider):
    exact = False
    scheme = ""

    def __init__(self, step: float | None = None, vectorize: bool | None = None) -> None:
        self.step = None if step is None else check_positive_finite("step", step)
        if vectorize is not None and not isinstance(vectorize, bool):
            raise TypeError(f"`vectorize` must be True, False or None, got {vectorize!r}")
        self.vectorize = vectorize

    def step_for(self, network: MLP) -> float:
        return self.step if self.step is not None else default_step(self.scheme, network.dtype)

    def describe(self) -> dict[str, object]:
        # The step actually taken depends on the network's dtype when none was given.
        step = self.step if self.step is not None else f"default ({self.scheme}, per dtype)"
        return {"provider": self.name, "step": step, "vectorize": self.vectorize}

    def vectorized_for(self, network: MLP, batch_size: int) -> bool:
        """Whether the perturbed losses are evaluated in batched passes, not one by one."""
        if self.vectorize is not None:
            return self.vectorize
        return batch_size * max(network.layer_sizes[1:]) <= VECTORIZE_UP_TO_VALUES

    @staticmethod
    def _loss(network: MLP, loss: Loss, inputs: np.ndarray, targets, counts: OpCounts):
        counts.loss_evaluations += 1
        return loss.value(network.forward(inputs, counts), targets)

    def perturbed_losses(
        self,
        network: MLP,
        loss: Loss,
        inputs: np.ndarray,
        targets: np.ndarray,
        values: np.ndarray,
        counts: OpCounts,
    ) -> np.ndarray:
        """L(theta with theta_i replaced by values[i]), for every parameter i."""
        if self.vectorized_for(network, inputs.shape[0]):
            return _stacked_losses(network, loss, inputs, targets, values, counts)
        theta = network.parameters
        losses = np.empty(theta.size)
        for i in range(theta.size):
            original = theta[i]
            theta[i] = values[i]
            losses[i] = self._loss(network, loss, inputs, targets, counts)
            theta[i] = original
        return losses


class ForwardDifferences(FiniteDifferences):
    name = "fd-forward"
    scheme = "forward"

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        counts = OpCounts()
        theta = network.parameters
        base = self._loss(network, loss, inputs, targets, counts)
        up = theta + self.step_for(network)
        above = self.perturbed_losses(network, loss, inputs, targets, up, counts)
        gradient = ((above - base) / (up - theta)).astype(theta.dtype)
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
        theta = network.parameters
        step = self.step_for(network)
        up, down = theta + step, theta - step
        above = self.perturbed_losses(network, loss, inputs, targets, up, counts)
        below = self.perturbed_losses(network, loss, inputs, targets, down, counts)
        gradient = ((above - below) / (up - down)).astype(theta.dtype)
        value = float(0.5 * (above[0] + below[0])) if theta.size else None
        return Evaluation(value, gradient, counts)

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        n_evaluations = 2 * _n_parameters(layer_sizes, bias)
        forward = forward_multiplications(layer_sizes, batch_size)
        return OpCounts(n_evaluations * forward, n_evaluations)


def _stacked_losses(
    network: MLP,
    loss: Loss,
    inputs: np.ndarray,
    targets: np.ndarray,
    values: np.ndarray,
    counts: OpCounts,
) -> np.ndarray:
    """The perturbed losses of ``perturbed_losses``, in batched passes of network copies."""
    sizes = [W.size + b.size for W, b in zip(network.weights, network.biases)]
    layer_of = np.repeat(np.arange(len(sizes)), sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_copy = max(sizes) + 2 * inputs.shape[0] * max(network.layer_sizes)
    chunk = max(1, BATCH_ELEMENTS // per_copy)

    losses = np.empty(network.n_parameters)
    for start in range(0, network.n_parameters, chunk):
        indices = np.arange(start, min(start + chunk, network.n_parameters))
        layers = layer_of[indices]
        losses[indices] = _copies_losses(
            network, loss, inputs, targets, layers, indices - offsets[layers],
            values[indices], counts,
        )  # fmt: skip
    return losses


def _copies_losses(
    network: MLP,
    loss: Loss,
    inputs: np.ndarray,
    targets: np.ndarray,
    layers: np.ndarray,
    local: np.ndarray,
    values: np.ndarray,
    counts: OpCounts,
) -> np.ndarray:
    """Losses of copies of the network, copy k with parameter ``local[k]`` of layer
    ``layers[k]`` (counted from the start of its weights, then its biases) set to
    ``values[k]``.

    Every copy's forward pass is computed in full: in each layer the copies that share its
    weights are rows of one matrix product, the others a batched product with their own.
    """
    n_copies, batch_size = values.size, inputs.shape[0]
    a = np.broadcast_to(inputs, (n_copies, *inputs.shape))
    last = len(network.weights) - 1
    for m, (W, b) in enumerate(zip(network.weights, network.biases)):
        own = layers == m
        if own.any():
            z = _perturbed_layer(a, W, b, network.bias, own, local[own], values[own])
        else:
            z = np.dot(a.reshape(-1, W.shape[1]), W.T).reshape(n_copies, batch_size, -1)
            if network.bias:
                z += b
        counts.multiplications += n_copies * batch_size * W.size
        a = network.activation.function(z) if m < last else z

    counts.loss_evaluations += n_copies
    stacked = STACKED_LOSSES.get(loss.name)
    if stacked is not None:
        return stacked(a, targets)
    return np.array([loss.value(copy, targets) for copy in a])


def _perturbed_layer(
    a: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    bias: bool,
    own: np.ndarray,
    local: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """z of every copy, (copy, sample, unit); the copies marked ``own`` have parameter
    ``local`` of this layer set to ``values``, the others this layer's weights."""
    n_copies, batch_size = a.shape[:2]
    z = np.empty((n_copies, batch_size, W.shape[0]), dtype=np.result_type(a, W))
    shared = ~own
    if shared.any():
        rows = a[shared].reshape(-1, W.shape[1])
        z[shared] = np.dot(rows, W.T).reshape(-1, batch_size, W.shape[0])

    n_own, copies = values.size, np.arange(values.size)
    in_weights = local < W.size
    weights = np.repeat(W[None], n_own, axis=0)
    weights.reshape(n_own, -1)[copies[in_weights], local[in_weights]] = values[in_weights]
    z[own] = np.matmul(a[own], weights.transpose(0, 2, 1))
    if bias:
        z[shared] += b
        biases = np.repeat(b[None], n_own, axis=0)
        in_biases = ~in_weights
        biases[copies[in_biases], local[in_biases] - W.size] = values[in_biases]
        z[own] += biases[:, None, :]
    return z


def _n_parameters(layer_sizes: tuple[int, ...], bias: bool) -> int:
    return sum(n_out * (n_in + bias) for n_in, n_out in zip(layer_sizes, layer_sizes[1:]))
