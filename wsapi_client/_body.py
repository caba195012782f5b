"""The body rules of an operation, in one place: whether a message carries a ``payload``.

- An operation without a request body takes none: ``send`` refuses one.
- An operation with a required body needs one to be sent; an optional body may be left out.
- A message the server sends for an operation with a body must carry one.

Used by the dynamic client (outbound and inbound), generated clients and ``validate_payload``, so
every path says the same thing in the same words. No I/O, no threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Optional

from wsapi_client._errors import ValidationError

if TYPE_CHECKING:
    from wsapi_client.spec._model import Operation

__all__ = ["NO_PAYLOAD", "check_inbound_body", "check_outbound_body"]


class _NoPayload:
    """The type of :data:`NO_PAYLOAD`."""

    __slots__ = ()
    _instance: Optional[_NoPayload] = None

    def __new__(cls) -> _NoPayload:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_PAYLOAD"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NO_PAYLOAD"


NO_PAYLOAD: Final = _NoPayload()
"""Pass as the payload of an operation without a request body: the frame has no ``payload``."""


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def check_outbound_body(op: Operation, payload: Any) -> bool:
    """Apply the body rules to a message about to be sent; True when ``payload`` is there and
    must be checked against the operation's schema."""
    if op.request_schema is None:
        if payload is not NO_PAYLOAD:
            raise ValidationError(
                f"this operation takes no payload, got {_kind(payload)}", route=op.route_key
            )
        return False
    if payload is NO_PAYLOAD:
        if op.body_required:
            raise ValidationError(
                "payload is required: this operation's messages carry one", route=op.route_key
            )
        return False
    return True


def check_inbound_body(op: Operation, payload: Any) -> bool:
    """Apply the body rules to a received message (``payload`` None when the frame had none);
    True when it must be checked against the operation's schema."""
    if op.request_schema is None:
        return False
    if payload is None:
        raise ValidationError(
            "payload is required: this operation's messages carry one", route=op.route_key
        )
    return True
