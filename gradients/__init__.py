"""gradscale's library: networks, losses, gradient providers, the SGD loop and data.

It knows nothing of the benchmark harness in ``bench``, which uses it through these names.
"""

from gradients.activations import ACTIVATIONS, get_activation
from gradients.counting import OpCounts
from gradients.losses import LOSSES, Loss, get_loss
from gradients.network import MLP, ForwardTrace
from gradients.providers import (
    Evaluation,
    Provider,
    get_provider,
    provider_names,
    register_provider,
    unregister_provider,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MLP",
    "Evaluation",
    "ForwardTrace",
    "Loss",
    "OpCounts",
    "Provider",
    "get_activation",
    "get_loss",
    "get_provider",
    "provider_names",
    "register_provider",
    "unregister_provider",
]
