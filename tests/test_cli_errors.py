"""Bad input on the command line: one line naming the option, the rule and the value, exit
code 2, no traceback, and no work started; and the same rules from the Python API.

Most cases call ``bench.cli.main`` in this process; a few run ``python -m bench.cli`` to see
what a user sees. ``run_cli`` and ``assert_one_line_error`` are shared with the other test
files of the command line.
"""

import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.sweep import SweepConfig
from gradients import MLP, get_activation, get_loss, get_provider
from gradients.data import (
    check_data_spec,
    dataset_from_arrays,
    load_dataset,
    load_digits,
    teacher_student,
)
from gradients.objectives import NetworkObjective, Quadratic
from gradients.sgd import train

PROJECT = Path(__file__).resolve().parents[1]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``gradscale argv``, run in this process."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse exits on its own errors
            code = exit_.code
    return code, stdout.getvalue(), stderr.getvalue()


def assert_one_line_error(code: int, stderr: str, *fragments: str) -> str:
    """The error line, after checking exit code 2, one line, no traceback, each fragment."""
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("gradscale"), line
    assert ": error: " in line
    for fragment in fragments:
        assert fragment in line
    return line


@pytest.fixture
def never(tmp_path) -> Path:
    """An output folder that a refused run must not create."""
    return tmp_path / "never-written"


# --- gradscale run

RUN_CASES = {
    "unknown-provider": (["--providers", "nope"], ["`--providers`", "'nope'", "backprop"]),
    "one-unknown-provider": (["--providers", "backprop,nope"], ["`--providers`", "'nope'"]),
    "no-provider": (["--providers", ","], ["--providers", "','"]),
    "width-0": (["--widths", "0"], ["--widths", "'0'", ">= 1"]),
    "one-width-0": (["--widths", "2,0"], ["--widths", "'2,0'"]),
    "width-text": (["--widths", "two"], ["--widths", "'two'"]),
    "depth-0": (["--depths", "0"], ["--depths", "'0'", ">= 1"]),
    "depth-negative": (["--depths=-3"], ["--depths", "'-3'"]),
    "depth-range-backwards": (["--depths", "4-1"], ["--depths", "'4-1'"]),
    "budget-0": (["--budget", "0"], ["--budget", "'0'", "positive finite"]),
    "budget-negative": (["--budget=-1"], ["--budget", "'-1'", "positive finite"]),
    "budget-nan": (["--budget", "nan"], ["--budget", "'nan'"]),
    "budget-inf": (["--budget", "inf"], ["--budget", "'inf'"]),
    "budget-text": (["--budget", "soon"], ["--budget", "'soon'"]),
    "repeats-0": (["--repeats", "0"], ["--repeats", "'0'", ">= 1"]),
    "repeats-fraction": (["--repeats", "2.5"], ["--repeats", "'2.5'"]),
    "seed-negative": (["--seed=-1"], ["--seed", "'-1'", ">= 0"]),
    "batch-size-0": (["--batch-size", "0"], ["--batch-size", "'0'"]),
    "batch-size-beyond-data": (["--batch-size", "100000"], ["`--batch-size`", "100000"]),
    "unknown-activation": (["--activation", "softplus"], ["`--activation`", "'softplus'"]),
    "unknown-data": (["--data", "cifar"], ["`--data`", "'cifar'", "mnist:FOLDER"]),
    "mnist-without-folder": (["--data", "mnist:"], ["`--data`", "'mnist:'"]),
}


@pytest.mark.parametrize(("options", "fragments"), RUN_CASES.values(), ids=RUN_CASES)
def test_run_refuses_bad_options_in_one_line(options, fragments, never):
    # Small settings first, so that a value let through costs little: the last one wins.
    code, stdout, stderr = run_cli(["run", "--depths", "1", "--output", str(never), *options])

    line = assert_one_line_error(code, stderr, *fragments)
    assert line.startswith("gradscale run: error: ")
    assert stdout == ""
    assert not never.exists()


def test_run_refuses_a_missing_mnist_folder(tmp_path, never):
    missing = tmp_path / "no-such-folder"

    code, _, stderr = run_cli(["run", "--data", f"mnist:{missing}", "--output", str(never)])

    assert_one_line_error(code, stderr, "`--data`", f"'mnist:{missing}'", "does not exist")
    assert not never.exists()


def test_run_refuses_an_output_that_is_a_file(tmp_path):
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")

    code, _, stderr = run_cli(["run", "--depths", "1", "--output", str(a_file)])

    assert_one_line_error(code, stderr, "`--output`", str(a_file), "is a file")
    assert a_file.read_text() == "not a folder"


