"""Handler output labelled by connection and request, for ``wsapi-client serve``.

Lambda puts each function's log lines in its own stream with the request id; on a laptop the
handlers of every connection share one terminal, so the serve command labels what handlers
print and log with ``[connectionId requestId]`` (:func:`current_invocation` tells which).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, TextIO

from wsapi_client.emulator._invoker import current_invocation

__all__ = ["InvocationLogFilter", "LabelledStream", "label_handler_output"]


def _label() -> str:
    info = current_invocation()
    return "" if info is None else f"[{info.connection_id} {info.request_id}] "


class InvocationLogFilter(logging.Filter):
    """Prefixes log records made inside a handler with its connection and request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        label = _label()
        if label and not record.name.startswith("wsapi_client.emulator"):
            record.msg = label + record.getMessage()
            record.args = ()
        return True


class LabelledStream:
    """A text stream whose lines written from handler threads start with their label.

    Each thread's partial line is held until its newline, so ``print()`` from two handlers
    at once does not interleave within a line.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._local = threading.local()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        label = _label()
        if not label:
            with self._lock:
                return self._stream.write(text)
        pending: str = getattr(self._local, "pending", "") + text
        *lines, rest = pending.split("\n")
        self._local.pending = rest
        if lines:
            with self._lock:
                self._stream.write("".join(f"{label}{line}\n" for line in lines))
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def label_handler_output(stdout: TextIO) -> tuple[TextIO, Callable[[], None]]:
    """A labelled ``stdout`` and a log filter on the root handlers; returns (stream, undo)."""
    stream = LabelledStream(stdout)
    log_filter = InvocationLogFilter()
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(log_filter)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(log_filter)

    return stream, undo  # type: ignore[return-value]
