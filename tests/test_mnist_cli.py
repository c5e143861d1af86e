"""MNIST from disk through ``--data mnist:FOLDER``: ``gradscale train`` and ``gradscale run``
on tiny IDX files written here (4x4 pixels, 3 classes, 30 train and 10 test samples), and a
one-line error, exit code 2, for each way the files can be broken."""

import gzip
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli_errors import PROJECT, assert_one_line_error, run_cli

from gradients import MLP, get_provider
from gradients.data import load_dataset
from gradients.mnist import load_mnist_dataset
from gradients.objectives import NetworkObjective
from gradients.sgd import train

SIDE = 4
N_CLASSES = 3
N_TRAIN, N_TEST = 30, 10
TYPE_CODES = {"u1": 0x08, "i1": 0x09, "f4": 0x0D}
FILE_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# The row printed per epoch: epoch, loss, test accuracy in %, elapsed seconds.
EPOCH_ROW = r"^\s*(\d+)\s+([0-9.]+)\s+([0-9.]+)%\s+([0-9.]+)$"


def idx_bytes(values: np.ndarray) -> bytes:
    """``values`` in the IDX layout: magic, one big-endian uint32 per dimension, the data."""
    header = bytes([0, 0, TYPE_CODES[values.dtype.str[1:]], values.ndim])
    header += struct.pack(f">{values.ndim}I", *values.shape)
    return header + values.astype(values.dtype.newbyteorder(">")).tobytes()