def test_run_refuses_to_resume_a_folder_that_does_not_exist(tmp_path):
    missing = tmp_path / "no-run"

    code, _, stderr = run_cli(["run", "--resume", str(missing)])

    assert_one_line_error(code, stderr, "`--resume`", str(missing), "run folder")


def test_run_refuses_to_resume_a_folder_that_holds_no_run(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")

    code, _, stderr = run_cli(["run", "--resume", str(tmp_path)])

    assert_one_line_error(code, stderr, "`--resume`", str(tmp_path), "metadata.json")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--depths", "1-3"], "--depths"),
        (["--providers", "backprop"], "--providers"),
        (["--seed", "0"], "--seed"),
        (["--batch-size", "4"], "--batch-size"),
        (["--quick"], "--quick"),
    ],
)
def test_run_refuses_options_that_would_change_a_resumed_run(tmp_path, options, named):
    code, _, stderr = run_cli(["run", "--resume", str(tmp_path), *options])

    assert_one_line_error(code, stderr, "`--resume`", named)


# --- gradscale train

TRAIN_CASES = {
    "unknown-provider": (["--provider", "nope"], ["`--provider`", "'nope'", "naive"]),
    "unknown-activation": (["--activation", "softplus"], ["`--activation`", "'softplus'"]),
    "hidden-0": (["--hidden", "0"], ["--hidden", "'0'", ">= 1"]),
    "one-hidden-0": (["--hidden", "8,0"], ["--hidden", "'8,0'"]),
    "learning-rate-0": (["--learning-rate", "0"], ["--learning-rate", "'0'", "positive"]),
    "learning-rate-negative": (["--learning-rate=-0.1"], ["--learning-rate", "'-0.1'"]),
    "learning-rate-nan": (["--learning-rate", "nan"], ["--learning-rate", "'nan'"]),
    "learning-rate-inf": (["--learning-rate", "inf"], ["--learning-rate", "'inf'"]),
    "learning-rate-text": (["--learning-rate", "fast"], ["--learning-rate", "'fast'"]),
    "epochs-0": (["--epochs", "0"], ["--epochs", "'0'", ">= 1"]),
    "batch-size-0": (["--batch-size", "0"], ["--batch-size", "'0'"]),
    "batch-size-beyond-data": (["--batch-size", "100000"], ["`--batch-size`", "100000"]),
    "batch-size-beyond-limit": (
        ["--limit", "10", "--batch-size", "11"],
        ["`--batch-size`", "10 training samples", "11"],
    ),
    "limit-0": (["--limit", "0"], ["--limit", "'0'"]),
    "seed-negative": (["--seed=-2"], ["--seed", "'-2'"]),
    "unknown-data": (["--data", "cifar"], ["`--data`", "'cifar'", "digits"]),
    "regression-data": (["--data", "teacher-student"], ["`--data`", "classification"]),
}


@pytest.mark.parametrize(("options", "fragments"), TRAIN_CASES.values(), ids=TRAIN_CASES)
def test_train_refuses_bad_options_in_one_line(options, fragments):
    code, stdout, stderr = run_cli(["train", *options])

    line = assert_one_line_error(code, stderr, *fragments)
    assert line.startswith("gradscale train: error: ")
    assert stdout == ""


def test_train_refuses_a_missing_mnist_folder(tmp_path):
    missing = tmp_path / "no-such-folder"

    code, _, stderr = run_cli(["train", "--data", f"mnist:{missing}"])

    assert_one_line_error(code, stderr, "`--data`", f"'mnist:{missing}'", "does not exist")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [([], "COMMAND"), (["frobnicate"], "'frobnicate'"), (["run", "--bogus"], "--bogus")],
    ids=["no-command", "unknown-command", "unknown-option"],
)
def test_a_missing_or_unknown_command_or_option_is_one_line(argv, fragment):
    code, _, stderr = run_cli(argv)

    assert_one_line_error(code, stderr, fragment)


# --- what a user sees: a fresh interpreter


def test_the_command_line_prints_one_line_and_exits_2():
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--budget=-1"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert_one_line_error(
        completed.returncode, completed.stderr, "gradscale run: error:", "--budget", "'-1'"
    )
    assert completed.stdout == ""


# --- the same rules from Python: ValueError or TypeError, naming the argument

