"""Providers by name, so that no caller ever branches on which provider it holds."""

from __future__ import annotations

from collections.abc import Callable

from gradients.providers.base import Provider

_FACTORIES: dict[str, Callable[..., Provider]] = {}


def register_provider(name: str, factory: Callable[..., Provider]) -> None:
    """Make ``factory(**options)`` available as ``get_provider(name, **options)``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string, got {name!r}")
    _FACTORIES[name] = factory


def unregister_provider(name: str) -> None:
    _FACTORIES.pop(name, None)


def provider_names() -> list[str]:
    return sorted(_FACTORIES)


def get_provider(name: str, **options: object) -> Provider:
    """A new provider called ``name``; a clear error lists the valid names."""
    try:
        factory = _FACTORIES[name]
    except (KeyError, TypeError):
        valid = ", ".join(provider_names())
        raise ValueError(f"`provider` must be one of {valid}, got {name!r}") from None
    return factory(**options)
