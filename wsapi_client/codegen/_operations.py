"""From operations to client methods: names, payload types, and which methods each one gets.

A ``client_to_server`` or ``bidirectional`` operation gets a send method named after it
(``say_hello``); a ``server_to_client`` or ``bidirectional`` one gets ``on_<op>``,
``wait_for_<op>`` and ``expect_<op>``. A method name that would hide something of
:class:`~wsapi_client.WebSocketClient` (a method, an attribute set in ``__init__``), a Python
keyword, a name the class body itself uses, or another generated method gets a trailing ``_``,
repeated until it is free. Operations are taken in the model's order, sends before listeners.
"""

from __future__ import annotations

from typing import Optional

import attrs

from wsapi_client.codegen._ir import ANY, Alias, ClassDef, Ref, TypeExpr
from wsapi_client.codegen._models import ModelBuilder, ModelSet
from wsapi_client.spec._model import ApiSpec, Operation
from wsapi_client.spec._naming import RESERVED_METHOD_NAMES, python_identifier

__all__ = ["ClientDef", "ListenDef", "SendDef", "build_client", "client_reserved_names"]

CLASS_BODY_NAMES = frozenset({"models", "overload", "float", "bool", "str", "int", "list", "dict"})
"""Names the generated class body uses in annotations and decorators: a method of that name
would shadow them for the methods after it."""


@attrs.frozen(kw_only=True)
class SendDef:
    """A send method. ``model`` is set when the payload is a model class (keyword overload)."""

    name: str
    route: str
    payload: Optional[TypeExpr]
    model: Optional[ClassDef]
    doc: str


@attrs.frozen(kw_only=True)
class ListenDef:
    """The ``on_``/``wait_for_``/``expect_`` methods of one inbound operation; ``doc`` is the
    operation's description (may be empty)."""

    on: str
    wait_for: str
    expect: str
    route: str
    payload: Optional[TypeExpr]
    doc: str


@attrs.frozen(kw_only=True)
class ClientDef:
    """The client class: its methods in order, and the inbound payloads to structure."""

    name: str
    doc: str
    sends: tuple[SendDef, ...]
    listens: tuple[ListenDef, ...]
    methods: tuple[object, ...]
    decoders: tuple[tuple[str, TypeExpr], ...]


def client_reserved_names() -> frozenset[str]:
    """Every name a generated method must not take: WebSocketClient's methods and the public
    attributes its ``__init__`` sets (an explicit list, tested against a real client)."""
    from wsapi_client._client import PUBLIC_ATTRIBUTES, WebSocketClient

    names = set(RESERVED_METHOD_NAMES) | set(dir(WebSocketClient)) | CLASS_BODY_NAMES
    return frozenset(names | PUBLIC_ATTRIBUTES)


def _payload_model(tp: Optional[TypeExpr], models: ModelSet) -> Optional[ClassDef]:
    """The class a payload type names, following aliases (``A = B``)."""
    aliases: dict[str, Alias] = {a.name: a for a in models.aliases}
    classes: dict[str, ClassDef] = {c.name: c for c in models.classes}
    seen: set[str] = set()
    while isinstance(tp, Ref) and tp.name not in seen:
        seen.add(tp.name)
        if tp.name in classes:
            return classes[tp.name]
        alias = aliases.get(tp.name)
        tp = alias.type if alias is not None else None
    return None


def _describe(op: Operation) -> str:
    text = op.description or op.summary
    return text.strip() if text and text.strip() else ""


def build_client(
    spec: ApiSpec, builder: ModelBuilder, models: ModelSet, class_name: str
) -> ClientDef:
    """The client class for ``spec``; ``builder`` has built ``models``."""
    reserved = client_reserved_names()
    taken: set[str] = set()

    def claim(base: str) -> str:
        name = python_identifier(base, reserved | taken)
        taken.add(name)
        return name

    sends: list[SendDef] = []
    listens: list[ListenDef] = []
    methods: list[object] = []
    decoders: list[tuple[str, TypeExpr]] = []
    for op in spec.operations:
        payload = builder.body_types.get(op.route_key)
        base = op.python_name.rstrip("_") or op.python_name
        about = _describe(op)
        if op.direction.client_sends:
            model = _payload_model(payload, models)
            what = "" if payload is not None else " (it has no payload)"
            doc = f"Send one ``{op.route_key}`` message{what}."
            if model is not None:
                doc += f" Pass a :class:`~.models.{model.name}`, or its fields as keywords."
            send = SendDef(
                name=claim(base),
                route=op.route_key,
                payload=payload,
                model=model,
                doc=f"{doc}\n\n{about}" if about else doc,
            )
            sends.append(send)
            methods.append(send)
        if op.direction.server_sends:
            listen = ListenDef(
                on=claim(f"on_{base}"),
                wait_for=claim(f"wait_for_{base}"),
                expect=claim(f"expect_{base}"),
                route=op.route_key,
                payload=payload,
                doc=about,
            )
            listens.append(listen)
            methods.append(listen)
            if payload is not None and payload != ANY:
                decoders.append((op.route_key, payload))
    title = " ".join(p for p in (spec.title, spec.version) if p) or "the API"
    doc = f"A typed client for {title}."
    if spec.description and spec.description.strip():
        doc += f"\n\n{spec.description.strip()}"
    return ClientDef(
        name=class_name,
        doc=doc,
        sends=tuple(sends),
        listens=tuple(listens),
        methods=tuple(methods),
        decoders=tuple(decoders),
    )