PYTHON_CASES = {
    "width-0": (lambda: MLP((3, 0, 2)), ValueError, "`layer_sizes`"),
    "no-hidden-or-output": (lambda: MLP((3,)), ValueError, "`layer_sizes`"),
    "layer-sizes-text": (lambda: MLP("3-2"), TypeError, "`layer_sizes`"),
    "unknown-activation": (lambda: MLP((3, 2), "softplus"), ValueError, "`activation`"),
    "unknown-loss": (lambda: get_loss("hinge"), ValueError, "`loss`"),
    "unknown-provider": (lambda: get_provider("magic"), ValueError, "`provider`"),
    "activation-not-a-name": (lambda: get_activation(None), ValueError, "`activation`"),
    "step-0": (lambda: get_provider("fd-central", step=0.0), ValueError, "`step`"),
    "step-nan": (lambda: get_provider("fd-forward", step=math.nan), ValueError, "`step`"),
    "learning-rate-inf": (
        lambda: train(Quadratic(1.0), learning_rate=math.inf, epochs=1),
        ValueError,
        "`learning_rate`",
    ),
    "batch-beyond-data": (
        lambda: train(Quadratic(1.0), learning_rate=0.1, epochs=1, batch_size=2),
        ValueError,
        "`batch_size`",
    ),
    "repeats-0": (lambda: SweepConfig(repeats=0).checked(), ValueError, "`repeats`"),
    "budget-negative": (lambda: SweepConfig(budget_s=-1.0).checked(), ValueError, "`budget_s`"),
    "budget-text": (lambda: SweepConfig(budget_s="1").checked(), TypeError, "`budget_s`"),
    "depth-0": (lambda: SweepConfig(depths=(0,)).checked(), ValueError, "`depths`"),
    "sweep-unknown-provider": (
        lambda: SweepConfig(providers=("nope",)).checked(),
        ValueError,
        "`providers`",
    ),
    "data-unknown": (lambda: load_dataset("cifar"), ValueError, "`data`"),
    "data-not-text": (lambda: check_data_spec("data", 7), TypeError, "`data`"),
    "test-fraction-1": (lambda: load_digits(test_fraction=1.0), ValueError, "`test_fraction`"),
    "test-fraction-text": (
        lambda: load_digits(test_fraction="0.2"),
        TypeError,
        "`test_fraction`",
    ),
    "seed-negative": (lambda: load_digits(seed=-1), ValueError, "`seed`"),
    "teacher-width-0": (
        lambda: teacher_student(10, 3, teacher_hidden=(4, 0)),
        ValueError,
        "`teacher_hidden`",
    ),
    "no-training-sample-left": (
        lambda: teacher_student(2, 3, test_fraction=0.9),
        ValueError,
        "`test_fraction`",
    ),
}


@pytest.mark.parametrize(("call", "error", "name"), PYTHON_CASES.values(), ids=PYTHON_CASES)
def test_the_python_api_names_the_bad_argument(call, error, name):
    with pytest.raises(error) as raised:
        call()

    assert name in str(raised.value)
    assert "\n" not in str(raised.value)


def small_problem(n_samples: int = 4):
    network = MLP((3, 2, 2), seed=0)
    inputs = np.random.default_rng(0).standard_normal((n_samples, 3))
    return network, inputs


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_infinite_inputs_are_refused_by_the_checked_gradient(bad):
    network, inputs = small_problem()
    inputs[2, 1] = bad

    with pytest.raises(ValueError, match=r"`inputs` must be finite, got 1 NaN or infinite"):
        get_provider("backprop").loss_and_gradient(
            network, get_loss("cross-entropy"), inputs, [0, 1, 0, 1]
        )


def test_nan_inputs_are_refused_by_the_training_objective():
    network, inputs = small_problem()
    inputs[0, 0] = math.nan

    with pytest.raises(ValueError, match="`inputs` must be finite"):
        NetworkObjective(network, "cross-entropy", get_provider("naive"), inputs, [0, 1, 0, 1])


def test_nan_regression_targets_are_refused():
    network, inputs = small_problem()
    targets = np.zeros((4, 2))
    targets[3, 0] = math.nan

    with pytest.raises(ValueError, match="`targets` must be finite"):
        get_provider("backprop").loss_and_gradient(network, get_loss("mse"), inputs, targets)


@pytest.mark.parametrize("label", [2, -1])
def test_class_labels_out_of_range_for_cross_entropy_are_refused(label):
    network, inputs = small_problem()

    with pytest.raises(ValueError, match=r"`targets` for cross-entropy must be .* in 0\.\.1"):
        get_provider("backprop").loss_and_gradient(
            network, get_loss("cross-entropy"), inputs, [0, 1, label, 0]
        )