def tiny_digits(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class k lights up pixel row k over a dim noisy background."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % N_CLASSES).astype(np.uint8)
    images = rng.integers(0, 60, size=(n_samples, SIDE, SIDE), dtype=np.uint8)
    images[np.arange(n_samples), labels, :] = rng.integers(200, 256, size=(n_samples, SIDE))
    return images, labels


def write_mnist(folder, *, suffix: str = "", **replaced: bytes):
    """The four MNIST files in ``folder``; ``replaced`` swaps in the bytes of a file,
    by key like ``train_images``."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": tiny_digits(N_TRAIN, seed=1), "test": tiny_digits(N_TEST, seed=2)}
    for kind, (images, labels) in splits.items():
        for role, values in (("images", images), ("labels", labels)):
            content = replaced.get(f"{kind}_{role}", idx_bytes(values))
            if suffix == ".gz":
                content = gzip.compress(content)
            (folder / (FILE_NAMES[kind, role] + suffix)).write_bytes(content)
    return folder


@pytest.fixture(params=["", ".gz"], ids=["raw", "gzip"])
def mnist_folder(request, tmp_path):
    return write_mnist(tmp_path / "mnist", suffix=request.param)


def epoch_rows(stdout: str) -> list[tuple[int, float, float]]:
    """(epoch, loss, test accuracy) of each epoch row printed by ``gradscale train``."""
    matches = [re.match(EPOCH_ROW, line) for line in stdout.splitlines()]
    return [(int(m[1]), float(m[2]), float(m[3]) / 100) for m in matches if m]


# --- valid files


def test_the_data_set_has_the_shapes_and_classes_of_the_files(mnist_folder):
    data = load_dataset(f"mnist:{mnist_folder}")

    assert data.name == "mnist"
    assert data.train_inputs.shape == (N_TRAIN, SIDE * SIDE)
    assert data.test_inputs.shape == (N_TEST, SIDE * SIDE)
    assert data.n_classes == N_CLASSES
    assert data.loss_name == "cross-entropy"
    assert 0.0 <= data.train_inputs.min() and data.train_inputs.max() <= 1.0


def test_train_learns_the_tiny_folder_printing_one_row_per_epoch(mnist_folder):
    code, stdout, stderr = run_cli(
        ["train", "--data", f"mnist:{mnist_folder}", "--hidden", "8", "--epochs", "20",
         "--learning-rate", "0.1"]
    )  # fmt: skip

    assert code == 0, stderr
    assert stdout.startswith("backprop on mnist: MLP(16-8-3, tanh, float64)")
    rows = epoch_rows(stdout)
    assert [epoch for epoch, _, _ in rows] == list(range(1, 21))
    assert rows[-1][1] < rows[0][1] / 4
    assert rows[-1][2] == 1.0  # the row of each class is plain to see
    assert f"{20 * N_TRAIN} updates" in stdout


def test_train_on_mnist_is_the_library_loop_on_the_loaded_arrays(tmp_path):
    folder = write_mnist(tmp_path / "mnist")
    options = {"learning_rate": 0.05, "epochs": 3, "batch_size": 4, "seed": 5}

    code, stdout, _ = run_cli(
        ["train", "--data", f"mnist:{folder}", "--hidden", "5,4", "--activation", "sigmoid",
         "--learning-rate", "0.05", "--epochs", "3", "--batch-size", "4", "--seed", "5"]
    )  # fmt: skip

    X_train, y_train, _, _ = load_mnist_dataset(folder)
    network = MLP((SIDE * SIDE, 5, 4, N_CLASSES), "sigmoid", seed=5)
    objective = NetworkObjective(
        network, "cross-entropy", get_provider("backprop"), X_train, y_train
    )
    history = train(objective, **options)
    assert code == 0
    printed = [loss for _, loss, _ in epoch_rows(stdout)]
    np.testing.assert_allclose(printed, history.epoch_losses, rtol=0, atol=5e-7)


@pytest.mark.parametrize("provider", ["naive", "fd-central"])
def test_train_on_mnist_with_slow_providers(tmp_path, provider):
    folder = write_mnist(tmp_path / "mnist")

    code, stdout, stderr = run_cli(
        ["train", "--data", f"mnist:{folder}", "--provider", provider, "--hidden", "2",
         "--epochs", "2", "--limit", "10"]
    )  # fmt: skip

    assert code == 0, stderr
    assert len(epoch_rows(stdout)) == 2
    assert "20 updates" in stdout


def test_run_sweeps_an_mnist_folder(tmp_path):
    mnist_folder = write_mnist(tmp_path / "mnist")
    output = tmp_path / "run"

    code, stdout, stderr = run_cli(
        ["run", "--data", f"mnist:{mnist_folder}", "--providers", "backprop,naive",
         "--depths", "1-2", "--repeats", "3", "--budget", "0.5", "--batch-size", "4",
         "--output", str(output), "--no-report"]
    )  # fmt: skip

    assert code == 0, stderr
    results = pd.read_csv(output / "results.csv")
    assert set(results["status"]) == {"ok"}
    assert set(results["data"]) == {"mnist"}
    assert sorted(set(results["layer_sizes"])) == ["16-2-2-3", "16-2-3"]
    assert set(results["batch_size"]) == {4}
    naive = results[results["provider"] == "naive"]
    assert (naive["max_rel_diff"] < 1e-12).all()
    assert f"run folder: {output}" in stdout


def test_the_command_line_trains_on_an_mnist_folder(tmp_path):
    folder = write_mnist(tmp_path / "mnist", suffix=".gz")

    completed = subprocess.run(
        [sys.executable, "-m", "bench.cli", "train", "--data", f"mnist:{folder}",
         "--hidden", "4", "--epochs", "2"],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert [epoch for epoch, _, _ in epoch_rows(completed.stdout)] == [1, 2]


# --- broken files: one line naming --data, the folder and the fault


def train_images(images: np.ndarray | None = None) -> bytes:
    default, _ = tiny_digits(N_TRAIN, seed=1)
    return idx_bytes(default if images is None else images)


def train_labels(labels: np.ndarray | None = None) -> bytes:
    _, default = tiny_digits(N_TRAIN, seed=1)
    return idx_bytes(default if labels is None else labels)


NAN_PIXELS = np.full((N_TRAIN, SIDE, SIDE), 0.5, dtype=np.float32)
NAN_PIXELS[3, 1, 2] = np.nan

BROKEN = {
    "wrong-magic": (
        {"train_images": b"\x12\x34" + train_images()[2:]},
        "magic number 0x1234",
    ),
    "labels-magic-on-images": (
        {"train_images": train_labels()},
        "expected 0x00000803 for images",
    ),
    "truncated": ({"train_images": train_images()[:-1]}, "wrong data size (truncated)"),
    "extra-bytes": ({"train_labels": train_labels() + b"\x00"}, "extra bytes at the end"),
    "header-only": ({"train_images": b"\x00\x00"}, "too short for an IDX header"),
    "count-mismatch": (
        {"train_labels": train_labels(tiny_digits(N_TRAIN - 1, seed=1)[1])},
        f"holds {N_TRAIN} images but",
    ),
    "nan-pixels": ({"train_images": train_images(images=NAN_PIXELS)}, "[0, 1]"),
    "negative-labels": (
        {"train_labels": train_labels(np.array([-1] + [0] * (N_TRAIN - 1), dtype=np.int8))},
        "labels must be class numbers >= 0",
    ),
    "no-samples": (
        {
            "train_images": idx_bytes(np.zeros((0, SIDE, SIDE), np.uint8)),
            "train_labels": idx_bytes(np.zeros(0, np.uint8)),
        },
        "the train files hold no samples",
    ),
}


@pytest.mark.parametrize("command", ["train", "run"])
@pytest.mark.parametrize(("replaced", "fault"), BROKEN.values(), ids=BROKEN)
def test_broken_mnist_files_are_refused_in_one_line(tmp_path, command, replaced, fault):
    folder = write_mnist(tmp_path / "mnist", **replaced)
    output = tmp_path / "never-written"
    extra = ["--output", str(output)] if command == "run" else []

    code, stdout, stderr = run_cli([command, "--data", f"mnist:{folder}", *extra])

    assert_one_line_error(code, stderr, "`--data`", f"'mnist:{folder}'", fault)
    assert stdout == ""
    assert not output.exists()


def test_a_gz_name_on_a_file_that_is_not_gzip_is_refused(tmp_path):
    folder = write_mnist(tmp_path / "mnist")
    (folder / "train-images-idx3-ubyte").rename(folder / "train-images-idx3-ubyte.gz")

    code, _, stderr = run_cli(["train", "--data", f"mnist:{folder}"])

    assert_one_line_error(code, stderr, "`--data`", "not a readable gzip file")


@pytest.mark.parametrize(
    ("removed", "fault"),
    [
        (("train", "images"), "has no MNIST train images file; looked for"),
        (("train", "labels"), "has no MNIST train labels file"),
        (("test", "labels"), "has no MNIST test labels file"),
    ],
)
def test_a_missing_file_is_named_with_the_names_looked_for(tmp_path, removed, fault):
    folder = write_mnist(tmp_path / "mnist")
    (folder / FILE_NAMES[removed]).unlink()

    code, _, stderr = run_cli(["train", "--data", f"mnist:{folder}"])

    assert_one_line_error(code, stderr, "`--data`", fault)


def test_an_unreadable_file_is_refused_in_one_line(tmp_path, monkeypatch):
    folder = write_mnist(tmp_path / "mnist")
    labels_path = folder / FILE_NAMES["train", "labels"]
    read_bytes = Path.read_bytes

    def refuse_labels(path):
        if path == labels_path:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_labels)

    code, _, stderr = run_cli(["train", "--data", f"mnist:{folder}"])

    assert_one_line_error(
        code, stderr, "`--data`", f"cannot read {labels_path}: Permission denied"
    )


def test_a_folder_with_only_the_train_pair_is_refused_rather_than_split(tmp_path):
    folder = write_mnist(tmp_path / "mnist")
    for role in ("images", "labels"):
        (folder / FILE_NAMES["test", role]).unlink()

    code, _, stderr = run_cli(["train", "--data", f"mnist:{folder}"])

    assert_one_line_error(code, stderr, "`--data`", "holds only the train pair")


def test_a_batch_larger_than_the_mnist_train_set_names_its_size(tmp_path):
    folder = write_mnist(tmp_path / "mnist")

    code, _, stderr = run_cli(
        ["run", "--data", f"mnist:{folder}", "--batch-size", str(N_TRAIN + 1),
         "--output", str(tmp_path / "never")]
    )  # fmt: skip

    assert_one_line_error(code, stderr, "`--batch-size`", f"{N_TRAIN} training samples")


@pytest.mark.parametrize(
    ("replaced", "error", "fault"),
    [
        ({"train_images": b"\x12\x34" + train_images()[2:]}, ValueError, "magic number"),
        ({"test_images": b""}, ValueError, "too short"),
    ],
    ids=["wrong-magic", "empty-file"],
)
def test_python_callers_get_the_same_errors_naming_the_argument(tmp_path, replaced, error, fault):
    folder = write_mnist(tmp_path / "mnist", **replaced)

    with pytest.raises(error, match=rf"^`data` 'mnist:.*': .*{fault}"):
        load_dataset(f"mnist:{folder}")


def test_python_callers_get_file_not_found_for_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`data` must name an existing MNIST folder"):
        load_dataset(f"mnist:{tmp_path / 'nowhere'}")
