"""``LocalGateway``'s repr (and Jupyter's ``_repr_html_``): what a notebook cell shows."""

from __future__ import annotations

import websocket

from wsapi_client.emulator import SAMPLE_API, LocalGateway


def test_repr_shows_the_model_url_and_counters() -> None:
    gateway = LocalGateway(SAMPLE_API)
    assert repr(gateway) == (
        "<LocalGateway 'SampleWebSocketApi' 1.0 stopped: 0 connection(s), 0 message(s), 0 rejected>"
    )
    with gateway:
        ws = websocket.create_connection(gateway.url, timeout=5)
        try:
            ws.send('{"route": "Nope"}')  # rejected (and recorded) before the next is read
            ws.send('{"route": "SayHello", "payload": {"name": "n"}}')
            gateway.wait_for_messages(1)
            assert "Forbidden" in ws.recv()
            assert repr(gateway) == (
                f"<LocalGateway 'SampleWebSocketApi' 1.0 serving {gateway.url}: "
                "1 connection(s), 1 message(s), 1 rejected>"
            )
            html = gateway._repr_html_()
            assert gateway.callback_url in html
            assert "<caption>LocalGateway: SampleWebSocketApi 1.0</caption>" in html
        finally:
            ws.close()
    assert "stopped" in repr(gateway)
