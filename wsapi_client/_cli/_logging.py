"""The command line's own log handler: each record printed once, on the current stderr.

The library logs under ``wsapi_client`` and adds only a ``NullHandler``; the command line adds
one stream handler for the length of a command (WARNING and up by default, ``-v`` INFO, ``-vv``
DEBUG) and removes it afterwards, so running ``main()`` twice in one process (tests, notebooks)
neither stacks handlers nor leaves the level changed. The root logger is left alone.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

__all__ = ["FORMAT", "configure"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each record (pytest and notebooks replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def level_for(verbosity: int) -> int:
    """0 -> WARNING, 1 -> INFO, 2 or more -> DEBUG."""
    return logging.WARNING - 10 * min(max(verbosity, 0), 2)


def configure(verbosity: int) -> Callable[[], None]:
    """Show the library's records at the level ``-v`` asks for; returns a callable undoing it."""
    logger = logging.getLogger("wsapi_client")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    previous = logger.level
    logger.setLevel(level_for(verbosity))
    logger.addHandler(handler)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return restore
