"""The SGD loop: learning rates on x^2 (case C08), the mean over a batch (C09), the short last
minibatch (C10), divergence, the bookkeeping of ``History`` and the checks on arguments."""

import math

import numpy as np
import pytest

from gradients import MLP, Evaluation, get_loss, get_provider
from gradients.objectives import NetworkObjective, Quadratic
from gradients.sgd import train


class RecordingObjective:
    """Wraps an objective and records, per update, the indices and the parameters it saw."""

    def __init__(self, objective) -> None:
        self.objective = objective
        self.parameters = objective.parameters
        self.indices: list[list[int]] = []
        self.parameters_seen: list[np.ndarray] = []
        self.gradients: list[np.ndarray] = []

    @property
    def n_samples(self) -> int:
        return self.objective.n_samples

    def loss_and_gradient(self, indices):
        self.indices.append(indices.tolist())
        self.parameters_seen.append(self.parameters.copy())
        evaluation = self.objective.loss_and_gradient(indices)
        self.gradients.append(evaluation.gradient.copy())
        return evaluation


def iterates_on_quadratic(learning_rate: float, n_steps: int, **options) -> list[float]:
    """x_0, x_1, ... of gradient descent on x^2 from x_0 = 10, read after every epoch."""
    objective = Quadratic(10.0)
    iterates = [10.0]
    train(
        objective,
        learning_rate=learning_rate,
        epochs=n_steps,
        callback=lambda epoch, history: iterates.append(float(objective.parameters[0])),
        **options,
    )
    return iterates


