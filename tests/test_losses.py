"""The losses: values and output gradients worked by hand, the mean over the batch (case C07),
numerical stability, dtypes, and the checks on targets."""

import math

import numpy as np
import pytest

from gradients import LOSSES, get_loss
from gradients.losses import MeanSquaredError

# C07: logits [[2, 1, 0], [0, 0, 0]] with labels [0, 2].
#   sample 1: -log softmax_0 = log(e^2 + e + 1) - 2 = 0.40760596444
#   sample 2: -log(1/3) = log 3 = 1.09861228867
#   mean = 0.75310912655; dL/dlogits = (softmax - onehot) / 2.
C07_LOGITS = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
C07_LABELS = np.array([0, 2])
C07_LOSS = 0.7531091266
C07_GRADIENT = [
    [-0.16737952, 0.12236424, 0.04501529],
    [0.16666667, 0.16666667, -0.33333333],
]


def test_c07_cross_entropy_value_and_gradient_are_means_over_the_batch():
    value, gradient = get_loss("cross-entropy").value_and_output_gradient(C07_LOGITS, C07_LABELS)

    assert value == pytest.approx(C07_LOSS, abs=1e-10)
    np.testing.assert_allclose(gradient, C07_GRADIENT, rtol=0, atol=1e-8)


def test_c07_cross_entropy_per_sample_terms_are_worked_by_hand():
    loss = get_loss("cross-entropy")

    first = loss.value(C07_LOGITS[:1], C07_LABELS[:1])
    second = loss.value(C07_LOGITS[1:], C07_LABELS[1:])

    assert first == pytest.approx(math.log(math.exp(2) + math.e + 1) - 2, rel=1e-14)
    assert second == pytest.approx(math.log(3), rel=1e-14)
    assert loss.value(C07_LOGITS, C07_LABELS) == pytest.approx((first + second) / 2, rel=1e-14)


def test_c07_gradient_rows_are_the_single_sample_gradients_halved():
    loss = get_loss("cross-entropy")

    _, gradient = loss.value_and_output_gradient(C07_LOGITS, C07_LABELS)
    _, first = loss.value_and_output_gradient(C07_LOGITS[:1], C07_LABELS[:1])

    # A gradient that forgot the 1/N would be twice as large.
    np.testing.assert_allclose(gradient[0], first[0] / 2, rtol=1e-14)
    np.testing.assert_allclose(gradient.sum(axis=1), 0.0, atol=1e-15)


# mse on two samples of two outputs: residuals [1, -2] and [0.5, 0]:
#   L = 0.5 * (1 + 4 + 0.25 + 0) / 2 = 1.3125, dL/dy_hat = residual / 2.
MSE_OUTPUTS = np.array([[1.0, 0.0], [2.5, 3.0]])
MSE_TARGETS = np.array([[0.0, 2.0], [2.0, 3.0]])


def test_mse_value_and_gradient_are_worked_by_hand():
    value, gradient = get_loss("mse").value_and_output_gradient(MSE_OUTPUTS, MSE_TARGETS)

    assert value == 1.3125
    assert get_loss("mse").value(MSE_OUTPUTS, MSE_TARGETS) == 1.3125
    np.testing.assert_array_equal(gradient, [[0.5, -1.0], [0.25, 0.0]])


# (outputs, targets) for each loss.
LOSS_INPUTS = {
    "mse": (
        np.array([[0.3, -1.2], [2.0, 0.1], [-0.4, 0.9]]),
        np.array([[1.0, 0.0], [0.5, 0.5], [0.0, -1.0]]),
    ),
    "cross-entropy": (np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -3.0]]), np.array([2, 0])),
}


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_output_gradient_matches_central_differences_of_the_value(loss_name):
    loss = get_loss(loss_name)
    outputs, targets = LOSS_INPUTS[loss_name]
    step = 1e-6

    _, gradient = loss.value_and_output_gradient(outputs, targets)

    numeric = np.zeros_like(outputs)
    for index in np.ndindex(outputs.shape):
        above, below = outputs.copy(), outputs.copy()
        above[index] += step
        below[index] -= step
        numeric[index] = (loss.value(above, targets) - loss.value(below, targets)) / (2 * step)
    np.testing.assert_allclose(gradient, numeric, rtol=0, atol=1e-9)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_value_alone_equals_the_value_given_with_the_gradient(loss_name):
    loss = get_loss(loss_name)
    outputs, targets = LOSS_INPUTS[loss_name]

    value, _ = loss.value_and_output_gradient(outputs, targets)

    assert loss.value(outputs, targets) == value


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_repeating_the_batch_keeps_the_mean_loss(loss_name):
    loss = get_loss(loss_name)
    outputs, targets = LOSS_INPUTS[loss_name]
    n_samples = outputs.shape[0]

    value, gradient = loss.value_and_output_gradient(outputs, targets)
    doubled_value, doubled_gradient = loss.value_and_output_gradient(
        np.concatenate([outputs, outputs]), np.concatenate([targets, targets])
    )

    assert doubled_value == pytest.approx(value, rel=1e-15)
    np.testing.assert_allclose(doubled_gradient[:n_samples] * 2, gradient, rtol=1e-15)


