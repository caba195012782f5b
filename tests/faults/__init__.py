"""Fault-injection toolkit: small misbehaving servers on 127.0.0.1 (see ``servers``)."""
