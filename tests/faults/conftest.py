"""The fault-server fixtures, for the toolkit's own tests."""

from tests.faults.fixtures import faults, self_signed_cert

__all__ = ["faults", "self_signed_cert"]
