"""Experiments behind the project's claims: each module has ``run``, ``summary`` and ``plot``."""
