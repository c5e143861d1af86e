"""Property-based checks of the argument rules: random valid configurations never crash and
give finite results (or a reported divergence); random invalid ones always get a
``ValueError`` or ``TypeError`` naming the argument, and on the command line one line with
exit code 2 naming the option and the value."""

import math
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_cli_errors import assert_one_line_error, run_cli

from bench.cli import build_parser
from bench.commands.run import config_from
from bench.sweep import SweepConfig
from gradients import (
    ACTIVATIONS,
    LOSSES,
    MLP,
    get_activation,
    get_loss,
    get_provider,
    provider_names,
)
from gradients.data import DATA_SPECS, check_data_spec
from gradients.objectives import NetworkObjective
from gradients.sgd import train

FAST = settings(max_examples=40, deadline=None)
SLOW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PROVIDERS = provider_names()
NAME_TEXT = st.text(string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=12)


def unknown(known) -> st.SearchStrategy[str]:
    return NAME_TEXT.filter(lambda name: name not in known)


# --- random valid configurations


@st.composite
def problems(draw, *, max_batch: int = 5):
    """A small network, loss, provider and batch that fit together."""
    depth = draw(st.integers(0, 3))
    sizes = (
        draw(st.integers(1, 4)),
        *draw(st.lists(st.integers(1, 4), min_size=depth, max_size=depth)),
        draw(st.integers(1, 3)),
    )
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    loss_name = draw(st.sampled_from(sorted(LOSSES)))
    network = MLP(sizes, activation, seed=draw(st.integers(0, 2**16)))
    n_samples = draw(st.integers(1, max_batch))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    inputs = rng.standard_normal((n_samples, sizes[0]))
    if loss_name == "cross-entropy":
        targets = rng.integers(0, sizes[-1], size=n_samples)
    else:
        targets = rng.standard_normal((n_samples, sizes[-1]))
    return network, get_loss(loss_name), draw(st.sampled_from(PROVIDERS)), inputs, targets


@FAST
@given(problems())
def test_any_valid_configuration_gives_a_finite_loss_gradient_and_predicted_counts(problem):
    network, loss, provider_name, inputs, targets = problem
    provider = get_provider(provider_name)

    evaluation = provider.loss_and_gradient(network, loss, inputs, targets)

    assert math.isfinite(evaluation.loss)
    assert evaluation.gradient.shape == (network.n_parameters,)
    assert np.all(np.isfinite(evaluation.gradient))
    assert evaluation.counts == provider.predict_counts(network.layer_sizes, inputs.shape[0])


@FAST
@given(
    problems(max_batch=8),
    st.floats(1e-4, 1e3),
    st.integers(1, 3),
    st.integers(1, 8),
    st.booleans(),
)
def test_any_valid_training_run_ends_finite_or_with_a_reported_divergence(
    problem, learning_rate, epochs, batch_size, full_batch
):
    network, loss, provider_name, inputs, targets = problem
    batch_size = None if full_batch else min(batch_size, inputs.shape[0])
    objective = NetworkObjective(network, loss, get_provider(provider_name), inputs, targets)

    with np.errstate(over="ignore", invalid="ignore"):
        history = train(
            objective, learning_rate=learning_rate, epochs=epochs, batch_size=batch_size
        )

    assert all(math.isfinite(value) for value in history.update_losses)
    if history.divergence is None:
        assert len(history.epoch_losses) == epochs
        assert np.all(np.isfinite(network.parameters))
    else:
        assert history.divergence.message.endswith("try a smaller learning rate")


@st.composite
def run_options(draw):
    """Valid ``gradscale run`` options, as typed, with the configuration they mean."""
    providers = draw(st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=4, unique=True))
    widths = draw(st.lists(st.integers(1, 64), min_size=1, max_size=3))
    first = draw(st.integers(1, 30))
    last = draw(st.integers(first, first + 10))
    budget_s = draw(st.floats(1e-3, 1e3))
    repeats = draw(st.integers(1, 20))
    batch_size = draw(st.integers(1, 64))
    activation = draw(st.sampled_from(sorted(ACTIVATIONS)))
    data = draw(st.sampled_from(["digits", "teacher-student"]))
    argv = [
        "run", f"--providers={','.join(providers)}", f"--widths={','.join(map(str, widths))}",
        f"--depths={first}-{last}", f"--budget={budget_s!r}", f"--repeats={repeats}",
        f"--batch-size={batch_size}", f"--activation={activation}", f"--data={data}",
    ]  # fmt: skip
    expected = SweepConfig(
        providers=tuple(providers),
        widths=tuple(sorted(set(widths))),
        depths=tuple(range(first, last + 1)),
        activation=activation,
        data=data,
        batch_size=batch_size,
        budget_s=budget_s,
        repeats=repeats,
    )
    return argv, expected


