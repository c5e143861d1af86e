"""The registry of providers by name: the built-in names, errors that list them, options, and
a provider written outside the library, registered and used by the training loop."""

import numpy as np
import pytest

from gradients import (
    MLP,
    Evaluation,
    OpCounts,
    Provider,
    get_provider,
    provider_names,
    register_provider,
    unregister_provider,
)
from gradients.objectives import NetworkObjective
from gradients.providers import Backprop, CentralDifferences, ForwardDifferences, Naive
from gradients.sgd import train

BUILT_IN = {
    "backprop": Backprop,
    "naive": Naive,
    "fd-forward": ForwardDifferences,
    "fd-central": CentralDifferences,
}


class CountingBackprop(Provider):
    """A user's provider: backpropagation that remembers the batch size of every call."""

    name = "counting-backprop"

    def __init__(self, label: str = "") -> None:
        self.label = label
        self.batch_sizes: list[int] = []

    def compute(self, network, loss, inputs, targets) -> Evaluation:
        self.batch_sizes.append(inputs.shape[0])
        return Backprop().compute(network, loss, inputs, targets)

    def predict_counts(self, layer_sizes, batch_size, *, bias=True) -> OpCounts:
        return Backprop().predict_counts(layer_sizes, batch_size, bias=bias)


@pytest.fixture
def user_provider_name():
    register_provider(CountingBackprop.name, CountingBackprop)
    yield CountingBackprop.name
    unregister_provider(CountingBackprop.name)


def test_the_built_in_providers_are_registered_in_sorted_order():
    names = provider_names()

    assert set(BUILT_IN) <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_get_provider_returns_a_new_provider_of_that_name(name):
    first, second = get_provider(name), get_provider(name)

    assert isinstance(first, BUILT_IN[name])
    assert first is not second
    assert first.name == name
    assert first.describe()["provider"] == name


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_only_finite_differences_are_marked_inexact(name):
    assert get_provider(name).exact == (name in ("backprop", "naive"))


def test_unknown_provider_name_lists_the_valid_names():
    with pytest.raises(ValueError) as error:
        get_provider("autodiff")

    message = str(error.value)
    assert message.startswith("`provider` must be one of ")
    assert ", ".join(provider_names()) in message
    assert all(name in message for name in BUILT_IN)
    assert message.endswith("got 'autodiff'")


def test_options_reach_the_provider():
    assert get_provider("fd-central", step=1e-4).step == 1e-4
    assert get_provider("naive", block_elements=64).block_elements == 64
    assert get_provider("naive", block_elements=64).describe()["block_elements"] == 64


@pytest.mark.parametrize(
    ("name", "options", "error", "argument"),
    [
        ("fd-central", {"step": 0.0}, ValueError, "step"),
        ("fd-forward", {"step": -1e-6}, ValueError, "step"),
        ("fd-forward", {"step": float("nan")}, ValueError, "step"),
        ("fd-central", {"step": "small"}, TypeError, "step"),
        ("naive", {"block_elements": 0}, ValueError, "block_elements"),
        ("naive", {"block_elements": 2.5}, TypeError, "block_elements"),
    ],
)
def test_bad_provider_options_are_refused_naming_the_argument(name, options, error, argument):
    with pytest.raises(error, match=f"`{argument}`"):
        get_provider(name, **options)


@pytest.mark.parametrize(
    ("name", "option"), [("backprop", "step"), ("naive", "step"), ("fd-central", "block_elements")]
)
def test_an_option_the_provider_does_not_take_is_refused_naming_it(name, option):
    with pytest.raises(TypeError, match=option):
        get_provider(name, **{option: 1})


def test_a_registered_user_provider_is_listed_and_built_with_its_options(user_provider_name):
    provider = get_provider(user_provider_name, label="mine")

    assert user_provider_name in provider_names()
    assert isinstance(provider, CountingBackprop)
    assert provider.label == "mine"


def test_a_registered_user_provider_is_used_by_train(user_provider_name):
    rng = np.random.default_rng(0)
    inputs, targets = rng.standard_normal((10, 3)), rng.standard_normal(10)
    user_network, reference_network = MLP((3, 4, 1), seed=2), MLP((3, 4, 1), seed=2)
    user = get_provider(user_provider_name)

    history = train(
        NetworkObjective(user_network, "mse", user, inputs, targets),
        learning_rate=0.1,
        epochs=2,
        batch_size=4,
    )
    train(
        NetworkObjective(reference_network, "mse", get_provider("backprop"), inputs, targets),
        learning_rate=0.1,
        epochs=2,
        batch_size=4,
    )

    assert user.batch_sizes == [4, 4, 2, 4, 4, 2]
    assert history.counts == sum(
        (user.predict_counts((3, 4, 1), size) for size in user.batch_sizes), OpCounts()
    )
    np.testing.assert_array_equal(user_network.parameters, reference_network.parameters)


def test_an_unregistered_provider_is_gone():
    register_provider("short-lived", CountingBackprop)
    unregister_provider("short-lived")

    assert "short-lived" not in provider_names()
    with pytest.raises(ValueError, match="got 'short-lived'"):
        get_provider("short-lived")


def test_unregistering_an_unknown_name_does_nothing():
    before = provider_names()

    unregister_provider("never-registered")

    assert provider_names() == before


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_provider_name_must_be_a_non_empty_string(name):
    with pytest.raises(ValueError, match="`name` must be a non-empty string"):
        register_provider(name, CountingBackprop)
