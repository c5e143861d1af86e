"""Shared fixtures: the "net221" network of the field cases and seeded random problems.

Fixtures hand out builders rather than objects, because a provider may perturb a network's
parameters while it runs and every test wants a fresh network of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from gradients import MLP, Loss, get_loss

# net221: 2 inputs, one hidden layer of 2 tanh units, 1 linear output (rows are hidden units).
NET221_W1 = ((0.5, -0.3), (0.2, 0.8))
NET221_B1 = (0.1, -0.1)
NET221_W2 = ((0.7, -0.6),)
NET221_B2 = (0.05,)


@dataclass
class Problem:
    """A network with a loss and one batch of inputs and targets for it."""

    network: MLP
    loss: Loss
    inputs: np.ndarray
    targets: np.ndarray


def build_net221(
    activation: str = "tanh",
    *,
    dtype: type = np.float64,
    W1=NET221_W1,
    b1=NET221_B1,
    W2=NET221_W2,
    b2=NET221_B2,
) -> MLP:
    network = MLP((2, 2, 1), activation, dtype=dtype)
    network.weights[0][...] = W1
    network.biases[0][...] = b1
    network.weights[1][...] = W2
    network.biases[1][...] = b2
    return network


def build_random_problem(
    depth: int,
    width: int,
    activation: str = "tanh",
    loss_name: str = "mse",
    batch_size: int = 3,
    *,
    n_inputs: int = 3,
    n_outputs: int = 2,
    dtype: type = np.float64,
    bias: bool = True,
    seed: int = 0,
) -> Problem:
    """A seeded network of ``depth`` hidden layers of ``width`` units, with a random batch.

    Inputs and regression targets are standard normal; class labels are uniform. The biases
    are random too (the network starts them at 0), so that every bias gradient path is used.
    """
    layer_sizes = (n_inputs, *([width] * depth), n_outputs)
    network = MLP(layer_sizes, activation, seed=seed, dtype=dtype, bias=bias)
    rng = np.random.default_rng(seed + 1000)
    for b in network.biases:
        b[...] = 0.1 * rng.standard_normal(b.shape)
    inputs = rng.standard_normal((batch_size, n_inputs)).astype(dtype)
    if loss_name == "cross-entropy":
        targets = rng.integers(0, n_outputs, size=batch_size)
    else:
        targets = rng.standard_normal((batch_size, n_outputs)).astype(dtype)
    return Problem(network, get_loss(loss_name), inputs, targets)


@pytest.fixture
def make_net221() -> Callable[..., MLP]:
    """Builder of net221, optionally with another activation, dtype or parameters."""
    return build_net221


@pytest.fixture
def net221() -> MLP:
    return build_net221()


@pytest.fixture
def net221_sample() -> tuple[np.ndarray, np.ndarray]:
    """The one sample of the cases: x = [1.0, 0.5], y = 0.3."""
    return np.array([[1.0, 0.5]]), np.array([0.3])


@pytest.fixture
def net221_batch() -> tuple[np.ndarray, np.ndarray]:
    """The batch of three samples of case C06."""
    return np.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]]), np.array([0.3, -0.2, 0.1])


@pytest.fixture
def make_random_problem() -> Callable[..., Problem]:
    """Builder of seeded random problems; see ``build_random_problem``."""
    return build_random_problem
