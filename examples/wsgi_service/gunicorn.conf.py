"""gunicorn settings for app.py: preloaded, three workers, one WebSocket client per process.

    WSAPI_URL=wss://... gunicorn -c gunicorn.conf.py app:application

``preload_app`` imports the app once in the master, before forking the workers. The master
keeps a client of its own (it announces the service); every worker inherits an inert copy of
it and creates its own client in ``post_fork``, right after the fork.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # wherever gunicorn runs from
import app

preload_app = True
workers = 3
worker_class = "sync"
bind = ["127.0.0.1:8000"]
graceful_timeout = 10
control_socket_disable = True  # gunicorn >= 25.1 would open one under $HOME; older ones ignore this


def when_ready(server: Any) -> None:
    """In the master, before the first fork: its own client, used to announce the service."""
    app.client().send("SayHello", {"name": "gunicorn master"})


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: connect this worker's client now, not on its first request."""
    app.client()


def worker_exit(server: Any, worker: Any) -> None:
    """In a stopping worker: flush and close its client.

    gunicorn also calls this in the master for a worker that died; the master's client stays.
    """
    if worker.pid == os.getpid():
        app.close_client()


def on_exit(server: Any) -> None:
    """In the master, at shutdown: flush and close its client."""
    app.close_client()
