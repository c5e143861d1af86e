"""Argument checks for the public API, each failing with one line that names the argument,
the rule and the value. The command line turns these ``ValueError``/``TypeError`` messages
into its one-line errors, so the rule is written once, here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np

from gradients.losses import Loss

SUPPORTED_DTYPES = ("float64", "float32")


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a positive finite number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}")
    return float(value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    choices = sorted(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def check_layer_sizes(layer_sizes: Sequence[int]) -> tuple[int, ...]:
    if isinstance(layer_sizes, str | bytes) or not isinstance(layer_sizes, Sequence):
        raise TypeError(f"`layer_sizes` must be a sequence of integers, got {layer_sizes!r}")
    if len(layer_sizes) < 2:
        raise ValueError(
            f"`layer_sizes` must list at least inputs and outputs, got {list(layer_sizes)}"
        )
    for size in layer_sizes:
        if isinstance(size, bool) or not isinstance(size, Integral) or size < 1:
            raise ValueError(f"`layer_sizes` must be positive integers, got {list(layer_sizes)}")
    return tuple(int(size) for size in layer_sizes)


def check_dtype(dtype: object) -> type:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = repr(dtype)
    if name not in SUPPORTED_DTYPES:
        raise ValueError(f"`dtype` must be one of {', '.join(SUPPORTED_DTYPES)}, got {name}")
    return np.dtype(name).type


def check_finite_array(name: str, values: np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(values)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"`{name}` must be a numeric array, got {error}") from None
    real = np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)
    if not real:
        raise TypeError(f"`{name}` must be a real-valued numeric array, got dtype {values.dtype}")
    if not np.all(np.isfinite(values)):
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise ValueError(f"`{name}` must be finite, got {bad} NaN or infinite values")
    return values


def check_batch(network, loss, inputs: np.ndarray, targets: np.ndarray):
    """Inputs and targets that fit ``network`` and ``loss``, in the network's dtype.

    This runs once per checked gradient call, never inside a timed loop (those call
    ``Provider.compute``), so checking every input for NaN costs less than one forward pass.
    """
    from gradients.network import MLP  # here, because the network module imports this one

    if not isinstance(network, MLP):
        raise TypeError(f"`network` must be an MLP, got {type(network).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"`loss` must be a Loss (see get_loss), got {loss!r}")
    inputs = check_finite_array("inputs", inputs).astype(network.dtype, copy=False)
    n_inputs = network.layer_sizes[0]
    if inputs.ndim != 2 or inputs.shape[1] != n_inputs or inputs.shape[0] < 1:
        raise ValueError(
            f"`inputs` must have shape (n_samples >= 1, {n_inputs}) to match the network, "
            f"got {inputs.shape}"
        )
    targets = loss.check_targets(targets, network.layer_sizes[-1], network.dtype)
    if targets.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"`targets` must have one row per input sample ({inputs.shape[0]}), "
            f"got {targets.shape[0]}"
        )
    return inputs, targets
