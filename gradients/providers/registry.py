"""Providers by name, so that no caller ever branches on which provider it holds."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from gradients.providers.base import Provider

_FACTORIES: dict[str, Callable[..., Provider]] = {}


def register_provider(
    name: str, factory: Callable[..., Provider], *, replace: bool = False
) -> None:
    """Make ``factory(**options)`` available as ``get_provider(name, **options)``.

    A name already taken is refused unless ``replace`` is set, so that a provider of one's
    own cannot shadow a built-in one by accident.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"`factory` must be callable, got {factory!r}")
    if name in _FACTORIES and not replace:
        raise ValueError(f"`name` {name!r} is already registered; pass replace=True to replace it")
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
    try:
        inspect.signature(factory).bind(**options)
    except TypeError:
        accepted = [
            p.name
            for p in inspect.signature(factory).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        offered = ", ".join(f"`{option}`" for option in options)
        takes = ", ".join(accepted) if accepted else "no options"
        raise TypeError(f"provider {name!r} does not take {offered}; it takes {takes}") from None
    return factory(**options)
