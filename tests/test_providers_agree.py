"""Every provider against backpropagation, and all of them against a network worked by hand.

Errors are measured as ``max |g - g_backprop| / max |g_backprop|``: the disagreement on the
scale of the gradient, which does not blow up on entries that happen to be near zero.
"""

import itertools
import math

import numpy as np
import pytest

from gradients import MLP, get_loss, get_provider
from gradients.data import teacher_student
from gradients.gradcheck import kink_crossings
from gradients.objectives import NetworkObjective
from gradients.providers.finite_differences import default_step
from gradients.sgd import train

ALL_PROVIDERS = ("backprop", "naive", "fd-forward", "fd-central")
FINITE_DIFFERENCES = ("fd-forward", "fd-central")

# float64 tolerances, relative to the gradient's largest entry. Central differences at their
# default step h = eps^(1/3) are good to about eps^(2/3) = 4e-11 times the loss's scale (the
# grid below shows at most 6e-10); forward differences at h = sqrt(eps) only to about
# sqrt(eps) = 1.5e-8 times it (at most 6e-7 on the grid), hence the looser 1e-5.
NAIVE_TOLERANCE = 1e-10
CENTRAL_TOLERANCE = 1e-6
FORWARD_TOLERANCE = 1e-5

GRID = list(
    itertools.product(
        range(1, 5),  # depth
        range(1, 6),  # width
        ("tanh", "sigmoid", "relu"),
        ("mse", "cross-entropy"),
        (1, 3),  # batch size
    )
)
GRID_IDS = [f"d{d}-w{w}-{a}-{loss}-b{b}" for d, w, a, loss, b in GRID]


def error_relative_to_largest(reference, candidate, flagged=None) -> float:
    """max |reference - candidate| over unflagged entries, over max |reference|."""
    difference = np.abs(np.asarray(candidate, np.float64) - np.asarray(reference, np.float64))
    if flagged is not None:
        difference = difference[~flagged]
    return float(np.max(difference) / np.max(np.abs(reference)))


def backprop_reference(problem):
    return get_provider("backprop").loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )


@pytest.mark.parametrize(
    ("depth", "width", "activation", "loss_name", "batch_size"), GRID, ids=GRID_IDS
)
def test_naive_matches_backprop_on_random_network(
    make_random_problem, depth, width, activation, loss_name, batch_size
):
    problem = make_random_problem(depth, width, activation, loss_name, batch_size)
    reference = backprop_reference(problem)

    naive = get_provider("naive").loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    assert error_relative_to_largest(reference.gradient, naive.gradient) <= NAIVE_TOLERANCE
    assert naive.loss == pytest.approx(reference.loss, rel=1e-13)


@pytest.mark.parametrize(
    ("depth", "width", "activation", "loss_name", "batch_size"), GRID, ids=GRID_IDS
)
@pytest.mark.parametrize(
    ("provider_name", "tolerance"),
    [("fd-central", CENTRAL_TOLERANCE), ("fd-forward", FORWARD_TOLERANCE)],
)
def test_finite_differences_match_backprop_on_random_network(
    make_random_problem, provider_name, tolerance, depth, width, activation, loss_name, batch_size
):
    problem = make_random_problem(depth, width, activation, loss_name, batch_size)
    reference = backprop_reference(problem)
    provider = get_provider(provider_name)

    estimate = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )
    # Entries whose stencil straddles a ReLU kink average two slopes: left out, not failed.
    # NOTE: on this grid no stencil happens to cross a kink; flagging itself is pinned by
    # the C02 cases and test_gradcheck.
    flagged = kink_crossings(problem.network, problem.inputs, provider.step_for(problem.network))

    assert not flagged.all()
    assert error_relative_to_largest(reference.gradient, estimate.gradient, flagged) <= tolerance
    assert estimate.loss == pytest.approx(reference.loss, rel=1e-9)


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_providers_leave_the_parameters_unchanged(make_random_problem, provider_name):
    problem = make_random_problem(2, 3, "tanh", "mse", 3)
    before = problem.network.parameters.copy()

    get_provider(provider_name).loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    np.testing.assert_array_equal(problem.network.parameters, before)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("provider_name", ["naive", "fd-central"])
