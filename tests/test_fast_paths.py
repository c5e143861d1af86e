"""The speed-minded paths of our providers give what the plain ones give.

backprop keeps buffers between calls (a plan per network and batch size); naive multiplies
out its paths in blocks shaped by ``block_elements``; finite differences evaluate perturbed
networks one by one or in batched passes. Each choice must change the time only: not the
gradient beyond rounding, not the counts, not the parameters, not the memory bound.
"""

import tracemalloc

import numpy as np
import pytest

from gradients import MLP, get_loss, get_provider
from gradients.providers import finite_differences

FD_SCHEMES = ("fd-forward", "fd-central")


def evaluate(provider, problem):
    return provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )


# --- backprop ------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_backprop_loss_is_exactly_the_forward_pass_loss(activation, make_random_problem):
    problem = make_random_problem(3, 5, activation, "cross-entropy", batch_size=4)

    evaluation = evaluate(get_provider("backprop"), problem)

    outputs = problem.network.forward(problem.inputs)
    assert evaluation.loss == problem.loss.value(outputs, problem.targets)


def test_backprop_reuses_its_buffers_without_overwriting_a_returned_gradient(
    make_random_problem,
):
    problem = make_random_problem(2, 4, "tanh", "mse", batch_size=3)
    backprop = get_provider("backprop")
    first = evaluate(backprop, problem)
    kept = first.gradient.copy()

    second = evaluate(backprop, problem)

    assert second.gradient is not first.gradient
    np.testing.assert_array_equal(first.gradient, kept)
    np.testing.assert_array_equal(second.gradient, kept)


def test_backprop_follows_parameters_changed_in_place_between_calls(make_random_problem):
    problem = make_random_problem(2, 4, "tanh", "mse", batch_size=3)
    backprop = get_provider("backprop")
    first = evaluate(backprop, problem)

    problem.network.parameters -= 0.05 * first.gradient
    again = evaluate(backprop, problem)

    fresh = evaluate(get_provider("backprop"), problem)
    np.testing.assert_array_equal(again.gradient, fresh.gradient)
    assert again.loss < first.loss


def test_backprop_alternating_networks_and_batch_sizes_gives_each_its_own_gradient(
    make_random_problem,
):
    problems = [
        make_random_problem(2, 4, "tanh", "mse", batch_size=3, seed=1),
        make_random_problem(2, 4, "tanh", "mse", batch_size=1, seed=2),
        make_random_problem(3, 2, "relu", "cross-entropy", batch_size=5, seed=3),
    ]
    shared = get_provider("backprop")

    got = [evaluate(shared, problem).gradient for problem in problems + problems]

    expected = [evaluate(get_provider("backprop"), problem).gradient for problem in problems]
    for gradient, reference in zip(got, expected + expected):
        np.testing.assert_array_equal(gradient, reference)


# --- naive ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 40])
@pytest.mark.parametrize("block_elements", [1, 7, 1 << 10, 1 << 17])
def test_naive_blocks_change_neither_gradient_nor_counts(
    block_elements, batch_size, make_random_problem
):
    problem = make_random_problem(3, 3, "tanh", "cross-entropy", batch_size=batch_size)
    reference = evaluate(get_provider("backprop"), problem)
    default = evaluate(get_provider("naive"), problem)

    blocked = evaluate(get_provider("naive", block_elements=block_elements), problem)

    np.testing.assert_allclose(blocked.gradient, reference.gradient, rtol=1e-10, atol=1e-14)
    assert blocked.counts == default.counts