def test_inputs_that_do_not_match_the_layer_sizes_are_refused():
    network, _ = small_problem()

    with pytest.raises(ValueError, match=r"`inputs` must have shape \(n_samples >= 1, 3\)"):
        get_provider("backprop").loss_and_gradient(
            network, get_loss("mse"), np.ones((4, 5)), np.zeros((4, 2))
        )


@pytest.mark.parametrize(
    ("network", "loss", "name"),
    [("3-2-2", get_loss("mse"), "`network`"), (MLP((3, 2, 2)), "mse", "`loss`")],
    ids=["network-as-text", "loss-as-name"],
)
def test_a_network_or_loss_of_the_wrong_type_is_named(network, loss, name):
    with pytest.raises(TypeError, match=name):
        get_provider("backprop").loss_and_gradient(network, loss, np.ones((1, 3)), [[0, 0]])


@pytest.mark.parametrize(
    ("inputs", "labels", "fragment"),
    [
        ([[0.0, 1.0], [math.nan, 0.0], [1.0, 1.0]], [0, 1, 0], "`inputs` must be finite"),
        ([["a", "b"], ["c", "d"]], [0, 1], "`inputs` must be a real-valued"),
        ([[0.0], [1.0], [2.0]], [0, 1], "`labels` must hold one label per sample"),
        ([[0.0], [1.0], [2.0]], [0, -1, 1], "`labels` must be integer class labels >= 0"),
        ([[0.0], [1.0], [2.0]], [0, 0.5, 1], "non-integer values such as 0.5"),
    ],
    ids=["nan-input", "text-input", "label-count", "negative-label", "fractional-label"],
)
def test_data_from_arrays_is_checked(inputs, labels, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment):
        dataset_from_arrays("arrays", inputs, labels, test_fraction=0.0, seed=0)


@pytest.mark.parametrize("spec", ["digits", "teacher-student"])
def test_the_bundled_data_specs_pass_the_check(spec):
    assert check_data_spec("--data", spec) == spec


def test_an_existing_folder_passes_the_data_spec_check(tmp_path):
    assert check_data_spec("--data", f"mnist:{tmp_path}") == f"mnist:{tmp_path}"


@pytest.mark.parametrize(
    ("spec", "error"),
    [("", ValueError), ("Digits", ValueError), ("mnist", ValueError), ("mnist:", ValueError),
     (None, TypeError), (("digits",), TypeError)],
)  # fmt: skip
def test_malformed_data_specs_name_the_option_and_list_the_forms(spec, error):
    with pytest.raises(error, match=r"`--data` must .*mnist:FOLDER"):
        check_data_spec("--data", spec)


# --- bad input to the other commands and to the library


def test_peers_names_the_option_of_an_unknown_peer(never):
    code, _, stderr = run_cli(["peers", "--peers", "nope", "--output", str(never)])

    assert_one_line_error(code, stderr, "`--peers`", "'nope'")


def test_peers_refuses_an_output_that_is_a_file_in_one_line(tmp_path):
    a_file = tmp_path / "results.txt"
    a_file.write_text("not a folder")

    code, _, stderr = run_cli(["peers", "--quick", "--output", str(a_file)])

    assert_one_line_error(code, stderr, "`--output`", str(a_file))


def test_a_range_without_its_end_is_refused(never):
    code, _, stderr = run_cli(
        ["run", "--providers=backprop", "--no-report", f"--output={never}", "--depths=1-"]
    )

    assert_one_line_error(code, stderr, "--depths", "'1-'")


def test_a_negative_network_seed_is_named():
    with pytest.raises(ValueError, match="`seed`"):
        MLP((3, 2), seed=-1)


def test_a_negative_training_seed_is_named():
    with pytest.raises(ValueError, match="`seed`"):
        train(Quadratic(1.0), learning_rate=0.1, epochs=1, seed=-1)


def test_a_provider_given_by_name_to_the_objective_is_named():
    network, inputs = small_problem()

    with pytest.raises(TypeError, match="`provider`"):
        NetworkObjective(network, "cross-entropy", "backprop", inputs, [0, 1, 0, 1])


def test_a_sweep_config_with_unknown_data_is_refused_when_checked():
    with pytest.raises(ValueError, match="`data`"):
        SweepConfig(data="cifar").checked()