def test_providers_match_backprop_without_biases(make_random_problem, provider_name, bias):
    problem = make_random_problem(3, 3, "sigmoid", "cross-entropy", 3, bias=bias)
    reference = backprop_reference(problem)

    other = get_provider(provider_name).loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    assert other.gradient.shape == (problem.network.n_parameters,)
    assert error_relative_to_largest(reference.gradient, other.gradient) <= CENTRAL_TOLERANCE


@pytest.mark.parametrize("block_elements", [1, 7, 1 << 16])
def test_naive_gradient_does_not_depend_on_its_block_size(make_random_problem, block_elements):
    problem = make_random_problem(3, 4, "tanh", "cross-entropy", 3)
    reference = backprop_reference(problem)

    naive = get_provider("naive", block_elements=block_elements).loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    assert error_relative_to_largest(reference.gradient, naive.gradient) <= NAIVE_TOLERANCE


# float32: the exact providers round at eps = 1.2e-7 per operation; finite differences at
# their float32 default steps are good to about eps^(2/3) (central) and eps^(1/2) (forward),
# both times the loss's size relative to the gradient's, since the rounding error of a loss
# difference is about eps * |L|. The factor 10 leaves a margin of 3 over the worst case seen
# on the grid of the float64 tests.
FLOAT32_ERROR_ORDER = {"backprop": 1.0, "naive": 1.0, "fd-central": 2 / 3, "fd-forward": 1 / 2}
FLOAT32_GRID = list(
    itertools.product((1, 2, 4), ("tanh", "sigmoid", "relu"), ("mse", "cross-entropy"))
)


@pytest.mark.parametrize(
    ("depth", "activation", "loss_name"),
    FLOAT32_GRID,
    ids=[f"d{d}-{a}-{loss}" for d, a, loss in FLOAT32_GRID],
)
@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_provider_in_float32_agrees_with_float64_backprop(
    make_random_problem, provider_name, depth, activation, loss_name
):
    problem = make_random_problem(depth, 3, activation, loss_name, 3, dtype=np.float32)
    # The float64 reference sees exactly the float32 parameters and inputs.
    network64 = MLP(problem.network.layer_sizes, activation, dtype=np.float64)
    network64.parameters[...] = problem.network.parameters
    reference = get_provider("backprop").loss_and_gradient(
        network64, problem.loss, problem.inputs.astype(np.float64), problem.targets
    )
    provider = get_provider(provider_name)

    result = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    assert result.gradient.dtype == np.float32
    assert math.isfinite(result.loss)
    flagged = np.zeros(problem.network.n_parameters, bool)
    if not provider.exact:
        flagged = kink_crossings(
            problem.network, problem.inputs, provider.step_for(problem.network)
        )
    eps = float(np.finfo(np.float32).eps)
    scale = 1.0 + abs(reference.loss) / np.max(np.abs(reference.gradient))
    tolerance = 10.0 * eps ** FLOAT32_ERROR_ORDER[provider_name] * scale
    assert error_relative_to_largest(reference.gradient, result.gradient, flagged) <= tolerance


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_float32_network_given_float64_data_still_computes_in_float32(
    make_random_problem, provider_name
):
    problem = make_random_problem(2, 3, "tanh", "mse", 3, dtype=np.float32)

    result = get_provider(provider_name).loss_and_gradient(
        problem.network,
        problem.loss,
        problem.inputs.astype(np.float64),
        problem.targets.astype(np.float64),
    )

    assert result.gradient.dtype == np.float32


@pytest.mark.parametrize(
    ("provider_name", "dtype", "expected_step"),
    [
        ("fd-central", np.float32, 4.921566601151848e-03),  # (2^-23)^(1/3)
        ("fd-forward", np.float32, 3.452669830012439e-04),  # (2^-23)^(1/2)
        ("fd-central", np.float64, 6.055454452393343e-06),  # (2^-52)^(1/3)
        ("fd-forward", np.float64, 1.4901161193847656e-08),  # (2^-52)^(1/2)
    ],
)
def test_finite_differences_pick_a_step_suited_to_the_dtype(
    make_random_problem, provider_name, dtype, expected_step
):
    problem = make_random_problem(1, 2, dtype=dtype)
    provider = get_provider(provider_name)
    scheme = provider_name.removeprefix("fd-")

    assert provider.step_for(problem.network) == pytest.approx(expected_step, rel=1e-12)
    assert default_step(scheme, dtype) == pytest.approx(expected_step, rel=1e-12)


