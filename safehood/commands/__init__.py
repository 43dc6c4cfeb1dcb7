"""Subcommands of ``safehood``: one module each, whose docstring is the command's help and
whose ``add_arguments(parser)`` declares its arguments (see :mod:`safehood.cli`)."""
