"""Gradient providers and their registry by name."""

from gradients.providers.backprop import Backprop
from gradients.providers.base import Evaluation, Provider, forward_multiplications
from gradients.providers.finite_differences import CentralDifferences, ForwardDifferences
from gradients.providers.naive import Naive
from gradients.providers.peers import register_peers
from gradients.providers.registry import (
    get_provider,
    provider_names,
    register_provider,
    unregister_provider,
)

for _provider in (Backprop, Naive, ForwardDifferences, CentralDifferences):
    register_provider(_provider.name, _provider)

# Peers whose package is installed; their packages are imported only when one is built.
register_peers()

__all__ = [
    "Backprop",
    "CentralDifferences",
    "Evaluation",
    "ForwardDifferences",
    "Naive",
    "Provider",
    "forward_multiplications",
    "get_provider",
    "provider_names",
    "register_peers",
    "register_provider",
    "unregister_provider",
]
