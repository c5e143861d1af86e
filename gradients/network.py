"""A multilayer perceptron whose parameters live in one flat vector.

Layer ``l`` maps ``a_l`` (shape ``(batch, n_l)``) to ``z_{l+1} = a_l W_l^T + b_l`` with ``W_l`` of
shape ``(n_{l+1}, n_l)`` (rows are the receiving units). Hidden layers apply the activation; the
output layer is linear. The flat vector holds, layer by layer, ``W_l`` row-major and then
``b_l``; ``weights`` and ``biases`` are views into it, so an update of the flat vector is an
update of the network and a gradient has the same layout.

Inputs are rows: a batch is an array of shape ``(n_samples, n_inputs)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradients.activations import Activation, get_activation
from gradients.counting import OpCounts
from gradients.validation import check_dtype, check_layer_sizes, check_positive_int


@dataclass
class ForwardTrace:
    """What a forward pass keeps for the chain rule."""

    activations: list[np.ndarray]  # a_0 = inputs, a_1 .. a_L hidden outputs
    derivatives: list[np.ndarray]  # f'(z_l) for each hidden layer l = 1 .. L
    outputs: np.ndarray


class MLP:
    """A multilayer perceptron given by its layer sizes ``(inputs, *hidden, outputs)``."""

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "tanh",
        *,
        seed: int = 0,
        dtype: type | str = np.float64,
        bias: bool = True,
    ) -> None:
        self.layer_sizes = check_layer_sizes(layer_sizes)
        self.activation: Activation = get_activation(activation)
        self.dtype = check_dtype(dtype)
        if not isinstance(bias, bool):
            raise TypeError(f"`bias` must be True or False, got {bias!r}")
        self.bias = bias
        seed = check_positive_int("seed", seed, minimum=0)
        self.parameters = np.zeros(self._n_parameters(), dtype=self.dtype)
        self.weights, self.biases = self.unflatten(self.parameters)
        self._initialise(seed)

    def _n_parameters(self) -> int:
        sizes = self.layer_sizes
        return sum(n_out * (n_in + self.bias) for n_in, n_out in zip(sizes, sizes[1:]))

    def _initialise(self, seed: int) -> None:
        # Variance 1/fan_in keeps tanh and sigmoid layers out of saturation; ReLU wants 2/fan_in.
        gain = 2.0 if self.activation.name == "relu" else 1.0
        rng = np.random.default_rng(seed)
        for W in self.weights:
            W[...] = rng.standard_normal(W.shape) * np.sqrt(gain / W.shape[1])

    @property
    def n_parameters(self) -> int:
        return self.parameters.size

    @property
    def depth(self) -> int:
        """The number of hidden layers."""
        return len(self.layer_sizes) - 2

    def unflatten(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer weight and bias views into a flat vector laid out like the parameters."""
        if flat.shape != (self._n_parameters(),):
            raise ValueError(f"`flat` must have shape ({self._n_parameters()},), got {flat.shape}")
        weights, biases, start = [], [], 0
        for n_in, n_out in zip(self.layer_sizes, self.layer_sizes[1:]):
            weights.append(flat[start : start + n_out * n_in].reshape(n_out, n_in))
            start += n_out * n_in
            n_bias = n_out if self.bias else 0
            biases.append(flat[start : start + n_bias])
            start += n_bias
        return weights, biases

    def copy(self) -> MLP:
        clone = object.__new__(MLP)
        clone.layer_sizes = self.layer_sizes
        clone.activation = self.activation
        clone.dtype = self.dtype
        clone.bias = self.bias
        clone.parameters = self.parameters.copy()
        clone.weights, clone.biases = clone.unflatten(clone.parameters)
        return clone

    def _affine(self, a: np.ndarray, layer: int, counts: OpCounts | None) -> np.ndarray:
        W, b = self.weights[layer], self.biases[layer]
        z = np.dot(a, W.T)
        if self.bias:
            z += b
        if counts is not None:
            counts.multiplications += a.shape[0] * W.size
        return z

    def forward(self, inputs: np.ndarray, counts: OpCounts | None = None) -> np.ndarray:
        """The outputs for a batch of inputs; multiplications are added to ``counts``."""
        a = inputs
        last = len(self.weights) - 1
        for layer in range(last):
            a = self.activation.function(self._affine(a, layer, counts))
        return self._affine(a, last, counts)

    def forward_trace(self, inputs: np.ndarray, counts: OpCounts | None = None) -> ForwardTrace:
        """A forward pass that keeps each layer's output and local derivative."""
        activations, derivatives = [inputs], []
        last = len(self.weights) - 1
        for layer in range(last):
            a = self.activation.function(self._affine(activations[-1], layer, counts))
            activations.append(a)
            derivatives.append(self.activation.derivative_from_output(a))
        outputs = self._affine(activations[-1], last, counts)
        return ForwardTrace(activations, derivatives, outputs)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return f"MLP({sizes}, {self.activation.name}, {np.dtype(self.dtype).name})"
