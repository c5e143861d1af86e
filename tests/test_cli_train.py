"""``gradscale train`` on the bundled digits: the defaults learn, one row per epoch, every
provider and batch mode runs, exact providers train alike, and a divergence exits with 1."""

import math
import re

import pytest
from test_cli_errors import run_cli

from bench.commands.train import HEADER
from gradients import provider_names

EPOCH_ROW = r"^\s*(\d+)\s+(\S+)\s+([0-9.]+)%\s+([0-9.]+)$"


def epoch_rows(stdout: str) -> list[tuple[int, float, float]]:
    """(epoch, loss, test accuracy) of each epoch row."""
    matches = [re.match(EPOCH_ROW, line) for line in stdout.splitlines()]
    return [(int(m[1]), float(m[2]), float(m[3]) / 100) for m in matches if m]


def test_the_defaults_reach_90_percent_test_accuracy_on_digits():
    code, stdout, stderr = run_cli(["train"])

    assert code == 0, stderr
    rows = epoch_rows(stdout)
    assert [epoch for epoch, _, _ in rows] == [1, 2, 3, 4, 5]
    assert rows[-1][2] >= 0.90
    assert stdout.splitlines()[:2] == [
        "backprop on digits: MLP(64-32-10, tanh, float64), 2410 parameters",
        HEADER,
    ]


@pytest.mark.parametrize("epochs", [1, 3])
def test_one_row_is_printed_per_epoch(epochs):
    code, stdout, _ = run_cli(["train", "--limit", "40", "--epochs", str(epochs)])

    assert code == 0
    assert [epoch for epoch, _, _ in epoch_rows(stdout)] == list(range(1, epochs + 1))
    assert f"{40 * epochs} updates" in stdout


@pytest.mark.parametrize("provider", provider_names())
def test_every_provider_trains_a_small_network(provider):
    code, stdout, stderr = run_cli(
        ["train", "--provider", provider, "--hidden", "2", "--limit", "12", "--epochs", "1"]
    )

    assert code == 0, stderr
    [(_, loss, accuracy)] = epoch_rows(stdout)
    assert math.isfinite(loss) and 0.0 <= accuracy <= 1.0
    assert stdout.startswith(f"{provider} on digits: MLP(64-2-10, tanh, float64)")


def test_naive_trains_exactly_as_backprop_does():
    options = ["--hidden", "4", "--limit", "30", "--epochs", "2"]

    naive_code, naive, _ = run_cli(["train", "--provider", "naive", *options])
    backprop_code, backprop, _ = run_cli(["train", "--provider", "backprop", *options])

    assert naive_code == backprop_code == 0
    naive_rows, backprop_rows = epoch_rows(naive), epoch_rows(backprop)
    assert len(naive_rows) == 2
    assert [row[1:] for row in naive_rows] == [row[1:] for row in backprop_rows]


@pytest.mark.parametrize(
    ("options", "n_updates"),
    [
        (["--full-batch"], 3),
        (["--batch-size", "16"], 3 * 4),  # 16, 16, 16 and a short last batch of 2
        (["--batch-size", "50"], 3),
    ],
    ids=["full-batch", "minibatch", "batch-of-all"],
)
def test_batch_modes_take_the_expected_number_of_updates(options, n_updates):
    code, stdout, _ = run_cli(["train", "--limit", "50", "--epochs", "3", *options])

    assert code == 0
    assert f"{n_updates} updates" in stdout


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_other_activations_train(activation):
    code, stdout, _ = run_cli(["train", "--activation", activation, "--limit", "40"])

    assert code == 0
    assert f"MLP(64-32-10, {activation}, float64)" in stdout
    assert len(epoch_rows(stdout)) == 5


def test_a_diverging_rate_exits_1_with_one_line_suggesting_a_smaller_rate():
    # The weights grow by 1e307 per update, so the outputs overflow within a few updates.
    code, _, stderr = run_cli(["train", "--learning-rate", "1e307", "--limit", "50"])

    assert code == 1
    [line] = stderr.splitlines()
    assert line.startswith("gradscale train: training diverged at update ")
    assert line.endswith("try a smaller learning rate")


def test_a_loss_that_jumps_from_2_to_1e298_is_a_divergence():
    code, _, stderr = run_cli(["train", "--learning-rate", "1e300", "--limit", "50"])

    assert code == 1
    assert "training diverged" in stderr
