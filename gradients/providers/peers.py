"""Gradients computed by other libraries, so that ours can be measured against them.

For: providers that build the same network from our weights in PyTorch, JAX or HIPS
autograd, compute the same loss there, and return the gradient in the layout of
``network.parameters``; knowing which of them are installed, and why one is absent.
Not for: counting operations, or timing (the harness in ``bench`` does that).

Registration looks for a package with ``importlib.util.find_spec``, which does not import
it: importing torch or jax takes seconds and ``import gradients`` must stay fast. The import
happens when a provider is constructed; a package that is found but fails to import then
raises there, with its own message.

Counts. A peer's arithmetic is not instrumented, so ``counted`` is False: its ``Evaluation``
and ``predict_counts`` hold the one loss evaluation that its call makes by construction and
0 multiplications, which means "not counted", never "free".

Fair timing. ``prepare`` converts the weights and the batch into the peer's own arrays and
builds (for JAX, traces) its gradient function; it returns callables that run only the
peer's loss and gradient on those arrays and return once the result exists. A harness times
those callables, so conversion and compilation never land in a timed call, and it times
``prepare`` and the first call (JAX's compilation) apart. ``compute`` prepares anew on every
call, which is what a peer costs inside our SGD loop, where the parameters change between
calls: nothing is cached on the network, so no stale copy of its weights can be used.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from gradients.counting import OpCounts
from gradients.losses import Loss
from gradients.network import MLP
from gradients.providers.base import Evaluation, Provider
from gradients.providers.registry import register_provider


@dataclass(frozen=True)
class PeerSpec:
    """Where a peer provider lives and which package it needs."""

    package: str
    module: str
    class_name: str


PEERS: dict[str, PeerSpec] = {
    "torch": PeerSpec("torch", "gradients.providers.peer_torch", "TorchEager"),
    "torch-func": PeerSpec("torch", "gradients.providers.peer_torch", "TorchFunc"),
    "jax": PeerSpec("jax", "gradients.providers.peer_jax", "JaxJit"),
    "autograd": PeerSpec("autograd", "gradients.providers.peer_autograd", "HipsAutograd"),
}


@dataclass(frozen=True)
class PreparedPeer:
    """A peer's loss and gradient, ready to be timed on arrays it already holds."""

    gradient: Callable[[], object]  # loss and gradient; the result exists on return
    loss_only: Callable[[], object]  # the loss alone, as the peer evaluates it
    evaluation: Callable[[object], Evaluation]  # a result of ``gradient`` in our layout


class PeerProvider(Provider):
    """A provider whose loss and gradient another library computes."""

    counted: ClassVar[bool] = False
    package: ClassVar[str] = ""

    def prepare(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> PreparedPeer:
        raise NotImplementedError

    def compute(
        self, network: MLP, loss: Loss, inputs: np.ndarray, targets: np.ndarray
    ) -> Evaluation:
        prepared = self.prepare(network, loss, inputs, targets)
        return prepared.evaluation(prepared.gradient())

    def predict_counts(
        self, layer_sizes: tuple[int, ...], batch_size: int, *, bias: bool = True
    ) -> OpCounts:
        return uncounted()

    def describe(self) -> dict[str, object]:
        return {"provider": self.name, "package": self.package, "counted": self.counted}


def check_peer_support(network: MLP, loss: Loss, activations: dict, losses: dict) -> None:
    """Refuse a network or loss that a peer has no translation for, naming it."""
    if network.activation.name not in activations:
        valid = ", ".join(sorted(activations))
        raise ValueError(
            f"`activation` must be one of {valid} for a peer, got {network.activation.name!r}"
        )
    if loss.name not in losses:
        raise ValueError(f"`loss` must be one of {', '.join(sorted(losses))}, got {loss.name!r}")


def flat_gradient(network: MLP, layer_gradients: Sequence[tuple[object, object]]) -> np.ndarray:
    """Per-layer (dW, db) arrays, in any form ``np.asarray`` reads, as one flat vector.

    ``db`` is ignored for a network without biases.
    """
    gradient = np.empty_like(network.parameters)
    grad_weights, grad_biases = network.unflatten(gradient)
    for layer, (dW, db) in enumerate(layer_gradients):
        grad_weights[layer][...] = np.asarray(dW)
        if network.bias:
            grad_biases[layer][...] = np.asarray(db)
    return gradient


def package_found(package: str) -> bool:
    """Whether ``package`` can be imported here, found without importing it."""
    return importlib.util.find_spec(package) is not None


def peer_evaluation(
    network: MLP, value: float, layer_gradients: Sequence[tuple[object, object]]
) -> Evaluation:
    """A peer's loss and per-layer gradient in our layout, with the counts it is known for."""
    return Evaluation(float(value), flat_gradient(network, layer_gradients), uncounted())


def uncounted() -> OpCounts:
    """One loss evaluation, made by construction; 0 multiplications, because none were counted."""
    return OpCounts(multiplications=0, loss_evaluations=1)


def absence_reason(name: str) -> str | None:
    """Why the peer ``name`` cannot be registered here, or None when its package is found."""
    spec = PEERS[name]
    try:
        found = package_found(spec.package)
    except (ImportError, ValueError) as error:
        return f"package {spec.package} cannot be looked up: {error}"
    return None if found else f"package {spec.package} is not installed"


def peer_factory(spec: PeerSpec) -> Callable[..., Provider]:
    """A factory that imports the peer's module only when a provider is asked for."""

    def factory(**options: object) -> Provider:
        module = importlib.import_module(spec.module)
        return getattr(module, spec.class_name)(**options)

    return factory


def register_peers() -> dict[str, str | None]:
    """Register every peer whose package is found; map each peer to its absence reason.

    Calling it again registers the same factories again, so any caller may make sure.
    """
    reasons = {name: absence_reason(name) for name in PEERS}
    for name, reason in reasons.items():
        if reason is None:
            register_provider(name, peer_factory(PEERS[name]), replace=True)
    return reasons
