"""The body of a reader thread: one per connection, it reads frames and hands text messages to
the dispatcher, in frame order.

It answers pings and close frames through the writer's control path (never blocking), marks the
connection busy while a listener runs (keepalive then does not condemn it: an answer may be
waiting unread), closes with 1009 a message over the inbound cap, and when the connection ends
tells the writer (a write parked on it goes back to the queue) and the supervisor (under the
control's condition). It holds no lock of its own.
"""

from __future__ import annotations

import logging
import threading

from wsapi_client import _framing
from wsapi_client._connection import Closed, Connection, parse_close
from wsapi_client._control import Control

__all__ = ["read_loop"]


def read_loop(conn: Connection, control: Control, log: logging.Logger) -> None:
    """Read ``conn`` until it ends; see the module docstring."""
    control.sdk_threads.add(threading.get_ident())
    dispatcher, writer, name = control.dispatcher, control.writer, control.name
    read_frame = conn.read_frame
    dispatch = dispatcher.dispatch
    try:
        while True:
            opcode, data = read_frame()
            if opcode == _framing.OPCODE_TEXT:
                dispatcher.messages_in += 1
                dispatcher.bytes_in += len(data)
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raw = data.decode("utf-8", "replace")
                    dispatcher.emit_error(f"Failed to parse received data {raw}", "parse", raw=raw)
                    continue
                conn.busy = True
                try:
                    dispatch(text)
                finally:
                    conn.busy = False
            elif opcode == _framing.OPCODE_BINARY:
                dispatcher.ignored += 1
            elif opcode == _framing.OPCODE_PING:
                writer.send_control(conn, _framing.build_control(_framing.OPCODE_PONG, data))
            elif opcode == _framing.OPCODE_CLOSE:
                code, reason = parse_close(data)
                if conn.close_code is None or not conn.retiring:
                    conn.close_code, conn.close_reason = code, reason
                echo = code if code not in (1005, 1006, 1015) else 1000
                writer.send_control(conn, _framing.build_close(echo), close=True)
                break
    except Closed as closed:
        if closed.too_large:
            log.warning("%s: %s; closing with 1009", name, closed.reason)
            dispatcher.emit_error(closed.reason, "too_large")
            writer.send_control(conn, _framing.build_close(1009, "message too big"), close=True)
        if conn.close_code is None or closed.too_large:
            conn.close_code, conn.close_reason = closed.code, closed.reason
    except Exception as exc:  # pragma: no cover - a bug; report, end this connection
        log.exception("%s: reader crashed", name)
        conn.close_code, conn.close_reason = 1011, f"reader error: {exc!r}"
    finally:
        writer.connection_lost(conn)
        conn.release()
        with control.cond:
            conn.ended = True
            control.readers.pop(conn.number, None)
            control.cond.notify_all()
        control.sdk_threads.discard(threading.get_ident())
