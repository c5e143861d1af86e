"""Data sets: the handwritten digits bundled with scikit-learn, and a teacher-student generator.

The digits are 1,797 images of 8x8 pixels with values 0..16, the small sibling of MNIST that
ships inside scikit-learn, so nothing is downloaded. The teacher-student data are samples from
a known distribution (standard normal inputs) labelled by a fixed random network, for sweeps
of any input size. ``load_dataset`` picks one of them, or MNIST's IDX files, by a spec
string, and ``check_data_spec`` checks such a string cheaply before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from gradients.mnist import load_mnist_dataset
from gradients.network import MLP
from gradients.validation import check_finite_array, check_positive_int

MNIST_PREFIX = "mnist:"
DATA_SPECS = ("digits", "teacher-student", f"{MNIST_PREFIX}FOLDER")


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
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real):
        raise TypeError(f"`test_fraction` must be a number in [0, 1), got {test_fraction!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must be in [0, 1), got {test_fraction!r}")
    seed = check_positive_int("seed", seed, minimum=0)
    n_samples = inputs.shape[0]
    n_test = int(round(test_fraction * n_samples))
    if n_test >= n_samples:
        raise ValueError(
            f"`test_fraction` must leave at least one of the {n_samples} samples for "
            f"training, got {test_fraction!r}"
        )

    order = np.random.default_rng(seed).permutation(n_samples)
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
    teacher_hidden = _check_widths("teacher_hidden", teacher_hidden)
    seed = check_positive_int("seed", seed, minimum=0)

    rng = np.random.default_rng(seed)
    teacher = MLP((n_inputs, *teacher_hidden, n_outputs), "tanh", seed=seed + 1)
    inputs = rng.standard_normal((n_samples, n_inputs))
    outputs = teacher.forward(inputs)
    targets = outputs.argmax(axis=1) if classes else outputs
    parts = split(inputs, targets, test_fraction=test_fraction, seed=seed)
    return Dataset("teacher-student", *parts, n_outputs if classes else None)


def _check_widths(name: str, widths: Sequence[int]) -> tuple[int, ...]:
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise TypeError(f"`{name}` must be a sequence of integers >= 1, got {widths!r}")
    for width in widths:
        check_positive_int(name, width)
    return tuple(int(width) for width in widths)


def check_labels(name: str, labels: np.ndarray, n_samples: int) -> np.ndarray:
    """Class labels: one integer >= 0 per sample, as int64."""
    labels = check_finite_array(name, labels)
    if labels.shape != (n_samples,):
        raise ValueError(
            f"`{name}` must hold one label per sample, shape ({n_samples},), got {labels.shape}"
        )
    fractional = labels[labels != np.round(labels)]
    if fractional.size:
        raise ValueError(
            f"`{name}` must be integer class labels >= 0, got {fractional.size} "
            f"non-integer values such as {fractional[0]}"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(
            f"`{name}` must be integer class labels >= 0, got values from {labels.min()} "
            f"to {labels.max()}"
        )
    return labels.astype(np.int64)


def dataset_from_arrays(
    name: str, inputs: np.ndarray, labels: np.ndarray, *, test_fraction: float, seed: int
) -> Dataset:
    """A classification data set from arrays, checked for NaN and infinite values."""
    inputs = check_finite_array("inputs", inputs).astype(np.float64)
    if inputs.ndim != 2 or inputs.shape[0] < 2:
        raise ValueError(
            f"`inputs` must have shape (n_samples >= 2, n_inputs), got {inputs.shape}"
        )
    labels = check_labels("labels", labels, inputs.shape[0])
    parts = split(inputs, labels, test_fraction=test_fraction, seed=seed)
    return Dataset(name, *parts, int(labels.max()) + 1)


def check_data_spec(name: str, spec: object) -> str:
    """``spec`` if it names a data set ``load_dataset`` knows, else a one-line error.

    Cheap enough to run before anything else: it checks the form, and for ``mnist:FOLDER``
    that the folder exists. The files themselves are checked when they are read.
    """
    choices = ", ".join(DATA_SPECS)
    if not isinstance(spec, str):
        raise TypeError(f"`{name}` must be one of {choices}, got {spec!r}")
    if not spec.startswith(MNIST_PREFIX):
        if spec not in DATA_SPECS:
            raise ValueError(f"`{name}` must be one of {choices}, got {spec!r}")
        return spec

    folder = spec.removeprefix(MNIST_PREFIX)
    if not folder:
        raise ValueError(f"`{name}` must be {MNIST_PREFIX}FOLDER with a folder, got {spec!r}")
    if not Path(folder).is_dir():
        problem = "is not a folder" if Path(folder).exists() else "does not exist"
        raise FileNotFoundError(
            f"`{name}` must name an existing MNIST folder, got {spec!r}: {folder} {problem}"
        )
    return spec


def load_dataset(spec: str, *, seed: int = 0, argument: str = "data") -> Dataset:
    """A data set by spec: ``digits``, ``teacher-student`` or ``mnist:FOLDER`` (IDX files).

    Errors name ``argument``, the option or parameter the spec came from.
    """
    spec = check_data_spec(argument, spec)
    seed = check_positive_int("seed", seed, minimum=0)
    if spec == "digits":
        return load_digits(seed=seed)
    if spec == "teacher-student":
        return teacher_student(2000, 16, n_outputs=1, seed=seed)
    return _load_mnist_spec(spec, argument)


def _load_mnist_spec(spec: str, argument: str) -> Dataset:
    try:
        parts = load_mnist_dataset(spec.removeprefix(MNIST_PREFIX))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"`{argument}` {spec!r}: {error}") from error
    except ValueError as error:
        raise ValueError(f"`{argument}` {spec!r}: {error}") from error
    except OSError as error:  # unreadable: no permission, a failing disk, ...
        raise ValueError(
            f"`{argument}` {spec!r}: cannot read {error.filename}: {error.strerror}"
        ) from error

    train_inputs, train_labels, test_inputs, test_labels = parts
    for kind, labels in (("train", train_labels), ("test", test_labels)):
        if labels.size == 0:
            raise ValueError(f"`{argument}` {spec!r}: the {kind} files hold no samples")
        if labels.min() < 0:
            raise ValueError(
                f"`{argument}` {spec!r}: {kind} labels must be class numbers >= 0, "
                f"got labels from {labels.min()} to {labels.max()}"
            )
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    return Dataset("mnist", train_inputs, train_labels, test_inputs, test_labels, n_classes)
