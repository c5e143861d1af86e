"""The closed-form cost models (``predict_counts``) against what the providers counted.

The counts are exact integers, so the comparison is equality. The hand-worked totals of
net221 and the three network shapes of case C05 pin the formulas to numbers on paper.
"""

import itertools

import numpy as np
import pytest

from gradients import MLP, OpCounts, get_loss, get_provider
from gradients.objectives import NetworkObjective
from gradients.providers import forward_multiplications
from gradients.sgd import train

ALL_PROVIDERS = ("backprop", "naive", "fd-forward", "fd-central")


def grid_cells() -> list[tuple[int, int, int, int, int, bool]]:
    """(depth, width, n_inputs, n_outputs, batch_size, bias); width means nothing at depth 0."""
    cells = []
    for depth, width in [(0, 1)] + list(itertools.product(range(1, 5), range(1, 5))):
        for n_inputs, n_outputs, batch_size, bias in itertools.product(
            (1, 3), (1, 2), (1, 2, 5), (True, False)
        ):
            cells.append((depth, width, n_inputs, n_outputs, batch_size, bias))
    return cells


CELLS = grid_cells()
CELL_IDS = [
    f"d{d}-w{w}-in{i}-out{o}-b{b}-{'bias' if bias else 'nobias'}" for d, w, i, o, b, bias in CELLS
]


@pytest.mark.parametrize(
    ("depth", "width", "n_inputs", "n_outputs", "batch_size", "bias"), CELLS, ids=CELL_IDS
)
@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_counted_operations_equal_the_cost_model(
    make_random_problem, provider_name, depth, width, n_inputs, n_outputs, batch_size, bias
):
    loss_name = "cross-entropy" if n_outputs > 1 else "mse"
    problem = make_random_problem(
        depth,
        width,
        "tanh",
        loss_name,
        batch_size,
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        bias=bias,
    )
    provider = get_provider(provider_name)

    counted = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    ).counts
    predicted = provider.predict_counts(problem.network.layer_sizes, batch_size, bias=bias)

    assert counted == predicted


# net221 worked by hand (B = 1, P = 9, one forward pass = 2*2 + 2*1 = 6 multiplications):
#   backprop   forward 6 + weight gradients 6 + delta through W2 (2) and times f' (2) = 16
#   naive      forward 6 + W1 rows: 2 units x 3 sources x 1 path x 3 factors = 18
#              + W2 row: 1 unit x 3 sources x 1 path x 1 factor = 3              = 27
#   fd-forward (P + 1) forward passes = 10 x 6 = 60
#   fd-central 2P forward passes      = 18 x 6 = 108
NET221_COUNTS = {
    "backprop": OpCounts(16, 1),
    "naive": OpCounts(27, 1),
    "fd-forward": OpCounts(60, 10),
    "fd-central": OpCounts(108, 18),
}


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_net221_counts_match_the_hand_worked_totals(net221, net221_sample, provider_name):
    provider = get_provider(provider_name)

    counted = provider.loss_and_gradient(net221, get_loss("mse"), *net221_sample).counts

    assert counted == NET221_COUNTS[provider_name]
    assert provider.predict_counts((2, 2, 1), 1) == NET221_COUNTS[provider_name]


# C05: loss evaluations per gradient for three shapes of network.
C05_SHAPES = {
    "2-2-1": ((2, 2, 1), 9),
    "2-16-16-16-16-1": ((2, 16, 16, 16, 16, 1), 881),
    "784-100-100-1": ((784, 100, 100, 1), 88701),
}
C05_LOSS_EVALUATIONS = {
    "2-2-1": {"fd-forward": 10, "fd-central": 18, "backprop": 1, "naive": 1},
    "2-16-16-16-16-1": {"fd-forward": 882, "fd-central": 1762, "backprop": 1, "naive": 1},
    "784-100-100-1": {"fd-forward": 88702, "fd-central": 177402, "backprop": 1, "naive": 1},
}
C05_CELLS = [(shape, name) for shape in C05_SHAPES for name in ALL_PROVIDERS]


