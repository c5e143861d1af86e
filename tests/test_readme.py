"""The README's promises: its provider example works and its quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gradients import MLP, get_loss, get_provider, unregister_provider

PROJECT = Path(__file__).resolve().parents[1]
README = (PROJECT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_provider_example_registers_a_provider_with_twice_backprops_cost():
    (example,) = [block for block in _blocks("python") if "register_provider" in block]
    try:
        exec(compile(example, "README.md", "exec"), {})
        doubled = get_provider("doubled-backprop")
        network = MLP((3, 4, 2), seed=1)
        inputs, targets = np.ones((2, 3)), np.zeros((2, 2))
        loss = get_loss("mse")

        evaluation = doubled.loss_and_gradient(network, loss, inputs, targets)
        once = get_provider("backprop").loss_and_gradient(network, loss, inputs, targets)

        np.testing.assert_array_equal(evaluation.gradient, once.gradient)
        assert evaluation.counts == once.counts + once.counts
        assert doubled.predict_counts(network.layer_sizes, 2) == evaluation.counts
    finally:
        unregister_provider("doubled-backprop")


def test_ci_runs_the_readme_test_command_verbatim():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, flags=re.DOTALL)
    assert len(commands) == 2  # one runs the main job, one runs the tests
    (test_command,) = [command for command in commands if "pytest" in command]
    assert test_command in (PROJECT / ".ci" / "run").read_text()
