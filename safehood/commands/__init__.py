"""Subcommands of ``safehood``: one module each, with a ``register(subparsers)`` function."""
