"""The field cases about gradients (C01, C02, C06, C09, C10), each with its neighbours.

The project's mean squared error is ``0.5 * mean ||y_hat - y||^2``, the convention the cases
were computed in, so their numbers are used as they stand.
"""

import numpy as np
import pytest

from gradients import MLP, get_loss, get_provider
from gradients.gradcheck import compare_gradients, kink_crossings, max_relative_difference
from gradients.objectives import NetworkObjective
from gradients.sgd import train

ALL_PROVIDERS = ("backprop", "naive", "fd-forward", "fd-central")
EXACT_PROVIDERS = ("backprop", "naive")

# Tolerances on the values printed in the cases (given to 9 or 10 digits): exact providers and
# central differences reach the printed digits; forward differences are good to about 1e-8.
CASE_TOLERANCE = {"backprop": 1e-9, "naive": 1e-9, "fd-central": 1e-9, "fd-forward": 1e-7}

C01_LOSS = 0.0268983116
C01_GRADIENT = [
    -0.133459046, -0.066729523, 0.109445680, 0.054722840,  # dL/dW1, row-major
    -0.133459046, 0.109445680,  # dL/db1
    -0.097855673, -0.107183911,  # dL/dW2
    -0.231940991,  # dL/db2
]  # fmt: skip


def net221_as_float64(network: MLP) -> MLP:
    """The same network (float32 parameters made exact float64 values) in float64."""
    wide = MLP(network.layer_sizes, network.activation.name, dtype=np.float64)
    wide.parameters[...] = network.parameters
    return wide


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c01_every_provider_gives_the_loss_and_gradient_of_net221(
    net221, net221_sample, provider_name
):
    result = get_provider(provider_name).loss_and_gradient(net221, get_loss("mse"), *net221_sample)

    assert result.loss == pytest.approx(C01_LOSS, abs=1e-10)
    np.testing.assert_allclose(
        result.gradient, C01_GRADIENT, rtol=0, atol=CASE_TOLERANCE[provider_name]
    )


def test_c01_central_differences_in_float64_with_step_1e_5_pass_a_1e_9_check(
    net221, net221_sample
):
    mse = get_loss("mse")
    reference = get_provider("backprop").loss_and_gradient(net221, mse, *net221_sample)

    estimate = get_provider("fd-central", step=1e-5).loss_and_gradient(net221, mse, *net221_sample)

    # The case reports about 5.6e-11; truncation h^2 and rounding eps/h are both near 1e-10.
    assert max_relative_difference(reference.gradient, estimate.gradient) <= 1e-9
    assert compare_gradients(reference.gradient, estimate.gradient, rtol=1e-6).passed


def test_c01_central_differences_in_float32_with_step_1e_5_fail_a_1e_6_check(
    make_net221, net221_sample
):
    network32 = make_net221(dtype=np.float32)
    mse = get_loss("mse")
    reference = get_provider("backprop").loss_and_gradient(
        net221_as_float64(network32), mse, *net221_sample
    )

    estimate = get_provider("fd-central", step=1e-5).loss_and_gradient(
        network32, mse, *net221_sample
    )

    # Rounding of float32 losses, eps * |L| / h = 1.2e-7 * 0.027 / 1e-5, swamps the quotient:
    # the case reports about 2e-3 relative to the largest entry.
    error = max_relative_difference(reference.gradient, estimate.gradient)
    assert 1e-4 < error < 1e-2
    assert not compare_gradients(reference.gradient, estimate.gradient, rtol=1e-6).passed


def test_c01_the_default_float32_step_does_better_than_1e_5(make_net221, net221_sample):
    network32 = make_net221(dtype=np.float32)
    mse = get_loss("mse")
    reference = get_provider("backprop").loss_and_gradient(
        net221_as_float64(network32), mse, *net221_sample
    )
    default = get_provider("fd-central")

    with_default = default.loss_and_gradient(network32, mse, *net221_sample)
    with_1e_5 = get_provider("fd-central", step=1e-5).loss_and_gradient(
        network32, mse, *net221_sample
    )

    assert default.step_for(network32) == pytest.approx(float(np.finfo(np.float32).eps) ** (1 / 3))
    default_error = max_relative_difference(reference.gradient, with_default.gradient)
    assert default_error < max_relative_difference(reference.gradient, with_1e_5.gradient) / 10
    assert default_error <= 1e-4


def test_c01_a_float32_network_checked_in_float64_passes_with_step_1e_5(
    make_net221, net221_sample
):
    network64 = net221_as_float64(make_net221(dtype=np.float32))
    mse = get_loss("mse")
    reference = get_provider("backprop").loss_and_gradient(network64, mse, *net221_sample)

    estimate = get_provider("fd-central", step=1e-5).loss_and_gradient(
        network64, mse, *net221_sample
    )

    assert max_relative_difference(reference.gradient, estimate.gradient) <= 1e-9