@pytest.mark.parametrize(("label", "expected_loss"), [(0, 0.0), (2, 2000.0)])
def test_cross_entropy_is_finite_on_huge_logits(label, expected_loss):
    logits = np.array([[1000.0, 0.0, -1000.0]])

    with np.errstate(over="raise", invalid="raise"):
        value, gradient = get_loss("cross-entropy").value_and_output_gradient(
            logits, np.array([label])
        )

    # softmax is (1, e^-1000, e^-2000) = (1, 0, 0) in float64.
    assert value == pytest.approx(expected_loss, abs=1e-12)
    expected_gradient = np.array([[1.0, 0.0, 0.0]])
    expected_gradient[0, label] -= 1.0
    np.testing.assert_allclose(gradient, expected_gradient, atol=1e-300)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_output_gradient_keeps_float32(loss_name):
    loss = get_loss(loss_name)
    outputs, targets = LOSS_INPUTS[loss_name]
    n_outputs = outputs.shape[1]
    targets32 = loss.check_targets(targets, n_outputs, np.float32)

    value, gradient = loss.value_and_output_gradient(outputs.astype(np.float32), targets32)

    assert gradient.dtype == np.float32
    assert isinstance(value, float)


def test_mse_targets_of_one_output_may_be_a_flat_vector():
    targets = get_loss("mse").check_targets(np.array([0.5, 1.5]), 1)

    assert targets.shape == (2, 1)
    assert targets.dtype == np.float64


def test_cross_entropy_accepts_integer_valued_float_labels():
    labels = get_loss("cross-entropy").check_targets(np.array([0.0, 2.0]), 3)

    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 2]


@pytest.mark.parametrize(
    ("loss_name", "targets", "n_outputs", "message"),
    [
        ("mse", np.zeros((3, 2)), 1, "shape (n_samples, 1)"),
        ("mse", np.zeros((3, 1, 1)), 1, "shape (n_samples, 1)"),
        ("mse", np.array([0.0, np.nan]), 1, "finite"),
        ("mse", np.array([0.0, np.inf]), 1, "finite"),
        ("cross-entropy", np.zeros((2, 3), dtype=int), 3, "1-D array of class labels"),
        ("cross-entropy", np.array([0.0, 1.5]), 3, "integer class labels"),
        ("cross-entropy", np.array([0.0, np.nan]), 3, "integer class labels"),
        ("cross-entropy", np.array([0, 3]), 3, "class labels in 0..2"),
        ("cross-entropy", np.array([-1, 0]), 3, "class labels in 0..2"),
    ],
    ids=[
        "mse-two-columns",
        "mse-3d",
        "mse-nan",
        "mse-inf",
        "ce-2d",
        "ce-fraction",
        "ce-nan",
        "ce-too-large",
        "ce-negative",
    ],
)
def test_bad_targets_are_refused_naming_the_argument(loss_name, targets, n_outputs, message):
    with pytest.raises(ValueError, match="`targets`") as error:
        get_loss(loss_name).check_targets(targets, n_outputs)

    assert message in str(error.value)


def test_unknown_loss_name_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"`loss` must be one of cross-entropy, mse, got 'l1'"):
        get_loss("l1")


def test_a_loss_object_passes_through_get_loss():
    loss = MeanSquaredError()

    assert get_loss(loss) is loss
    assert get_loss("mse").name == "mse"
    assert get_loss("cross-entropy").name == "cross-entropy"
