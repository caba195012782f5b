"""Messages written right before the client's close frame are delivered, as API Gateway does."""

from __future__ import annotations

import websocket

from wsapi_client.emulator import SAMPLE_API, LocalGateway

FRAME = '{"route":"SubscribeToNotifications","payload":{"topic":"%d"}}'


def test_messages_in_the_same_read_as_the_close_frame_are_recorded() -> None:
    with LocalGateway(SAMPLE_API) as gw:
        for round_ in range(20):
            ws = websocket.create_connection(gw.url)
            for i in range(3):
                ws.send(FRAME % (round_ * 3 + i))
            ws.close()
            gw.wait_for_messages(3 * (round_ + 1), timeout=5)
        topics = [m.payload["topic"] for m in gw.received]
        assert topics == [str(i) for i in range(60)]