@pytest.mark.parametrize("provider_name", EXACT_PROVIDERS)
def test_c01_exact_providers_in_float32_match_the_float64_gradient(
    make_net221, net221_sample, provider_name
):
    network32 = make_net221(dtype=np.float32)

    result = get_provider(provider_name).loss_and_gradient(
        network32, get_loss("mse"), *net221_sample
    )

    # W1 and the other parameters are rounded to float32 (relative 3e-8), then the arithmetic.
    assert result.gradient.dtype == np.float32
    np.testing.assert_allclose(result.gradient, C01_GRADIENT, rtol=1e-6, atol=1e-7)


# C02: ReLU hidden units with the first pre-activation exactly 0 (0.5 * 1 - 1.0 * 0.5 + 0).
C02_W1 = ((0.5, -1.0), (0.2, 0.8))
C02_B1 = (0.0, -0.1)
C02_STEP = 1e-6
# The second unit has z = 0.5 and a = 0.5; y_hat = -0.6 * 0.5 + 0.05 = -0.25, r = -0.55.
#   dL/dW1[0, 0]: one-sided slope r * W2[0] * x0 = -0.385 to the right, 0 to the left;
#                 central differences average them to -0.1925; backprop takes relu'(0) = 0.
#   dL/dW1[1, 0] = r * W2[1] * x0 = 0.33,  dL/db2 = r = -0.55.
C02_INDEX_W1_00, C02_INDEX_W1_10, C02_INDEX_B2 = 0, 2, 8
C02_KINKED_INDICES = [0, 1, 4]  # W1[0, 0], W1[0, 1], b1[0]: all move the first unit's z


@pytest.fixture
def c02_network(make_net221):
    return make_net221("relu", W1=C02_W1, b1=C02_B1)


def test_c02_central_difference_at_the_kink_is_half_the_one_sided_slope(
    c02_network, net221_sample
):
    estimate = get_provider("fd-central", step=C02_STEP).loss_and_gradient(
        c02_network, get_loss("mse"), *net221_sample
    )

    # The quotient is -0.1925 + 0.1225 h (the loss is quadratic in the one-sided part).
    assert estimate.gradient[C02_INDEX_W1_00] == pytest.approx(-0.1925, abs=1e-6)


@pytest.mark.parametrize("provider_name", EXACT_PROVIDERS)
def test_c02_exact_providers_take_the_derivative_at_the_kink_as_zero(
    c02_network, net221_sample, provider_name
):
    result = get_provider(provider_name).loss_and_gradient(
        c02_network, get_loss("mse"), *net221_sample
    )

    assert result.gradient[C02_INDEX_W1_00] == 0.0


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c02_entries_away_from_the_kink_agree(c02_network, net221_sample, provider_name):
    options = {} if get_provider(provider_name).exact else {"step": C02_STEP}

    result = get_provider(provider_name, **options).loss_and_gradient(
        c02_network, get_loss("mse"), *net221_sample
    )

    assert result.gradient[C02_INDEX_W1_10] == pytest.approx(0.33, abs=1e-6)
    assert result.gradient[C02_INDEX_B2] == pytest.approx(-0.55, abs=1e-6)


def test_c02_kink_crossings_flag_exactly_the_parameters_that_move_the_kinked_unit(
    c02_network, net221_sample
):
    flagged = kink_crossings(c02_network, net221_sample[0], C02_STEP)

    assert np.flatnonzero(flagged).tolist() == C02_KINKED_INDICES


def test_c02_comparison_with_flags_passes_and_without_them_fails(c02_network, net221_sample):
    mse = get_loss("mse")
    analytic = get_provider("backprop").loss_and_gradient(c02_network, mse, *net221_sample)
    numeric = get_provider("fd-central", step=C02_STEP).loss_and_gradient(
        c02_network, mse, *net221_sample
    )
    flagged = kink_crossings(c02_network, net221_sample[0], C02_STEP)

    with_flags = compare_gradients(analytic.gradient, numeric.gradient, flagged=flagged)
    without_flags = compare_gradients(analytic.gradient, numeric.gradient)

    assert with_flags.passed and with_flags.n_flagged == 3
    assert not without_flags.passed
    assert without_flags.worst[0][0] in C02_KINKED_INDICES


# C06: net221 on a batch of three; the bias gradients are sums over the batch of the
# per-sample deltas, divided by 3 because the loss is a mean.
C06_LOSS = 0.1009800484
C06_BLOCKS = {
    "dW1": [[-0.0092373835, -0.22166308], [0.0103272091, 0.1334350101]],
    "db1": [0.0139376971, 0.0259065666],
    "dW2": [[0.1008555009, -0.2557085564]],
    "db2": [0.0154143204],
}


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c06_batch_of_three_gives_every_gradient_block(net221, net221_batch, provider_name):
    result = get_provider(provider_name).loss_and_gradient(net221, get_loss("mse"), *net221_batch)

    (dW1, dW2), (db1, db2) = net221.unflatten(result.gradient)
    tolerance = CASE_TOLERANCE[provider_name]
    assert result.loss == pytest.approx(C06_LOSS, abs=1e-10)
    assert db2.shape == (1,) and db1.shape == (2,) and dW2.shape == (1, 2)
    for got, block in [(dW1, "dW1"), (db1, "db1"), (dW2, "dW2"), (db2, "db2")]:
        np.testing.assert_allclose(got, C06_BLOCKS[block], rtol=0, atol=tolerance, err_msg=block)