@pytest.mark.parametrize(("shape", "provider_name"), C05_CELLS)
def test_c05_predicted_loss_evaluations_per_gradient(shape, provider_name):
    layer_sizes, n_parameters = C05_SHAPES[shape]

    predicted = get_provider(provider_name).predict_counts(layer_sizes, 1)

    assert MLP(layer_sizes).n_parameters == n_parameters
    assert predicted.loss_evaluations == C05_LOSS_EVALUATIONS[shape][provider_name]


# Running finite differences on P = 88701 parameters is too slow for a unit test; the two small
# shapes are run by every provider, the large one by backprop only (one forward, one backward).
C05_RUN_CELLS = [
    (shape, name) for shape, name in C05_CELLS if shape != "784-100-100-1" or name == "backprop"
]


@pytest.mark.parametrize(("shape", "provider_name"), C05_RUN_CELLS)
def test_c05_counted_loss_evaluations_per_gradient(shape, provider_name):
    layer_sizes, _ = C05_SHAPES[shape]
    network = MLP(layer_sizes, "tanh", seed=1)
    rng = np.random.default_rng(2)
    inputs, targets = rng.standard_normal((1, layer_sizes[0])), rng.standard_normal(1)
    provider = get_provider(provider_name)

    counted = provider.loss_and_gradient(network, get_loss("mse"), inputs, targets).counts

    assert counted.loss_evaluations == C05_LOSS_EVALUATIONS[shape][provider_name]
    assert counted == provider.predict_counts(layer_sizes, 1)


@pytest.mark.parametrize("batch_size", [1, 4, 7])
@pytest.mark.parametrize(
    "layer_sizes", [(3, 1), (3, 4, 2), (2, 5, 5, 5, 1)], ids=["3-1", "3-4-2", "2-5-5-5-1"]
)
def test_forward_pass_counts_one_multiplication_per_weight_per_sample(layer_sizes, batch_size):
    network = MLP(layer_sizes)
    counts = OpCounts()

    network.forward(np.ones((batch_size, layer_sizes[0])), counts)

    weights = sum(W.size for W in network.weights)
    assert counts.multiplications == batch_size * weights
    assert forward_multiplications(layer_sizes, batch_size) == batch_size * weights


@pytest.mark.parametrize("width", [2, 3, 5])
def test_backprop_cost_grows_by_a_constant_per_added_layer(width):
    backprop = get_provider("backprop")
    costs = [
        backprop.predict_counts((4, *[width] * depth, 3), 2).multiplications
        for depth in range(1, 7)
    ]

    # Each added hidden layer adds one width x width matrix: forward, gradient and delta
    # products (3 B w^2) and the product with f' (B w).
    assert set(np.diff(costs)) == {2 * (3 * width * width + width)}


@pytest.mark.parametrize("width", [2, 3, 5])
def test_naive_cost_grows_by_about_the_width_per_added_layer(width):
    naive = get_provider("naive")
    costs = [naive.predict_counts((4, *[width] * depth, 1), 1).multiplications for depth in (8, 9)]

    # The first layer's paths multiply by w per layer; the longer products add a factor
    # (2 r + 3) / (2 r + 1) that tends to 1.
    assert width < costs[1] / costs[0] < 1.2 * width


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_training_counts_sum_the_cost_model_over_batches_of_4_4_and_2(provider_name):
    network = MLP((2, 3, 1), "sigmoid", seed=4)
    rng = np.random.default_rng(5)
    inputs, targets = rng.standard_normal((10, 2)), rng.standard_normal(10)
    provider = get_provider(provider_name)
    objective = NetworkObjective(network, "mse", provider, inputs, targets)

    history = train(objective, learning_rate=0.01, epochs=2, batch_size=4)

    per_epoch = [provider.predict_counts((2, 3, 1), size) for size in (4, 4, 2)]
    expected = sum(per_epoch + per_epoch, OpCounts())
    assert history.counts == expected
