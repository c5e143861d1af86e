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

Speed, which is what this provider is measured for:

- Every product goes to BLAS through ``np.dot``: at batch 1 the weight gradient is an outer
  product, which numpy's ``@`` computes without BLAS.
- Layer outputs, deltas and derivatives are written into buffers kept from the previous call
  for the same network and batch size (a ``Plan``): on this project's machines a fresh array
  of half a megabyte or more costs page faults that take longer than the arithmetic on it.
  The hidden outputs lie in one array, so ``f'`` of every layer is one call, not one a layer.
- The per-layer work is one loop over precomputed layers, so that at batch 1, where each
  numpy call costs about as much as its arithmetic, no call is made that could be avoided.

The returned gradient is always a new array. A provider instance keeps the plan of the last
network it saw, so it is not safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider, forward_multiplications


def _tanh_derivative(a: np.ndarray, out: np.ndarray) -> None:
    np.multiply(a, a, out=out)
    np.subtract(1.0, out, out=out)


def _sigmoid_derivative(a: np.ndarray, out: np.ndarray) -> None:
    np.subtract(1.0, a, out=out)
    np.multiply(a, out, out=out)


# Activations and derivatives written into a buffer, each giving the same numbers as its
# definition in ``gradients.activations``; one missing here is evaluated there and copied.
# NOTE: these belong beside those definitions, as optional ``out=`` forms of an Activation.
IN_PLACE_FUNCTIONS: dict[str, Callable[[np.ndarray], object]] = {
    "tanh": lambda z: np.tanh(z, out=z),
    "relu": lambda z: np.maximum(z, 0.0, out=z),
}
IN_PLACE_DERIVATIVES: dict[str, Callable[[np.ndarray, np.ndarray], None]] = {
    "tanh": _tanh_derivative,
    "sigmoid": _sigmoid_derivative,
}


@dataclass(frozen=True)
class Layer:
    """One weight matrix and the buffers and gradient slots that go with it."""

    W: np.ndarray
    WT: np.ndarray  # W.T, a view made once
    b: np.ndarray
    z: np.ndarray  # (B, n_out): z = a W^T + b, then a = f(z) in place on hidden layers
    bias_target: np.ndarray  # z, or its one row at batch 1, where adding b costs least
    a_in: np.ndarray | None  # the previous layer's z buffer; None for the inputs
    delta: np.ndarray | None  # (B, n_in) buffer of delta for this layer's input
    derivative: np.ndarray | None  # (B, n_in) view of f' at this layer's input
    weight_slot: slice  # where W's gradient lies in the flat gradient, row-major
    bias_slot: slice
    forward_multiplications: int
    through_multiplications: int  # delta through W, then times f'


@dataclass(frozen=True)
class Plan:
    """Everything about one network and batch size that does not change between calls."""

    network: MLP
    parameters: np.ndarray
    batch_size: int
    layers: tuple[Layer, ...]
    hidden: np.ndarray  # every hidden layer's output, one after the other
    derivatives: np.ndarray  # f' of every hidden output, laid out like ``hidden``

    @classmethod
    def build(cls, network: MLP, batch_size: int) -> Plan:
        dtype, sizes, B = network.dtype, network.layer_sizes, batch_size
        hidden = np.empty(B * sum(sizes[1:-1]), dtype)
        derivatives = np.empty_like(hidden)

        # Hidden outputs and their derivatives as views into the two shared arrays.
        outputs, derivative_views, start = [], [None], 0
        for n in sizes[1:-1]:
            outputs.append(hidden[start : start + B * n].reshape(B, n))
            derivative_views.append(derivatives[start : start + B * n].reshape(B, n))
            start += B * n
        outputs.append(np.empty((B, sizes[-1]), dtype))

        layers, offset = [], 0
        for index, (W, b) in enumerate(zip(network.weights, network.biases)):
            n_in = W.shape[1]
            z = outputs[index]
            layers.append(
                Layer(
                    W=W,
                    WT=W.T,
                    b=b,
                    z=z,
                    bias_target=z[0] if B == 1 else z,
                    a_in=outputs[index - 1] if index > 0 else None,
                    delta=np.empty((B, n_in), dtype) if index > 0 else None,
                    derivative=derivative_views[index],
                    weight_slot=slice(offset, offset + W.size),
                    bias_slot=slice(offset + W.size, offset + W.size + b.size),
                    forward_multiplications=B * W.size,
                    through_multiplications=B * (W.size + n_in),
                )
            )
            offset += W.size + b.size
        return cls(network, network.parameters, B, tuple(layers), hidden, derivatives)

    def fits(self, network: MLP, batch_size: int) -> bool:
        # The weights are views of ``parameters``: a network given a new parameter array
        # needs new views, hence the identity check on the array as well as the network.
        return (
            self.network is network
            and self.parameters is network.parameters
            and self.batch_size == batch_size
        )


class Backprop(Provider):
    name = "backprop"

    def __init__(self) -> None:
        self._plan: Plan | None = None

    def plan(self, network: MLP, batch_size: int) -> Plan:
        """The plan of the last call if it fits this one; only one is kept."""
        if self._plan is None or not self._plan.fits(network, batch_size):
            self._plan = Plan.build(network, batch_size)
        return self._plan

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        plan = self.plan(network, inputs.shape[0])
        activation, bias = network.activation, network.bias
        function = IN_PLACE_FUNCTIONS.get(activation.name)
        last = plan.layers[-1]
        multiplications = 0

        # Forward: a_{l+1} = f(a_l W_l^T + b_l), written into the plan's buffers.
        a = inputs
        for layer in plan.layers:
            z = np.dot(a, layer.WT, out=layer.z)
            if bias:
                np.add(layer.bias_target, layer.b, out=layer.bias_target)
            multiplications += layer.forward_multiplications
            if layer is not last:
                if function is None:
                    np.copyto(z, activation.function(z))
                else:
                    function(z)
            a = z
        value, delta = loss.value_and_output_gradient(a, targets)

        # f'(z) of every hidden layer at once, from the outputs.
        if activation.name in IN_PLACE_DERIVATIVES:
            IN_PLACE_DERIVATIVES[activation.name](plan.hidden, plan.derivatives)
        else:
            np.copyto(plan.derivatives, activation.derivative_from_output(plan.hidden))

        # Backward: each layer's gradient from delta, then delta for the layer before.
        gradient = np.empty_like(network.parameters)
        single = plan.batch_size == 1
        for layer in reversed(plan.layers):
            a_in = inputs if layer.a_in is None else layer.a_in
            np.dot(delta.T, a_in, out=gradient[layer.weight_slot].reshape(layer.W.shape))
            if bias and single:
                gradient[layer.bias_slot] = delta[0]  # the sum over a batch of one
            elif bias:
                np.add.reduce(delta, axis=0, out=gradient[layer.bias_slot])
            multiplications += layer.forward_multiplications
            if layer.a_in is not None:
                delta = np.dot(delta, layer.W, out=layer.delta)
                delta *= layer.derivative
                multiplications += layer.through_multiplications

        return Evaluation(value, gradient, OpCounts(multiplications, loss_evaluations=1))

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        pairs = list(zip(layer_sizes, layer_sizes[1:]))
        forward = forward_multiplications(layer_sizes, batch_size)
        through = batch_size * sum(n_in * n_out + n_in for n_in, n_out in pairs[1:])
        return OpCounts(multiplications=2 * forward + through, loss_evaluations=1)