@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c06_batch_gradient_is_the_mean_of_the_per_sample_gradients(
    net221, net221_batch, provider_name
):
    inputs, targets = net221_batch
    provider = get_provider(provider_name)
    mse = get_loss("mse")

    batch = provider.loss_and_gradient(net221, mse, inputs, targets)
    singles = [
        provider.loss_and_gradient(net221, mse, inputs[i : i + 1], targets[i : i + 1])
        for i in range(3)
    ]

    assert batch.loss == pytest.approx(np.mean([s.loss for s in singles]), rel=1e-9)
    np.testing.assert_allclose(
        batch.gradient, np.mean([s.gradient for s in singles], axis=0), rtol=0, atol=1e-7
    )


@pytest.mark.parametrize("provider_name", ["backprop", "naive", "fd-central"])
@pytest.mark.parametrize("loss_name", ["mse", "cross-entropy"])
def test_c06_repeating_a_batch_leaves_loss_and_gradient_unchanged(
    make_random_problem, provider_name, loss_name
):
    problem = make_random_problem(2, 3, "tanh", loss_name, 3)
    provider = get_provider(provider_name)
    doubled_inputs = np.concatenate([problem.inputs, problem.inputs])
    doubled_targets = np.concatenate([problem.targets, problem.targets])

    once = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )
    twice = provider.loss_and_gradient(
        problem.network, problem.loss, doubled_inputs, doubled_targets
    )

    # Only the summation order changes; a difference quotient's rounding, eps |L| / h, shows.
    tolerance = 1e-12 if provider.exact else 1e-8
    assert twice.loss == pytest.approx(once.loss, rel=1e-12)
    assert max_relative_difference(once.gradient, twice.gradient) <= tolerance


def test_c06_every_parameter_keeps_its_shape_after_a_full_batch_step(net221, net221_batch):
    shapes = [W.shape for W in net221.weights] + [b.shape for b in net221.biases]
    start = net221.parameters.copy()
    gradient = (
        get_provider("backprop").loss_and_gradient(net221, get_loss("mse"), *net221_batch).gradient
    )
    objective = NetworkObjective(net221, "mse", get_provider("backprop"), *net221_batch)

    history = train(objective, learning_rate=0.1, epochs=1, batch_size=None)

    assert history.n_updates == 1
    assert [W.shape for W in net221.weights] + [b.shape for b in net221.biases] == shapes
    assert all(np.shares_memory(p, net221.parameters) for p in net221.weights + net221.biases)
    np.testing.assert_allclose(net221.parameters, start - 0.1 * gradient, rtol=0, atol=1e-15)


# C09 and C10: the model y_hat = w x, a network of one weight, no bias and no hidden layer.
def linear_model(w0: float = 0.0) -> MLP:
    network = MLP((1, 1), bias=False)
    network.parameters[...] = [w0]
    return network


# C09 at w = 0 on x = 1..4, y = 2x: dL/dw = mean(x (w x - y)) = -2 mean(x^2) = -2 * 7.5 = -15.
@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c09_gradient_of_the_mean_loss_at_w0(provider_name):
    x = np.arange(1.0, 5.0)

    result = get_provider(provider_name).loss_and_gradient(
        linear_model(), get_loss("mse"), x[:, None], 2 * x
    )

    assert result.gradient.tolist() == pytest.approx([-15.0], abs=1e-6)
    assert result.loss == pytest.approx(0.5 * np.mean((2 * x) ** 2), rel=1e-9)  # 15


# C10 at w = 0 on x = 1..10, y = 3x, batches of 4, 4 and 2: dL/dw = -3 mean(x^2) per batch,
# -3 * 30/4, -3 * 174/4, -3 * 181/2. Dividing the last by 4 would give -135.75.
C10_BATCHES = [(slice(0, 4), -22.5), (slice(4, 8), -130.5), (slice(8, 10), -271.5)]


@pytest.mark.parametrize(("batch", "expected"), C10_BATCHES, ids=["1-4", "5-8", "9-10"])
@pytest.mark.parametrize("provider_name", ALL_PROVIDERS)
def test_c10_gradient_of_each_minibatch_is_its_own_mean(provider_name, batch, expected):
    x = np.arange(1.0, 11.0)

    result = get_provider(provider_name).loss_and_gradient(
        linear_model(), get_loss("mse"), x[batch, None], 3 * x[batch]
    )

    assert result.gradient[0] == pytest.approx(expected, abs=1e-5)
