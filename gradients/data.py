"""Data sets: the handwritten digits bundled with scikit-learn, and a teacher-student generator.

The digits are 1,797 images of 8x8 pixels with values 0..16, the small sibling of MNIST that
ships inside scikit-learn, so nothing is downloaded. The teacher-student data are samples from
a known distribution (standard normal inputs) labelled by a fixed random network, for sweeps
of any input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradients.network import MLP
from gradients.validation import check_finite_array, check_positive_int


@dataclass(frozen=True)
class Dataset:
    name: str
    train_inputs: np.ndarray
    train_targets: np.ndarray
    test_inputs: np.ndarray
    test_targets: np.ndarray
    n_classes: int | None  # None for regression targets

    @property
    def n_inputs(self) -> int:
        return self.train_inputs.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.n_classes is not None else self.train_targets.shape[1]

    @property
    def loss_name(self) -> str:
        return "cross-entropy" if self.n_classes is not None else "mse"


def split(
    inputs: np.ndarray, targets: np.ndarray, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded shuffle split into (train inputs, train targets, test inputs, test targets)."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must be in [0, 1), got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(inputs.shape[0])
    n_test = int(round(test_fraction * inputs.shape[0]))
    test, train = order[:n_test], order[n_test:]
    return inputs[train], targets[train], inputs[test], targets[test]


def load_digits(*, test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """scikit-learn's digits, pixels scaled to [0, 1], split by ``seed``."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    inputs = bunch.data.astype(np.float64) / 16.0
    targets = bunch.target.astype(np.int64)
    return Dataset("digits", *split(inputs, targets, test_fraction=test_fraction, seed=seed), 10)


def teacher_student(
    n_samples: int,
    n_inputs: int,
    *,
    n_outputs: int = 1,
    teacher_hidden: tuple[int, ...] = (16,),
    classes: bool = False,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """Standard normal inputs labelled by a random tanh teacher network.

    With ``classes`` the label is the teacher's largest output (``n_outputs`` classes);
    otherwise the targets are the teacher's outputs themselves, for the mean squared error.
    """
    n_samples = check_positive_int("n_samples", n_samples, minimum=2)
    n_inputs = check_positive_int("n_inputs", n_inputs)
    n_outputs = check_positive_int("n_outputs", n_outputs, minimum=2 if classes else 1)
    rng = np.random.default_rng(seed)
    teacher = MLP((n_inputs, *teacher_hidden, n_outputs), "tanh", seed=seed + 1)
    inputs = rng.standard_normal((n_samples, n_inputs))
    outputs = teacher.forward(inputs)
    targets = outputs.argmax(axis=1) if classes else outputs
    parts = split(inputs, targets, test_fraction=test_fraction, seed=seed)
    return Dataset("teacher-student", *parts, n_outputs if classes else None)


def dataset_from_arrays(
    name: str, inputs: np.ndarray, labels: np.ndarray, *, test_fraction: float, seed: int
) -> Dataset:
    """A classification data set from arrays, checked for NaN and infinite values."""
    inputs = check_finite_array("inputs", np.asarray(inputs, dtype=np.float64))
    labels = np.asarray(labels, dtype=np.int64)
    parts = split(inputs, labels, test_fraction=test_fraction, seed=seed)
    return Dataset(name, *parts, int(labels.max()) + 1)


def load_dataset(spec: str, *, seed: int = 0) -> Dataset:
    """A data set by name: ``digits``, ``teacher-student`` or ``mnist:FOLDER`` (IDX files)."""
    if isinstance(spec, str) and spec.startswith("mnist:"):
        from gradients.mnist import load_mnist_dataset

        folder = spec.removeprefix("mnist:")
        if not folder:
            raise ValueError("`data` mnist:FOLDER needs a folder, got 'mnist:'")
        train_inputs, train_labels, test_inputs, test_labels = load_mnist_dataset(folder)
        n_classes = int(max(train_labels.max(), test_labels.max())) + 1
        return Dataset("mnist", train_inputs, train_labels, test_inputs, test_labels, n_classes)
    if spec == "digits":
        return load_digits(seed=seed)
    if spec == "teacher-student":
        return teacher_student(2000, 16, n_outputs=1, seed=seed)
    raise ValueError(f"`data` must be one of digits, teacher-student, mnist:FOLDER, got {spec!r}")
