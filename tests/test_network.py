"""The network: layout of the flat parameter vector, views, copies, seeds, the forward pass,
the activations, and the checks on its arguments."""

import numpy as np
import pytest

from gradients import ACTIVATIONS, MLP, OpCounts, get_activation


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_flat_vector_holds_each_layer_weights_row_major_then_biases(bias):
    network = MLP((3, 2, 1), bias=bias)

    network.parameters[...] = np.arange(network.n_parameters)

    (W1, W2), (b1, b2) = network.weights, network.biases
    if bias:
        # W1 (2 x 3) = 0..5, b1 = 6, 7, W2 (1 x 2) = 8, 9, b2 = 10.
        np.testing.assert_array_equal(W1, [[0, 1, 2], [3, 4, 5]])
        np.testing.assert_array_equal(b1, [6, 7])
        np.testing.assert_array_equal(W2, [[8, 9]])
        np.testing.assert_array_equal(b2, [10])
    else:
        np.testing.assert_array_equal(W1, [[0, 1, 2], [3, 4, 5]])
        np.testing.assert_array_equal(W2, [[6, 7]])
        assert b1.size == 0 and b2.size == 0


@pytest.mark.parametrize(
    ("layer_sizes", "bias", "n_parameters", "depth"),
    [
        ((2, 2, 1), True, 9, 1),
        ((3, 1), True, 4, 0),
        ((3, 1), False, 3, 0),
        ((2, 16, 16, 16, 16, 1), True, 881, 4),
        ((4, 5, 5, 2), False, 20 + 25 + 10, 2),
    ],
)
def test_parameter_count_and_depth(layer_sizes, bias, n_parameters, depth):
    network = MLP(layer_sizes, bias=bias)

    assert network.n_parameters == n_parameters
    assert network.depth == depth
    assert network.layer_sizes == layer_sizes


def test_weights_and_biases_are_views_that_share_memory_with_the_flat_vector():
    network = MLP((3, 4, 2))

    network.parameters -= 1.0
    network.weights[1][0, 2] = 42.0

    assert all(np.shares_memory(W, network.parameters) for W in network.weights)
    assert all(np.shares_memory(b, network.parameters) for b in network.biases)
    np.testing.assert_array_equal(network.biases[0], -1.0)  # biases start at 0
    assert network.parameters[3 * 4 + 4 + 2] == 42.0


def test_unflatten_of_a_gradient_gives_views_in_the_same_layout():
    network = MLP((3, 4, 2))
    gradient = np.zeros(network.n_parameters)

    weights, biases = network.unflatten(gradient)
    biases[1][...] = 7.0

    assert [W.shape for W in weights] == [(4, 3), (2, 4)]
    np.testing.assert_array_equal(gradient[-2:], 7.0)
    assert np.count_nonzero(gradient) == 2


def test_unflatten_refuses_a_vector_of_the_wrong_shape():
    network = MLP((3, 4, 2))

    with pytest.raises(ValueError, match=r"`flat` must have shape \(26,\), got \(25,\)"):
        network.unflatten(np.zeros(25))


def test_copy_is_independent_of_the_original():
    network = MLP((3, 4, 2), "sigmoid", seed=3)
    before = network.parameters.copy()

    clone = network.copy()
    clone.parameters += 1.0
    clone.weights[0][0, 0] = 99.0

    np.testing.assert_array_equal(network.parameters, before)
    assert not np.shares_memory(clone.parameters, network.parameters)
    assert all(np.shares_memory(W, clone.parameters) for W in clone.weights)
    assert clone.parameters[0] == 99.0
    assert (clone.layer_sizes, clone.activation, clone.dtype, clone.bias) == (
        network.layer_sizes,
        network.activation,
        network.dtype,
        network.bias,
    )


def test_same_seed_gives_the_same_parameters():
    first, second = MLP((5, 4, 3), seed=11), MLP((5, 4, 3), seed=11)

    np.testing.assert_array_equal(first.parameters, second.parameters)


def test_different_seeds_give_different_weights():
    first, second = MLP((5, 4, 3), seed=11), MLP((5, 4, 3), seed=12)

    assert not np.array_equal(first.weights[0], second.weights[0])