def naive_peak_bytes(depth: int, block_elements: int) -> int:
    network = MLP((4, *[2] * depth, 1), seed=0)
    inputs, targets = np.ones((1, 4)), np.zeros((1, 1))
    naive = get_provider("naive", block_elements=block_elements)
    tracemalloc.start()
    try:
        naive.loss_and_gradient(network, get_loss("mse"), inputs, targets)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_naive_peak_memory_does_not_grow_with_the_number_of_paths():
    # From depth 8 to 12 the first layer's paths grow 16-fold.
    shallow, deep = naive_peak_bytes(8, 1 << 10), naive_peak_bytes(12, 1 << 10)

    assert deep < 2 * shallow
    assert deep < 64 * (1 << 10) * 8  # a few blocks' worth, not the paths' worth


# --- finite differences --------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("loss_name", ["mse", "cross-entropy"])
@pytest.mark.parametrize("scheme", FD_SCHEMES)
def test_vectorized_finite_differences_agree_with_the_loop(
    scheme, loss_name, bias, make_random_problem
):
    problem = make_random_problem(3, 3, "tanh", loss_name, batch_size=4, bias=bias)

    looped = evaluate(get_provider(scheme, vectorize=False), problem)
    vectorized = evaluate(get_provider(scheme, vectorize=True), problem)

    np.testing.assert_allclose(vectorized.gradient, looped.gradient, rtol=1e-6, atol=1e-9)
    assert vectorized.loss == pytest.approx(looped.loss, rel=1e-12)
    assert vectorized.counts == looped.counts


@pytest.mark.parametrize("scheme", FD_SCHEMES)
def test_vectorized_finite_differences_of_a_loss_without_a_stacked_form(
    scheme, make_random_problem, monkeypatch
):
    problem = make_random_problem(2, 3, "sigmoid", "mse", batch_size=2)
    looped = evaluate(get_provider(scheme, vectorize=False), problem)
    monkeypatch.setattr(finite_differences, "STACKED_LOSSES", {})

    vectorized = evaluate(get_provider(scheme, vectorize=True), problem)

    np.testing.assert_allclose(vectorized.gradient, looped.gradient, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("vectorize", [True, False])
@pytest.mark.parametrize("scheme", FD_SCHEMES)
def test_finite_differences_leave_the_parameters_as_they_were(
    scheme, vectorize, make_random_problem
):
    problem = make_random_problem(2, 3, "tanh", "mse", batch_size=2)
    before = problem.network.parameters.copy()

    evaluate(get_provider(scheme, vectorize=vectorize), problem)

    np.testing.assert_array_equal(problem.network.parameters, before)


@pytest.mark.parametrize(
    ("batch_size", "width", "vectorized"),
    [(1, 256, True), (64, 16, True), (256, 2, False), (256, 64, False)],
)
def test_finite_differences_choose_the_batched_pass_for_small_layers(
    batch_size, width, vectorized
):
    network = MLP((64, width, width, 10), seed=0)

    chosen = get_provider("fd-central").vectorized_for(network, batch_size)

    assert chosen is vectorized


@pytest.mark.parametrize("vectorize", [True, False])
def test_the_vectorize_option_overrides_the_choice_by_size(vectorize):
    network = MLP((64, 2, 10), seed=0)

    assert get_provider("fd-forward", vectorize=vectorize).vectorized_for(network, 1) is vectorize


def test_vectorize_option_must_be_a_boolean_or_none():
    with pytest.raises(TypeError, match="`vectorize` must be True, False or None, got 'yes'"):
        get_provider("fd-central", vectorize="yes")


@pytest.mark.parametrize("vectorize", [True, False])
@pytest.mark.parametrize("scheme", FD_SCHEMES)
def test_float32_finite_differences_stay_float32_and_close_to_backprop(
    scheme, vectorize, make_random_problem
):
    problem = make_random_problem(2, 3, "tanh", "mse", batch_size=3, dtype=np.float32)
    reference = evaluate(get_provider("backprop"), problem)

    estimate = evaluate(get_provider(scheme, vectorize=vectorize), problem)

    assert estimate.gradient.dtype == np.float32
    largest = np.max(np.abs(reference.gradient))
    assert np.max(np.abs(estimate.gradient - reference.gradient)) <= 1e-2 * largest