# C08: x_{k+1} = (1 - 2 rate) x_k, so x_10 = 10 (1 - 2 rate)^10.
@pytest.mark.parametrize(
    ("learning_rate", "x10"),
    [(0.1, 1.073741824), (0.5, 0.0), (0.9, 1.073741824), (1.0, 10.0), (1.1, 61.91736422)],
)
def test_c08_ten_steps_on_the_quadratic(learning_rate, x10):
    iterates = iterates_on_quadratic(learning_rate, 10)

    assert len(iterates) == 11
    assert abs(iterates[10]) == pytest.approx(x10, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(iterates, 10 * (1 - 2 * learning_rate) ** np.arange(11), rtol=1e-12)


def test_c08_rate_one_half_reaches_the_minimum_in_one_step():
    iterates = iterates_on_quadratic(0.5, 10)

    assert iterates[1:] == [0.0] * 10


def test_c08_rate_0_9_flips_the_sign_every_step():
    iterates = iterates_on_quadratic(0.9, 10)

    signs = np.sign(iterates)
    assert signs.tolist() == [1.0, -1.0] * 5 + [1.0]


def test_c08_rate_one_swings_between_10_and_minus_10_without_a_divergence():
    objective = Quadratic(10.0)
    iterates = [10.0]

    history = train(
        objective,
        learning_rate=1.0,
        epochs=1000,
        callback=lambda epoch, history: iterates.append(float(objective.parameters[0])),
    )

    assert history.divergence is None
    assert history.n_updates == 1000
    assert set(history.update_losses) == {100.0}
    assert iterates == [10.0, -10.0] * 500 + [10.0]


# With rate 1.1, |x_k| = 10 * 1.2^k and the loss x_k^2 = 100 * 1.44^k overflows once
# k > log(1.8e308 / 100) / log(1.44) = 1934.3: update 1935 evaluates x_1934.
C08_OVERFLOW_UPDATE = 1935


def test_c08_rate_1_1_without_a_factor_stops_where_the_loss_is_infinite():
    objective = Quadratic(10.0)

    history = train(objective, learning_rate=1.1, epochs=3000, divergence_factor=None)

    assert history.divergence is not None
    assert history.divergence.update == C08_OVERFLOW_UPDATE
    assert "the loss is inf" in history.divergence.message
    assert "at update 1935" in history.divergence.message
    assert "smaller learning rate" in history.divergence.message
    assert history.n_updates == C08_OVERFLOW_UPDATE - 1
    assert all(math.isfinite(loss) for loss in history.update_losses)
    assert abs(objective.parameters[0]) == pytest.approx(10 * 1.2**1934, rel=1e-9)


# The default factor 1e6 stops when the loss exceeds 1e6 times its best, 100 at x_0:
# 100 * 1.44^k > 1e8 first for k = 38 (1.44^38 = 1.04e6), the loss of update 39.
def test_c08_default_divergence_factor_stops_earlier_and_suggests_a_smaller_rate():
    objective = Quadratic(10.0)

    history = train(objective, learning_rate=1.1, epochs=3000)

    assert history.divergence.update == 39
    assert history.n_updates == 38
    assert "exceeds 1e+06 times its best 100" in history.divergence.message
    assert history.divergence.message.endswith("try a smaller learning rate")


class TurnsNonFinite:
    """An objective whose loss or gradient takes a given value on its third evaluation."""

    n_samples = 1

    def __init__(self, bad_loss: float, bad_gradient: float) -> None:
        self.parameters = np.array([1.0])
        self.bad_loss, self.bad_gradient = bad_loss, bad_gradient
        self.calls = 0

    def loss_and_gradient(self, indices):
        self.calls += 1
        if self.calls == 3:
            return Evaluation(self.bad_loss, np.array([self.bad_gradient]))
        return Evaluation(1.0, np.array([0.5]))


@pytest.mark.parametrize(
    ("bad_loss", "bad_gradient", "reason"),
    [
        (math.nan, 0.5, "the loss is nan"),
        (math.inf, 0.5, "the loss is inf"),
        (1.0, math.nan, "the gradient has NaN or infinite entries"),
        (1.0, -math.inf, "the gradient has NaN or infinite entries"),
    ],
)
def test_a_non_finite_loss_or_gradient_stops_training_before_it_is_applied(
    bad_loss, bad_gradient, reason
):
    objective = TurnsNonFinite(bad_loss, bad_gradient)

    history = train(objective, learning_rate=0.1, epochs=10)

    assert history.divergence.update == 3
    assert reason in history.divergence.message
    assert history.n_updates == 2
    assert objective.parameters[0] == pytest.approx(1.0 - 2 * 0.1 * 0.5, abs=1e-15)


# C09: y_hat = w x on x = 1..4, y = 2x, w0 = 0, rate 0.1, full batch. The gradient of the mean
# loss is 7.5 (w - 2), so w - 2 shrinks by 1 - 0.75 = 0.25 per step: w1 = 1.5, w5 = 2 - 2/4^5.
def c09_objective(provider_name: str = "backprop") -> NetworkObjective:
    network = MLP((1, 1), bias=False)
    network.parameters[...] = [0.0]
    x = np.arange(1.0, 5.0)
    return NetworkObjective(network, "mse", get_provider(provider_name), x[:, None], 2 * x)


@pytest.mark.parametrize(
    ("provider_name", "tolerance"),
    [("backprop", 1e-15), ("naive", 1e-15), ("fd-central", 1e-9), ("fd-forward", 1e-6)],
)
def test_c09_one_full_batch_step_gives_w_1_5(provider_name, tolerance):
    objective = c09_objective(provider_name)

    train(objective, learning_rate=0.1, epochs=1, batch_size=None)

    assert objective.parameters[0] == pytest.approx(1.5, abs=tolerance)


def test_c09_five_full_batch_steps_give_w_1_99805():
    objective = c09_objective()

    history = train(objective, learning_rate=0.1, epochs=5, batch_size=None)

    assert history.n_updates == 5
    assert objective.parameters[0] == pytest.approx(2 - 2 / 4**5, abs=1e-14)  # 1.998046875


def test_c09_a_summed_loss_would_step_to_6_which_the_mean_prevents():
    objective = c09_objective()
    gradient_of_mean = objective.loss_and_gradient(np.arange(4)).gradient

    # The gradient of the summed loss is the batch size times that of the mean.
    summed_step = 0.0 - 0.1 * 4 * gradient_of_mean[0]
    train(objective, learning_rate=0.1, epochs=1, batch_size=None)

    assert summed_step == pytest.approx(6.0, abs=1e-14)
    assert objective.parameters[0] == pytest.approx(1.5, abs=1e-14)


# C10: x = 1..10, y = 3x, batch size 4 gives batches of 4, 4 and 2 samples; at any w the batch
# gradient is (w - 3) mean(x^2) over the batch, so the last one is (w - 3) * 181 / 2.
def test_c10_the_loop_averages_the_short_last_batch_over_its_own_size():
    network = MLP((1, 1), bias=False)
    network.parameters[...] = [0.0]
    x = np.arange(1.0, 11.0)
    objective = RecordingObjective(
        NetworkObjective(network, "mse", get_provider("backprop"), x[:, None], 3 * x)
    )
    learning_rate = 0.001

    history = train(objective, learning_rate=learning_rate, epochs=1, batch_size=4, shuffle=False)

    assert history.n_updates == 3
    assert objective.indices == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    w_before_last = objective.parameters_seen[2][0]
    assert objective.gradients[2][0] == pytest.approx((w_before_last - 3) * 181 / 2, rel=1e-13)
    assert objective.gradients[2][0] != pytest.approx((w_before_last - 3) * 181 / 4, rel=0.1)
    expected_w = w_before_last - learning_rate * (w_before_last - 3) * 181 / 2
    assert network.parameters[0] == pytest.approx(expected_w, rel=1e-13)


def test_c10_first_update_uses_the_gradient_at_w0():
    network = MLP((1, 1), bias=False)
    network.parameters[...] = [0.0]
    x = np.arange(1.0, 11.0)
    objective = RecordingObjective(
        NetworkObjective(network, "mse", get_provider("naive"), x[:, None], 3 * x)
    )

    train(objective, learning_rate=0.001, epochs=1, batch_size=4, shuffle=False)

    assert objective.gradients[0][0] == pytest.approx(-22.5, rel=1e-14)


@pytest.mark.parametrize(
    ("batch_size", "n_updates"), [(1, 10), (3, 4), (4, 3), (10, 1), (None, 1)]
)
def test_every_sample_is_used_once_per_epoch(batch_size, n_updates):
    network = MLP((2, 3, 1), seed=1)
    rng = np.random.default_rng(0)
    objective = RecordingObjective(
        NetworkObjective(
            network,
            "mse",
            get_provider("backprop"),
            rng.standard_normal((10, 2)),
            rng.standard_normal(10),
        )
    )

    history = train(objective, learning_rate=0.01, epochs=2, batch_size=batch_size, seed=4)

    assert history.n_updates == 2 * n_updates
    for epoch in range(2):
        used = objective.indices[epoch * n_updates : (epoch + 1) * n_updates]
        assert sorted(i for batch in used for i in batch) == list(range(10))


def test_shuffling_follows_the_seed():
    def orders(seed):
        x = np.arange(8.0)[:, None]
        recording = RecordingObjective(
            NetworkObjective(MLP((1, 1)), "mse", get_provider("backprop"), x, np.zeros(8))
        )
        train(recording, learning_rate=0.01, epochs=2, batch_size=8, seed=seed)
        return recording.indices

    assert orders(1) == orders(1)
    assert orders(1) != orders(2)
    assert orders(1)[0] != list(range(8))


def test_epoch_loss_is_the_sample_weighted_mean_of_its_update_losses():
    network = MLP((2, 3, 1), seed=1)
    rng = np.random.default_rng(0)
    objective = NetworkObjective(
        network,
        "mse",
        get_provider("backprop"),
        rng.standard_normal((10, 2)),
        rng.standard_normal(10),
    )

    history = train(objective, learning_rate=0.01, epochs=2, batch_size=4)

    first_epoch = history.update_losses[:3]
    expected = (4 * first_epoch[0] + 4 * first_epoch[1] + 2 * first_epoch[2]) / 10
    assert history.epoch_losses[0] == pytest.approx(expected, rel=1e-14)
    assert len(history.epoch_losses) == len(history.epoch_elapsed_s) == 2
    assert len(history.update_elapsed_s) == history.n_updates == 6
    assert history.update_elapsed_s == sorted(history.update_elapsed_s)


def test_the_callback_is_called_after_every_epoch_with_the_history():
    calls = []

    train(
        Quadratic(1.0),
        learning_rate=0.1,
        epochs=3,
        callback=lambda epoch, history: calls.append((epoch, history.n_updates)),
    )

    assert calls == [(1, 1), (2, 2), (3, 3)]


def test_an_update_moves_against_the_gradient_of_the_batch():
    network = MLP((3, 2, 2), "tanh", seed=6)
    rng = np.random.default_rng(8)
    inputs, labels = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    start = network.parameters.copy()
    gradient = (
        get_provider("backprop")
        .loss_and_gradient(network, get_loss("cross-entropy"), inputs, labels)
        .gradient
    )
    objective = NetworkObjective(
        network, "cross-entropy", get_provider("backprop"), inputs, labels
    )

    train(objective, learning_rate=0.3, epochs=1, batch_size=None)

    np.testing.assert_allclose(network.parameters, start - 0.3 * gradient, rtol=0, atol=1e-15)


def test_batch_size_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match=r"`batch_size` must be at most .* \(1\), got 2"):
        train(Quadratic(1.0), learning_rate=0.1, epochs=1, batch_size=2)


