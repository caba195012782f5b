"""Token-bucket throttling, for the service's connection and message rate limits (429).

Off unless asked for: the real limits (account-wide, thousands a second) are far above what a
test produces, so the emulator throttles only when a test wants to exercise retry code.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

__all__ = ["TOO_MANY_REQUESTS", "TokenBucket"]

TOO_MANY_REQUESTS = "Too Many Requests"
"""The message of a throttled handshake (429 body) or message (error frame)."""


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (default: one second's worth)."""

    def __init__(self, rate: float, burst: Optional[float] = None) -> None:
        if rate <= 0:
            raise ValueError(f"a throttle rate must be positive (per second), not {rate!r}")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else rate))
        self._tokens = self.burst
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one token; False when the bucket is empty (the request is throttled)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
