"""``gradscale train``: the SGD loop on real data with any provider, one row per epoch.

Options are checked under their own names before the data are loaded or a network is built.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.options import int_list, non_negative_int, positive_float, positive_int
from gradients import ACTIVATIONS, MLP, get_loss, get_provider, provider_names
from gradients.data import load_dataset
from gradients.objectives import NetworkObjective
from gradients.sgd import History, train
from gradients.validation import check_choice

HEADER = f"{'epoch':>5}  {'loss':>10}  {'test accuracy':>13}  {'elapsed (s)':>11}"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on digits with the SGD loop and a chosen provider",
        description="Train an MLP with stochastic gradient descent (batch 1), minibatches or "
        "full-batch gradient descent, using any gradient provider, and print the training "
        "loss, test accuracy and elapsed time after every epoch.",
    )
    parser.add_argument("--provider", default="backprop", help="gradient provider")
    parser.add_argument(
        "--hidden", type=int_list, default=(32,),
        help="hidden layer widths, e.g. 32 or 16,16 (default: 32)",
    )  # fmt: skip
    parser.add_argument("--activation", default="tanh", help="tanh, sigmoid or relu")
    parser.add_argument(
        "--data", default="digits", help="digits or mnist:FOLDER with the IDX files"
    )
    parser.add_argument(
        "--learning-rate", type=positive_float, default=0.05, help="step size (default: 0.05)"
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the data")
    parser.add_argument(
        "--batch-size", type=positive_int, default=1,
        help="samples per update: 1 is SGD (default), the training-set size is gradient descent",
    )  # fmt: skip
    parser.add_argument(
        "--full-batch", action="store_true", help="gradient descent on the whole training set"
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None,
        help="use only the first LIMIT training samples (naive and finite differences are slow)",
    )  # fmt: skip
    parser.add_argument("--seed", type=non_negative_int, default=0, help="initialisation seed")
    parser.set_defaults(func=run)


def accuracy(network: MLP, inputs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(network.forward(inputs).argmax(axis=1) == labels))


def run(args: argparse.Namespace) -> int:
    check_choice("--provider", args.provider, provider_names())
    check_choice("--activation", args.activation, ACTIVATIONS)
    data = load_dataset(args.data, seed=args.seed, argument="--data")
    if data.n_classes is None:
        raise ValueError(
            f"`--data` must be a classification data set (digits or mnist:FOLDER), "
            f"got {args.data!r}"
        )
    inputs, targets = data.train_inputs, data.train_targets
    if args.limit is not None:
        inputs, targets = inputs[: args.limit], targets[: args.limit]
    batch_size = None if args.full_batch else args.batch_size
    if batch_size is not None and batch_size > inputs.shape[0]:
        raise ValueError(
            f"`--batch-size` must be at most the {inputs.shape[0]} training samples, "
            f"got {batch_size}"
        )

    network = MLP((data.n_inputs, *args.hidden, data.n_outputs), args.activation, seed=args.seed)
    objective = NetworkObjective(
        network, get_loss(data.loss_name), get_provider(args.provider), inputs, targets
    )

    print(f"{args.provider} on {data.name}: {network!r}, {network.n_parameters} parameters")
    print(HEADER)

    def report(epoch: int, history: History) -> None:
        test_accuracy = accuracy(network, data.test_inputs, data.test_targets)
        print(
            f"{epoch:>5}  {history.epoch_losses[-1]:>10.6f}  {test_accuracy:>13.2%}  "
            f"{history.epoch_elapsed_s[-1]:>11.2f}",
            flush=True,
        )

    # A rate too large overflows the outputs; the loop stops and says so in one line, so
    # numpy's overflow warnings would only repeat it, several lines long.
    with np.errstate(over="ignore", invalid="ignore"):
        history = train(
            objective,
            learning_rate=args.learning_rate,
            epochs=args.epochs,
            batch_size=batch_size,
            seed=args.seed,
            callback=report,
        )
    counts = history.counts
    print(
        f"{history.n_updates} updates, {counts.multiplications:,} multiplications, "
        f"{counts.loss_evaluations:,} loss evaluations"
    )
    if history.divergence is not None:
        print(f"gradscale train: {history.divergence.message}", file=sys.stderr)
        return 1
    return 0