@pytest.mark.parametrize("learning_rate", [0, -1, 0.0, math.nan, math.inf, -math.inf])
def test_learning_rate_must_be_positive_and_finite(learning_rate):
    with pytest.raises(ValueError, match="`learning_rate` must be a positive finite number"):
        train(Quadratic(1.0), learning_rate=learning_rate, epochs=1)


def test_learning_rate_must_be_a_number():
    with pytest.raises(TypeError, match="`learning_rate`"):
        train(Quadratic(1.0), learning_rate="0.1", epochs=1)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1, "batch_size": 0}, "batch_size"),
        ({"epochs": 1, "divergence_factor": 0.0}, "divergence_factor"),
        ({"epochs": 1, "divergence_factor": math.nan}, "divergence_factor"),
    ],
)
def test_other_bad_arguments_are_refused_naming_them(options, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        train(Quadratic(1.0), learning_rate=0.1, **options)


class _AlternatingLosses:
    """Late in training, per-sample losses of 1e-8 and 1 in turn: noisy, never diverging.

    The first epoch's losses are all 1, as at an initialisation that fits no sample.
    """

    n_samples = 200

    def __init__(self):
        self.parameters = np.zeros(1)
        self.calls = 0

    def loss_and_gradient(self, indices):
        from gradients.providers.base import Evaluation

        self.calls += 1
        late = self.calls > self.n_samples
        loss = 1e-8 if late and indices[0] % 2 == 0 else 1.0
        return Evaluation(loss, np.zeros(1))


def test_per_sample_losses_a_millionfold_apart_are_not_taken_for_divergence():
    history = train(_AlternatingLosses(), learning_rate=0.1, epochs=3, shuffle=False)

    assert history.divergence is None
    assert history.n_updates == 600
