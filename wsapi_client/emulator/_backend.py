"""What the ``@connections`` management server needs from a gateway, as a small interface.

The management server (``_management.py``) talks to this Protocol only; ``LocalGateway``
implements it with public methods.  That keeps the dependency one way (the gateway imports the
management server, never the reverse) and lets the server be tested against any backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional, Protocol, Union

import attrs

__all__ = ["ConnectionDescription", "ManagementBackend"]


@attrs.frozen(kw_only=True)
class ConnectionDescription:
    """What ``GET @connections/{id}`` answers: wall-clock times and the client's identity."""

    connected_at: float
    last_active_at: float
    source_ip: str
    user_agent: str


class ManagementBackend(Protocol):
    """The gateway operations behind ``POST``, ``GET`` and ``DELETE /{stage}/@connections/{id}``.

    Each raises ``GoneError`` for an unknown or closed connection; ``post_data`` also raises
    ``MessageTooLargeError`` above the message limit and ``ThrottledError`` when throttled.
    """

    @property
    def stage(self) -> str: ...

    @property
    def iam_keys(self) -> Mapping[str, str]: ...

    @property
    def iam_region(self) -> Optional[str]: ...

    @property
    def iam_session_tokens(self) -> Optional[Mapping[str, str]]: ...

    def new_request_id(self) -> str: ...

    def post_data(self, connection_id: str, data: Union[str, bytes]) -> None: ...

    def describe_connection(self, connection_id: str) -> ConnectionDescription: ...

    def delete_connection(self, connection_id: str) -> None: ...
