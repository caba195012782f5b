"""Subcommands of the ``wsapi-client`` command; see :mod:`wsapi_client.cli`."""