@pytest.mark.parametrize(("activation", "gain"), [("tanh", 1.0), ("sigmoid", 1.0), ("relu", 2.0)])
def test_initial_weights_have_variance_gain_over_fan_in(activation, gain):
    network = MLP((400, 300, 1), activation, seed=0)

    # 120,000 draws: the sample variance is within 1.5% of its expectation at 3 sigma.
    assert np.var(network.weights[0]) == pytest.approx(gain / 400, rel=0.015)
    np.testing.assert_array_equal(network.biases[0], 0.0)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_is_the_affine_maps_and_activations_written_out(activation):
    network = MLP((3, 4, 2), activation, seed=2)
    network.parameters[...] = np.random.default_rng(0).standard_normal(network.n_parameters)
    inputs = np.random.default_rng(1).standard_normal((5, 3))
    (W1, W2), (b1, b2) = network.weights, network.biases
    f = {
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
    }[activation]

    outputs = network.forward(inputs)

    np.testing.assert_allclose(outputs, f(inputs @ W1.T + b1) @ W2.T + b2, rtol=1e-13)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_trace_keeps_activations_and_derivatives_and_the_same_outputs(activation):
    network = MLP((3, 4, 4, 2), activation, seed=2)
    inputs = np.random.default_rng(1).standard_normal((5, 3))

    trace = network.forward_trace(inputs)

    np.testing.assert_array_equal(trace.outputs, network.forward(inputs))
    assert [a.shape for a in trace.activations] == [(5, 3), (5, 4), (5, 4)]
    assert [d.shape for d in trace.derivatives] == [(5, 4), (5, 4)]
    assert trace.activations[0] is inputs


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_derivative_from_output_is_the_derivative(activation):
    act = get_activation(activation)
    z = np.array([-3.0, -0.7, -0.1, 0.2, 1.3, 4.0])  # away from ReLU's kink
    step = 1e-6

    numeric = (act.function(z + step) - act.function(z - step)) / (2 * step)

    np.testing.assert_allclose(act.derivative_from_output(act.function(z)), numeric, atol=1e-9)


def test_relu_derivative_at_the_kink_is_zero():
    relu = get_activation("relu")

    assert relu.derivative_from_output(relu.function(np.array([0.0]))).tolist() == [0.0]
    assert relu.has_kink and not get_activation("tanh").has_kink


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_does_not_overflow_on_large_inputs(dtype):
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)

    with np.errstate(over="raise"):
        a = get_activation("sigmoid").function(z)

    assert a.dtype == dtype
    np.testing.assert_allclose(a, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-21)


@pytest.mark.parametrize("dtype", [np.float32, "float32"])
def test_float32_network_keeps_float32_throughout(dtype):
    network = MLP((3, 4, 2), "sigmoid", dtype=dtype)
    inputs = np.ones((2, 3), dtype=np.float32)

    trace = network.forward_trace(inputs)

    assert network.dtype is np.float32
    assert network.parameters.dtype == np.float32
    assert trace.outputs.dtype == np.float32
    assert all(d.dtype == np.float32 for d in trace.derivatives)


def test_forward_adds_its_multiplications_to_the_counts():
    network = MLP((3, 4, 2))
    counts = OpCounts(multiplications=5, loss_evaluations=1)

    network.forward(np.ones((6, 3)), counts)

    assert counts == OpCounts(5 + 6 * (12 + 8), 1)


@pytest.mark.parametrize(
    ("layer_sizes", "error"),
    [
        ((2,), ValueError),
        ((), ValueError),
        ((2, 0, 1), ValueError),
        ((2, -3, 1), ValueError),
        ((2, 1.5, 1), ValueError),
        ((2, True, 1), ValueError),
        ("21", TypeError),
        (5, TypeError),
    ],
    ids=["one-layer", "empty", "zero", "negative", "fraction", "bool", "string", "int"],
)
def test_bad_layer_sizes_are_refused_naming_the_argument(layer_sizes, error):
    with pytest.raises(error, match="`layer_sizes`"):
        MLP(layer_sizes)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(
        ValueError, match=r"`activation` must be one of relu, sigmoid, tanh, got 'softplus'"
    ):
        MLP((2, 2, 1), "softplus")


@pytest.mark.parametrize(
    ("dtype", "shown"),
    [(np.float16, "float16"), (np.int64, "int64"), ("complex128", "complex128")],
)
def test_unsupported_dtype_is_refused_naming_the_argument(dtype, shown):
    with pytest.raises(ValueError, match=f"`dtype` must be one of float64, float32, got {shown}"):
        MLP((2, 2, 1), dtype=dtype)


def test_unintelligible_dtype_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="`dtype`"):
        MLP((2, 2, 1), dtype="banana")


def test_repr_shows_sizes_activation_and_dtype():
    assert repr(MLP((2, 3, 1), "relu", dtype=np.float32)) == "MLP(2-3-1, relu, float32)"
