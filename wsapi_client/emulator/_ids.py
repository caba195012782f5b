"""Connection and request ids shaped like API Gateway's (16 base64 characters ending in ``=``)."""

from __future__ import annotations

import base64
import itertools
import os
import threading

__all__ = ["IdSource"]


class IdSource:
    """Ids that look like API Gateway's: 11 bytes in base64, 16 characters ending in ``=``.

    Connection ids are random and never contain ``/``, so they can be pasted into a
    management URL unquoted.  Request ids are a random per-gateway prefix plus a counter,
    so they are unique within a gateway without a system call per message.
    """

    def __init__(self) -> None:
        self._prefix = os.urandom(7)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._issued: set[str] = set()

    def connection_id(self) -> str:
        """A fresh connection id, unique within this gateway."""
        while True:
            candidate = base64.b64encode(os.urandom(11)).decode("ascii")
            if "/" in candidate:
                continue
            with self._lock:
                if candidate not in self._issued:
                    self._issued.add(candidate)
                    return candidate

    def request_id(self) -> str:
        """A fresh request id, unique within this gateway (for 2**32 requests)."""
        # An odd multiplier permutes 32-bit numbers: unique, yet not sequential-looking.
        number = (next(self._counter) * 0x9E3779B1) & 0xFFFFFFFF
        return base64.b64encode(self._prefix + number.to_bytes(4, "big")).decode("ascii")