@FAST
@given(run_options())
def test_valid_run_options_give_the_configuration_they_spell(options):
    argv, expected = options

    config = config_from(build_parser().parse_args(argv))

    assert config == expected
    assert config.checked() == config


@SLOW
@given(
    provider=st.sampled_from(PROVIDERS),
    hidden=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    limit=st.integers(2, 12),
    batch_size=st.integers(1, 12),
    learning_rate=st.floats(1e-3, 1.0),
)
def test_valid_train_options_train_and_print_a_row(
    provider, hidden, activation, limit, batch_size, learning_rate
):
    argv = [
        "train", f"--provider={provider}", f"--hidden={','.join(map(str, hidden))}",
        f"--activation={activation}", f"--limit={limit}",
        f"--batch-size={min(batch_size, limit)}", f"--learning-rate={learning_rate!r}",
        "--epochs=1",
    ]  # fmt: skip

    code, stdout, stderr = run_cli(argv)

    assert code in (0, 1), stderr
    assert "Traceback" not in stderr
    if code == 0:
        assert stdout.splitlines()[2].split()[0] == "1"  # the row of epoch 1


# --- random invalid arguments from Python

NOT_POSITIVE_FINITE = st.one_of(
    st.floats(max_value=0.0),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
)
NOT_POSITIVE_INT = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
)


def assert_named(error: BaseException, name: str) -> None:
    message = str(error)
    assert f"`{name}`" in message
    assert "\n" not in message


@FAST
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.integers(max_value=0), st.data())
def test_a_layer_size_below_1_is_refused(sizes, bad, data):
    sizes.insert(data.draw(st.integers(0, len(sizes))), bad)

    with pytest.raises(ValueError) as raised:
        MLP(sizes)

    assert_named(raised.value, "layer_sizes")


@FAST
@given(
    st.sampled_from(
        [
            ("provider", get_provider, PROVIDERS),
            ("loss", get_loss, LOSSES),
            ("activation", get_activation, ACTIVATIONS),
        ]
    ),
    st.data(),
)
def test_an_unknown_name_is_refused_listing_the_valid_ones(kind, data):
    name, lookup, known = kind
    value = data.draw(unknown(known))

    with pytest.raises(ValueError) as raised:
        lookup(value)

    assert_named(raised.value, name)
    assert all(valid in str(raised.value) for valid in known)


@FAST
@given(
    st.sampled_from(
        [
            ("learning_rate", lambda v: train_quadratic(learning_rate=v)),
            ("divergence_factor", lambda v: train_quadratic(divergence_factor=v)),
            ("step", lambda v: get_provider("fd-central", step=v)),
            ("budget_s", lambda v: SweepConfig(budget_s=v).checked()),
            ("min_measure_s", lambda v: SweepConfig(min_measure_s=v).checked()),
        ]
    ),
    NOT_POSITIVE_FINITE,
)
def test_a_rate_step_or_budget_that_is_not_positive_and_finite_is_named(case, value):
    name, call = case
    # None means "no divergence check" and "the default step" to those two.
    assume(not (name in ("divergence_factor", "step") and value is None))

    with pytest.raises((ValueError, TypeError)) as raised:
        call(value)

    assert_named(raised.value, name)


def train_quadratic(**options):
    from gradients.objectives import Quadratic

    return train(Quadratic(1.0), **{"learning_rate": 0.1, "epochs": 1, **options})


@FAST
@given(
    st.sampled_from(
        [
            ("epochs", lambda v: train_quadratic(epochs=v)),
            ("repeats", lambda v: SweepConfig(repeats=v).checked()),
            ("widths", lambda v: SweepConfig(widths=(2, v)).checked()),
            ("depths", lambda v: SweepConfig(depths=(v,)).checked()),
            ("batch_size", lambda v: SweepConfig(batch_size=v).checked()),
        ]
    ),
    NOT_POSITIVE_INT,
)
def test_a_count_below_1_or_not_an_integer_is_named(case, value):
    name, call = case

    with pytest.raises((ValueError, TypeError)) as raised:
        call(value)

    assert_named(raised.value, name)


@FAST
@given(problems(max_batch=6), st.integers(1, 100))
def test_a_batch_larger_than_the_data_is_refused(problem, extra):
    network, loss, provider_name, inputs, targets = problem
    objective = NetworkObjective(network, loss, get_provider(provider_name), inputs, targets)

    with pytest.raises(ValueError) as raised:
        train(objective, learning_rate=0.1, epochs=1, batch_size=inputs.shape[0] + extra)

    assert_named(raised.value, "batch_size")


