"""The peer providers (PyTorch, JAX, HIPS autograd) and the side-by-side run.

Tests of a peer need its package (``pip install torch==2.13.0 '.[peers]'``); without it they
are skipped, unless GRADSCALE_REQUIRE_PEERS=1 is set, where a missing peer fails them. The
run's logic, its summary and its command line are tested with a stand-in peer built on our
own backprop, so they are checked wherever the suite runs.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import bench.peers as peers_run
import bench.peers_summary as peers_summary
from bench.commands import peers as peers_command
from gradients import MLP, Evaluation, Loss, OpCounts, get_provider, provider_names
from gradients.providers import peers as peer_registry
from gradients.providers import registry
from gradients.providers.peers import PeerProvider, PreparedPeer, flat_gradient, register_peers

PEER_NAMES = sorted(peer_registry.PEERS)
ACTIVATIONS = ("tanh", "sigmoid", "relu")
LOSSES = ("mse", "cross-entropy")
FLOAT64_RTOL = 1e-10
FLOAT32_RTOL = 1e-4


@pytest.fixture
def isolated_registry(monkeypatch):
    """A copy of the provider registry that the test may change freely."""
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))


def peer(name: str) -> PeerProvider:
    """The peer ``name``; skipped where its package is missing, unless peers are required."""
    package = peer_registry.PEERS[name].package
    if importlib.util.find_spec(package) is None:
        if os.environ.get("GRADSCALE_REQUIRE_PEERS") == "1":
            pytest.fail(f"peer {name} is required but package {package} is not installed")
        pytest.skip(f"package {package} is not installed")
    register_peers()
    return get_provider(name)


def backprop_of(problem):
    return get_provider("backprop").loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )


# --- Registration ------------------------------------------------------------------------


def test_importing_the_library_and_registering_peers_imports_no_peer_package():
    code = (
        "import sys, gradients\n"
        "from gradients.providers.peers import register_peers\n"
        "register_peers()\n"
        "print(sorted({'torch', 'jax', 'autograd'} & set(sys.modules)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert completed.stdout.strip() == "[]"


def test_a_peer_whose_package_is_missing_is_not_registered_and_says_why(
    isolated_registry, monkeypatch
):
    for name in PEER_NAMES:
        registry.unregister_provider(name)
    real_package_found = peer_registry.package_found
    monkeypatch.setattr(
        peer_registry,
        "package_found",
        lambda package: package != "torch" and real_package_found(package),
    )

    reasons = register_peers()

    assert reasons["torch"] == reasons["torch-func"] == "package torch is not installed"
    assert "torch" not in provider_names()
    assert "torch-func" not in provider_names()


def test_load_peers_lists_a_missing_peer_as_absent_with_its_reason(isolated_registry, monkeypatch):
    monkeypatch.setattr(peer_registry, "package_found", lambda package: package != "autograd")
    monkeypatch.setattr(peer_registry, "peer_factory", lambda spec: lambda: "constructed")

    available, absent = peers_run.load_peers(("jax", "autograd"))

    assert absent == {"autograd": "package autograd is not installed"}
    assert available == {"jax": "constructed"}


def test_load_peers_lists_a_peer_that_fails_to_import_as_absent(isolated_registry, monkeypatch):
    broken = peer_registry.PeerSpec("numpy", "gradients.providers.no_such_peer", "Missing")
    monkeypatch.setitem(peer_registry.PEERS, "jax", broken)

    available, absent = peers_run.load_peers(("jax",))

    assert available == {}
    assert absent["jax"].startswith("numpy failed to import: ModuleNotFoundError")


@pytest.mark.parametrize("bias", [True, False])
def test_flat_gradient_lays_per_layer_arrays_out_like_the_parameters(bias):
    network = MLP((3, 4, 2), seed=1, bias=bias)
    layers = list(zip(network.weights, network.biases))

    np.testing.assert_array_equal(flat_gradient(network, layers), network.parameters)


# --- Each peer against backprop ------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_gradient_and_loss_match_backprop(
    name, activation, loss_name, bias, make_random_problem
):
    provider = peer(name)
    problem = make_random_problem(3, 4, activation, loss_name, batch_size=5, bias=bias)

    expected = backprop_of(problem)
    got = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    np.testing.assert_allclose(got.gradient, expected.gradient, rtol=FLOAT64_RTOL, atol=1e-14)
    assert got.loss == pytest.approx(expected.loss, rel=FLOAT64_RTOL)


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_computes_a_float32_network_in_float32(name, loss_name, make_random_problem):
    provider = peer(name)
    problem = make_random_problem(2, 5, "tanh", loss_name, dtype=np.float32)

    expected = backprop_of(problem)
    got = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    )

    assert got.gradient.dtype == np.float32
    np.testing.assert_allclose(got.gradient, expected.gradient, rtol=FLOAT32_RTOL, atol=1e-6)


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_uses_the_parameters_as_they_are_at_each_call(name, make_random_problem):
    provider = peer(name)
    problem = make_random_problem(2, 3, "tanh", "mse")
    args = (problem.network, problem.loss, problem.inputs, problem.targets)
    first = provider.loss_and_gradient(*args)

    problem.network.parameters -= 0.1 * first.gradient
    second = provider.loss_and_gradient(*args)

    np.testing.assert_allclose(second.gradient, backprop_of(problem).gradient, rtol=1e-10)
    assert second.loss != first.loss


@pytest.mark.parametrize("name", PEER_NAMES)
def test_prepared_peer_gives_the_gradient_and_the_loss_of_compute(name, make_random_problem):
    provider = peer(name)
    problem = make_random_problem(2, 3, "sigmoid", "cross-entropy")
    args = (problem.network, problem.loss, problem.inputs, problem.targets)

    prepared = provider.prepare(*args)
    evaluation = prepared.evaluation(prepared.gradient())
    loss_only = float(np.asarray(prepared.loss_only()))

    np.testing.assert_allclose(evaluation.gradient, backprop_of(problem).gradient, rtol=1e-10)
    assert loss_only == pytest.approx(backprop_of(problem).loss, rel=1e-12)


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_counts_say_one_loss_evaluation_and_are_marked_uncounted(name, make_random_problem):
    provider = peer(name)
    problem = make_random_problem(1, 2)

    counts = provider.loss_and_gradient(
        problem.network, problem.loss, problem.inputs, problem.targets
    ).counts

    assert provider.counted is False
    assert counts == OpCounts(multiplications=0, loss_evaluations=1)
    assert provider.predict_counts(problem.network.layer_sizes, 3) == counts


class HingeLoss(Loss):
    def __init__(self):
        super().__init__("hinge")

    def check_targets(self, targets, n_outputs, dtype=np.float64):
        return np.asarray(targets, dtype=dtype)


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_refuses_a_loss_it_has_no_translation_for(name, make_random_problem):
    provider = peer(name)
    problem = make_random_problem(1, 2)

    with pytest.raises(ValueError, match="`loss` must be one of cross-entropy, mse, got 'hinge'"):
        provider.compute(problem.network, HingeLoss(), problem.inputs, problem.targets)


# --- The run, with a stand-in peer -----------------------------------------------------------


class BackpropPeer(PeerProvider):
    """A stand-in peer: our backprop behind the peer interface, optionally wrong by a factor."""

    name = "stand-in"

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = factor

    def prepare(self, network, loss, inputs, targets) -> PreparedPeer:
        backprop = get_provider("backprop")

        def evaluation(result: Evaluation) -> Evaluation:
            return Evaluation(result.loss, self.factor * result.gradient)

        return PreparedPeer(
            gradient=lambda: backprop.compute(network, loss, inputs, targets),
            loss_only=lambda: loss.value(network.forward(inputs), targets),
            evaluation=evaluation,
        )


TINY = peers_run.PeersConfig(
    widths=(2,),
    depths=(1, 2),
    batch_sizes=(1, 4),
    ours=("backprop", "naive"),
    peers=(),
    rounds=2,
    min_measure_s=1e-4,
    budget_s=0.05,
    matmul_sizes=(64,),
)


@pytest.fixture
def stand_in_peers(monkeypatch):
    """Replace the installed peers by the given stand-ins and absences."""

    def install(available: dict, absent: dict) -> None:
        monkeypatch.setattr(peers_run, "load_peers", lambda names: (available, absent))

    return install


def test_run_writes_every_file_and_times_every_provider_of_every_cell(tmp_path, stand_in_peers):
    stand_in_peers({"stand-in": BackpropPeer()}, {"jax": "package jax is not installed"})

    run = peers_run.run_peers(TINY, tmp_path)

    for name in ("results.csv", "timings.csv", "metadata.json", "summary.json", "summary.md",
                 "ratio.png", "ratio.svg"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 3 * 2 * 2  # three providers, two depths, two batch sizes
    assert set(results["status"]) == {"ok"}
    assert (results["median_s"] > 0).all()
    assert (results["loss_only_median_s"] > 0).all()
    assert results.loc[results["kind"] == "peer", "prepare_s"].notna().all()
    assert len(run.summary["ratios"]) == 4
    assert run.metadata["peers"]["absent"] == {"jax": "package jax is not installed"}
    assert "jax (package jax is not installed)" in (tmp_path / "summary.md").read_text()


def test_run_marks_a_peer_that_disagrees_with_backprop_failed_and_does_not_time_it(
    tmp_path, stand_in_peers
):
    stand_in_peers({"stand-in": BackpropPeer(factor=1.001)}, {})

    run = peers_run.run_peers(TINY, tmp_path)

    rows = run.results[run.results["provider"] == "stand-in"]
    assert set(rows["status"]) == {"failed"}
    assert rows["median_s"].isna().all()
    assert rows["reason"].str.startswith("gradient check against backprop FAILED").all()
    assert len(run.summary["failed"]) == len(rows)
    assert "stand-in" not in set(run.timings["provider"])


def test_run_skips_a_slow_provider_over_budget_and_records_its_prediction(
    tmp_path, stand_in_peers
):
    stand_in_peers({}, {})
    config = peers_run.PeersConfig(
        widths=(16,), depths=(4,), batch_sizes=(1,), ours=("backprop", "naive"), peers=(),
        rounds=1, min_measure_s=1e-4, budget_s=1e-3, matmul_sizes=(64,),
    )  # fmt: skip

    run = peers_run.run_peers(config, tmp_path)

    naive = run.results[run.results["provider"] == "naive"].iloc[0]
    assert naive["status"] == "skipped"
    assert naive["predicted_s"] > 1e-3
    assert "exceeds the budget of 0.001 s" in naive["reason"]


def test_thread_environment_is_set_inside_and_restored_after(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=somewhere")

    with peers_run.thread_environment() as record:
        inside = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "XLA_FLAGS")}

    assert inside["OMP_NUM_THREADS"] == "1"
    assert inside["XLA_FLAGS"] == f"--xla_dump_to=somewhere {peers_run.XLA_THREAD_FLAGS}"
    assert record["environment"]["XLA_FLAGS"] == inside["XLA_FLAGS"]
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=somewhere"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_one_cpu_keeps_the_process_on_one_cpu_and_restores_the_rest():
    allowed = os.sched_getaffinity(0)

    with peers_run.one_cpu() as cpu:
        inside = os.sched_getaffinity(0)

    assert inside == {cpu}
    assert os.sched_getaffinity(0) == allowed


def test_one_cpu_can_be_turned_off():
    with peers_run.one_cpu(enabled=False) as cpu:
        assert cpu is None


# --- The summary, on worked values -----------------------------------------------------------


def result_row(provider, kind, median_s, *, width=256, depth=4, batch_size=256, **values):
    row = dict.fromkeys(peers_run.RESULT_COLUMNS, np.nan)
    row.update(provider=provider, kind=kind, width=width, depth=depth, batch_size=batch_size,
               status="ok", reason="", median_s=median_s, **values)  # fmt: skip
    return row


WORKED = pd.DataFrame(
    [
        result_row(
            "backprop",
            "ours",
            2e-3,
            multiplications=10_000_000,
            s_per_multiplication=2e-10,
            loss_only_median_s=1e-3,
            gradient_over_loss_only=2.0,
        ),
        result_row(
            "naive",
            "ours",
            5e-3,
            multiplications=10_000_000,
            s_per_multiplication=5e-10,
            loss_only_median_s=1e-3,
            gradient_over_loss_only=5.0,
        ),
        result_row("torch", "peer", 4e-3, loss_only_median_s=1e-3, gradient_over_loss_only=4.0),
        result_row("jax", "peer", 1e-3, loss_only_median_s=5e-4, gradient_over_loss_only=2.0),
        {**result_row("autograd", "peer", 1e-4), "status": "failed"},
    ]
)
WORKED_METADATA = {"matmul_multiplications_per_s": {"256": 5e9, "1024": 8e9},
                   "loop_overhead_s": 1e-7}  # fmt: skip


def test_ratio_table_divides_by_the_fastest_peer_that_passed_its_check():
    table = peers_summary.ratio_table(WORKED)

    assert table[["ratio", "fastest_peer"]].to_dict(orient="records") == [
        {"ratio": 2.0, "fastest_peer": "jax"}
    ]


def test_ratio_of_minima_compares_each_providers_fastest_sample():
    minima = {"backprop": 1e-3, "naive": 2e-3, "torch": 4e-4, "jax": 5e-4, "autograd": 1e-5}
    results = WORKED.assign(min_s=WORKED["provider"].map(minima))

    table = peers_summary.ratio_table(results, statistic="min_s")

    assert table[["ratio", "fastest_peer"]].to_dict(orient="records") == [
        {"ratio": 2.5, "fastest_peer": "torch"}
    ]


def test_matmul_fraction_is_counted_multiplications_per_second_over_the_peak():
    fractions = peers_summary.matmul_fractions(WORKED, peak_per_s=8e9)

    assert fractions["per_s"].tolist() == [5e9]
    assert fractions["fraction"].tolist() == [0.625]


def test_naive_per_multiplication_compares_with_backprop_in_the_same_cell():
    table = peers_summary.naive_per_multiplication(WORKED)

    assert table["ratio"].tolist() == pytest.approx([2.5])


def test_summary_gives_each_target_its_worst_value_and_verdict():
    targets = peers_summary.summarise(WORKED, WORKED_METADATA)["targets"]

    assert targets["batch_256_vs_fastest_peer"] == {
        "met": False, "worst": 2.0, "limit": 1.1, "cells": 1,
    }  # fmt: skip
    assert targets["batch_1_vs_fastest_peer"]["met"] is None
    assert targets["width_256_matmul_fraction"]["met"] is False
    assert targets["gradient_over_loss_only"] == {"met": True, "worst": 2.0, "limit": 3.0,
                                                  "cells": 1}  # fmt: skip
    assert targets["naive_per_multiplication"]["met"] is True
    assert targets["loop_overhead_fraction"]["worst"] == pytest.approx(1e-7 / 1e-3)


@pytest.mark.parametrize(("share", "shared"), [(0.5, True), (0.98, False)])
def test_cpu_share_below_nine_tenths_marks_the_machine_as_shared(share, shared):
    results = WORKED.assign(cpu_over_wall=share)

    summary = peers_summary.cpu_share(results)

    assert summary["median"] == share
    assert summary["shared"] is shared


# --- The command line ------------------------------------------------------------------------


def parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    peers_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["peers", *arguments])


def test_quick_option_gives_the_small_grid():
    config = peers_command.config_from(parse("--quick"))

    assert (config.widths, config.depths) == (peers_run.QUICK_WIDTHS, peers_run.QUICK_DEPTHS)
    assert config.batch_sizes == peers_run.BATCH_SIZES


def test_default_grid_is_the_specified_one():
    config = peers_command.config_from(parse())

    assert config.widths == (2, 16, 64, 256)
    assert config.depths == (1, 2, 4, 8, 16, 32)
    assert config.batch_sizes == (1, 256)
    assert config.one_cpu is True


def test_all_cpus_option_lets_threads_use_every_cpu():
    assert peers_command.config_from(parse("--all-cpus")).one_cpu is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--ours", "naive"), "`--ours` must include backprop"),
        (("--peers", "tensorflow"), "`--peers` must be one of autograd, jax, torch, torch-func"),
    ],
)
def test_bad_options_are_refused_with_a_message_naming_them(arguments, message):
    with pytest.raises(ValueError, match=message):
        peers_command.config_from(parse(*arguments))


def test_command_runs_prints_the_summary_and_lists_absent_peers(tmp_path, stand_in_peers, capsys):
    stand_in_peers({"stand-in": BackpropPeer()}, {"torch": "package torch is not installed"})
    args = parse("--widths", "2", "--depths", "1", "--batch-sizes", "1", "--ours", "backprop",
                 "--rounds", "1", "--output", str(tmp_path / "run"))  # fmt: skip

    exit_code = peers_command.run(args)

    printed = capsys.readouterr().out
    assert exit_code == 0
    assert "absent peers: torch (package torch is not installed)" in printed
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["failed"] == []


def test_command_refuses_a_folder_that_already_holds_a_run(tmp_path):
    (tmp_path / "results.csv").write_text("provider\n")

    with pytest.raises(ValueError, match="already holds a run"):
        peers_command.run(parse("--output", str(tmp_path)))
