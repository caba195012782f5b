"""Loading WebSocket API models (OpenAPI with ``x-async``) and the PDK's naming rules."""

from wsapi_client.spec._loader import load_spec
from wsapi_client.spec._model import ApiSpec, Direction, Operation

__all__ = ["ApiSpec", "Direction", "Operation", "load_spec"]