@pytest.mark.parametrize("provider_name", FINITE_DIFFERENCES)
def test_an_explicit_step_overrides_the_default(make_random_problem, provider_name):
    problem = make_random_problem(1, 2, dtype=np.float32)

    provider = get_provider(provider_name, step=1e-3)

    assert provider.step_for(problem.network) == 1e-3
    assert provider.describe()["step"] == 1e-3


# A 1-1-1 tanh network worked by hand, at a point where tanh has a round value:
#   x = 2, W1 = ln(2)/4, b1 = ln(2)/2   ->  z = W1 x + b1 = ln 2
#   a = tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6,   tanh'(z) = 1 - a^2 = 0.64
#   W2 = 0.5, b2 = 0.2                 ->  y_hat = 0.5 * 0.6 + 0.2 = 0.5
#   y = 0.1                            ->  r = y_hat - y = 0.4,  L = 0.5 r^2 = 0.08
#   dL/db2 = r = 0.4                      dL/dW2 = r a = 0.24
#   dL/dz = r W2 tanh'(z) = 0.4 * 0.5 * 0.64 = 0.128
#   dL/db1 = 0.128                        dL/dW1 = 0.128 x = 0.256
# Flat order: W1, b1, W2, b2.
HAND_WORKED_LOSS = 0.08
HAND_WORKED_GRADIENT = [0.256, 0.128, 0.24, 0.4]


@pytest.mark.parametrize(
    ("provider_name", "tolerance"),
    [("backprop", 1e-15), ("naive", 1e-15), ("fd-central", 1e-10), ("fd-forward", 1e-7)],
)
def test_every_provider_gives_the_hand_worked_gradient_of_a_1_1_1_tanh_network(
    provider_name, tolerance
):
    network = MLP((1, 1, 1), "tanh")
    network.parameters[...] = [math.log(2) / 4, math.log(2) / 2, 0.5, 0.2]

    result = get_provider(provider_name).loss_and_gradient(
        network, get_loss("mse"), np.array([[2.0]]), np.array([0.1])
    )

    # Central differences report the mean of the two losses around the first parameter,
    # which is off by O(h^2); the others evaluate the loss itself.
    loss_tolerance = 1e-15 if provider_name != "fd-central" else 1e-10
    assert result.loss == pytest.approx(HAND_WORKED_LOSS, abs=loss_tolerance)
    np.testing.assert_allclose(result.gradient, HAND_WORKED_GRADIENT, rtol=0, atol=tolerance)


# Training trajectories: naive and backprop compute the same gradient up to rounding, so from
# one seed the whole run must agree, update by update.
TRAJECTORY_SETTINGS = list(itertools.product(("mse", "cross-entropy"), (1, 8)))


@pytest.mark.parametrize(
    ("loss_name", "batch_size"),
    TRAJECTORY_SETTINGS,
    ids=[f"{loss}-batch{b}" for loss, b in TRAJECTORY_SETTINGS],
)
def test_naive_and_backprop_train_along_the_same_trajectory(loss_name, batch_size):
    classes = loss_name == "cross-entropy"
    n_outputs = 3 if classes else 1
    data = teacher_student(40, 6, n_outputs=n_outputs, classes=classes, test_fraction=0.0, seed=3)
    runs = {}
    for provider_name in ("naive", "backprop"):
        network = MLP((6, 3, 3, 3, n_outputs), "tanh", seed=5)
        objective = NetworkObjective(
            network, loss_name, get_provider(provider_name), data.train_inputs, data.train_targets
        )
        history = train(objective, learning_rate=0.05, epochs=2, batch_size=batch_size, seed=7)
        runs[provider_name] = (network.parameters, history)

    (naive_parameters, naive_history), (backprop_parameters, backprop_history) = runs.values()
    assert naive_history.n_updates == backprop_history.n_updates == 2 * math.ceil(40 / batch_size)
    assert naive_history.divergence is None
    assert not np.array_equal(backprop_parameters, MLP((6, 3, 3, 3, n_outputs), seed=5).parameters)
    np.testing.assert_allclose(naive_parameters, backprop_parameters, rtol=1e-9, atol=0)
    np.testing.assert_allclose(
        naive_history.update_losses, backprop_history.update_losses, rtol=1e-12, atol=0
    )
