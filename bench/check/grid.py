"""The cells the gate measures, and which depths of each provider a grid holds.

The cells are digits-shaped networks (64 pixel inputs, tanh hidden layers of width 2, 10
classes, cross-entropy) at batch size 1, the case of SGD, on a seeded random sample: the
time of a gradient does not depend on the pixel values, and no data set has to be loaded.

For: a cell's network, loss and sample, its name, and the quick and full grids' depths.
Not for: timing a cell (``bench.check.measure``) or counting its instructions
(``bench.check.instructions``).
"""

from __future__ import annotations

import numpy as np

from gradients import MLP, Loss, get_loss

# The cells: digits-shaped networks at batch size 1 (see the module docstring).
N_INPUTS = 64
N_CLASSES = 10
WIDTH = 2
ACTIVATION = "tanh"
LOSS_NAME = "cross-entropy"
SEED = 0
BATCH_SIZE = 1

# Depths per provider. Each quick grid is part of its full grid, so a quick check compares
# with a baseline written by the full one. Five depths or more over a ratio of at least 4 is
# what the growth fits need (bench.fits); naive stops where one gradient takes about 1 ms
# (quick) or 4 ms (full), finite differences where one takes about 10 ms or 16 ms.
QUICK_DEPTHS = {
    "backprop": (1, 2, 4, 8, 16),
    "naive": (1, 2, 3, 4, 5, 6),
    "fd-forward": (1, 2, 3, 4, 5),
    "fd-central": (1, 2, 3, 4, 5),
}
FULL_DEPTHS = {
    "backprop": (1, 2, 4, 8, 16, 32),
    "naive": (1, 2, 3, 4, 5, 6, 7, 8),
    "fd-forward": (1, 2, 3, 4, 5, 6, 7, 8),
    "fd-central": (1, 2, 3, 4, 5, 6, 7, 8),
}
# Providers registered by users: a short range, since their cost is not known in advance.
OTHER_QUICK_DEPTHS = (1, 2, 3, 4, 5)
OTHER_FULL_DEPTHS = (1, 2, 3, 4, 5, 6)


def cell_name(provider: str, width: int, depth: int) -> str:
    return f"{provider} w{width} d{depth}"


def grid_depths(provider: str, quick: bool) -> tuple[int, ...]:
    table, other = (
        (QUICK_DEPTHS, OTHER_QUICK_DEPTHS) if quick else (FULL_DEPTHS, OTHER_FULL_DEPTHS)
    )
    return table.get(provider, other)


def digits_shaped_problem(width: int, depth: int) -> tuple[MLP, Loss, np.ndarray, np.ndarray]:
    """(network, loss, inputs, targets) of one cell: 64 inputs in [0, 1), 10 classes."""
    layer_sizes = (N_INPUTS, *([width] * depth), N_CLASSES)
    network = MLP(layer_sizes, ACTIVATION, seed=SEED)
    rng = np.random.default_rng(SEED)
    inputs = rng.random((BATCH_SIZE, N_INPUTS))
    targets = rng.integers(0, N_CLASSES, size=BATCH_SIZE)
    return network, get_loss(LOSS_NAME), inputs, targets
