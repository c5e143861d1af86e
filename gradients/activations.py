"""Hidden-layer activations, each with its derivative written in terms of its output.

Writing f'(z) through a = f(z) lets the forward pass keep only the activations. ReLU's
derivative at the kink z = 0 is taken as 0 (its output is 0 there too), the usual convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activation:
    name: str
    function: Callable[[np.ndarray], np.ndarray]
    derivative_from_output: Callable[[np.ndarray], np.ndarray]
    has_kink: bool = False


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Split by sign so that exp never overflows.
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda a: a * (1.0 - a)),
    "relu": Activation(
        "relu", lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype), has_kink=True
    ),
}


def get_activation(name: str) -> Activation:
    """The activation called ``name``; a clear error lists the valid names."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"`activation` must be one of {valid}, got {name!r}") from None