@FAST
@given(problems(), st.sampled_from([math.nan, math.inf, -math.inf]), st.data())
def test_a_nan_or_infinite_input_anywhere_is_refused(problem, bad, data):
    network, loss, provider_name, inputs, targets = problem
    row = data.draw(st.integers(0, inputs.shape[0] - 1))
    column = data.draw(st.integers(0, inputs.shape[1] - 1))
    inputs[row, column] = bad

    with pytest.raises(ValueError) as raised:
        get_provider(provider_name).loss_and_gradient(network, loss, inputs, targets)

    assert_named(raised.value, "inputs")


@FAST
@given(problems(), st.one_of(st.integers(-(2**62), -1), st.integers(3, 2**62)), st.data())
def test_a_class_label_out_of_range_is_refused(problem, label, data):
    network, _, provider_name, inputs, _ = problem
    n_outputs = network.layer_sizes[-1]
    assume(label < 0 or label >= n_outputs)
    labels = np.zeros(inputs.shape[0], dtype=np.int64)
    labels[data.draw(st.integers(0, labels.size - 1))] = label

    with pytest.raises(ValueError) as raised:
        get_provider(provider_name).loss_and_gradient(
            network, get_loss("cross-entropy"), inputs, labels
        )

    assert_named(raised.value, "targets")
    assert f"0..{n_outputs - 1}" in str(raised.value)


@FAST
@given(unknown(DATA_SPECS).filter(lambda spec: not spec.startswith("mnist:")))
def test_a_malformed_data_spec_is_refused_listing_the_forms(spec):
    with pytest.raises(ValueError) as raised:
        check_data_spec("data", spec)

    assert_named(raised.value, "data")
    assert all(form in str(raised.value) for form in DATA_SPECS)


# --- random invalid options on the command line

NOT_POSITIVE_FINITE_TEXT = st.one_of(
    st.floats(max_value=0.0).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "", "fast"]),
)
NOT_POSITIVE_INT_TEXT = st.one_of(
    st.integers(max_value=0).map(str),
    st.sampled_from(["1.5", "2e3", "", "one"]),
)
BAD_INT_LIST_TEXT = st.one_of(
    st.integers(max_value=0).map(str),
    st.integers(2, 50).map(lambda n: f"{n}-1"),
    st.sampled_from(["1,,2", "a", "-", "0-3"]),
)

RUN_OPTIONS = {
    "--providers": unknown(PROVIDERS).filter(lambda name: "," not in name),
    "--widths": BAD_INT_LIST_TEXT,
    "--depths": BAD_INT_LIST_TEXT,
    "--budget": NOT_POSITIVE_FINITE_TEXT,
    "--repeats": NOT_POSITIVE_INT_TEXT,
    "--batch-size": NOT_POSITIVE_INT_TEXT,
    "--seed": st.integers(max_value=-1).map(str),
    "--activation": unknown(ACTIVATIONS),
    "--data": unknown(DATA_SPECS).filter(lambda spec: not spec.startswith("mnist:")),
}
TRAIN_OPTIONS = {
    "--provider": unknown(PROVIDERS),
    "--hidden": BAD_INT_LIST_TEXT,
    "--learning-rate": NOT_POSITIVE_FINITE_TEXT,
    "--epochs": NOT_POSITIVE_INT_TEXT,
    "--batch-size": NOT_POSITIVE_INT_TEXT,
    "--limit": NOT_POSITIVE_INT_TEXT,
    "--activation": unknown(ACTIVATIONS),
    "--data": unknown(DATA_SPECS).filter(lambda spec: not spec.startswith("mnist:")),
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("never-written")


@FAST
@given(st.sampled_from(["run", "train"]), st.data())
def test_a_bad_option_value_is_one_line_naming_the_option_and_value(scratch, command, data):
    options = RUN_OPTIONS if command == "run" else TRAIN_OPTIONS
    option = data.draw(st.sampled_from(sorted(options)))
    value = data.draw(options[option])
    # Small settings first, so that a value let through costs little: the last one wins.
    output = scratch / "run"
    small = ["--depths=1", "--providers=backprop", f"--output={output}"]
    small = small if command == "run" else ["--limit=5", "--epochs=1"]

    code, stdout, stderr = run_cli([command, *small, f"{option}={value}"])

    assert_one_line_error(code, stderr, option, repr(value))
    assert stdout == ""
    assert not output.exists()
