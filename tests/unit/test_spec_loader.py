"""load_spec over the project's test models, and a SpecError with a pointer for each fault."""

from __future__ import annotations

import contextlib
import copy
import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsapi_client._errors import SpecError
from wsapi_client.spec import ApiSpec, Direction, _loader, load_spec

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"
MODELS = sorted(p for p in SPECS.glob("*") if p.suffix in (".json", ".yaml", ".yml"))


def minimal(**operation: Any) -> dict[str, Any]:
    """A valid one-operation model; keyword arguments replace parts of the operation."""
    op: dict[str, Any] = {
        "operationId": "SayHello",
        "x-async": {"direction": "client_to_server"},
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hello"}}},
        },
    }
    op.update(operation)
    return {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": {"/SayHello": {"post": op}},
        "components": {
            "schemas": {"Hello": {"type": "object", "properties": {"name": {"type": "string"}}}}
        },
    }


def spec_error(document: Any) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(document, name="model.json")
    assert caught.value.source == "model.json"
    return caught.value


# -- the reference models --------------------------------------------------------------------


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_reference_model_loads(path: Path) -> None:
    spec = load_spec(path)
    assert isinstance(spec, ApiSpec)
    assert spec.source == str(path)
    assert spec.operations
    for op in spec.operations:
        assert op.path == f"/{op.route_key}"
        assert op.pointer == "/paths/~1" + op.route_key + "/" + op.method
        assert op.python_name.isidentifier()
        assert spec.find(op.route_key) is op
        assert spec.find(op.server_route) is op
        if op.request_schema_name is not None:
            assert op.request_schema == {"$ref": f"#/components/schemas/{op.request_schema_name}"}
            assert op.request_schema_name in spec.schemas


def test_names_the_pdk_gives_the_directions_model() -> None:
    spec = load_spec(SPECS / "directions.yaml")
    names = {op.route_key: (op.name, op.server_route, op.python_name) for op in spec.operations}
    assert names["station-report"] == ("stationReport", "StationReport", "station_report")
    assert names["unnamed-route"] == (
        "unnamedRoutePost",
        "UnnamedRoutePost",
        "unnamed_route_post",
    )
    assert names["heartbeat"] == ("ping", "Ping", "ping")
    directions = {op.route_key: op.direction for op in spec.operations}
    assert directions["station-report"] is Direction.SERVER_TO_CLIENT
    assert directions["submit-reading"] is Direction.CLIENT_TO_SERVER
    assert directions["relay"] is Direction.BIDIRECTIONAL


def test_request_bodies_of_the_directions_model() -> None:
    spec = load_spec(SPECS / "directions.yaml")
    empty = spec.operation("heartbeat")
    assert (empty.request_schema, empty.has_body, empty.body_required, empty.media_types) == (
        None,
        False,
        False,
        (),
    )
    assert empty.method == "put"
    any_request = spec.operation("free-form")
    assert any_request.request_schema == {}
    assert any_request.request_schema_name is None
    assert not any_request.body_required
    media = spec.operation("radar-image")
    assert media.request_schema == {"type": "string", "format": "binary"}
    assert media.media_types == ("image/png",)
    multiple = spec.operation("reading-or-image")
    assert multiple.media_types == ("application/json", "image/png")
    assert multiple.request_schema_name == "Reading"
    assert spec.operation("sensor-map").request_schema_name == "SensorMap"
    assert spec.operation("station-report").body_required


def test_inline_bodies_are_hoisted_with_the_pdk_names() -> None:
    spec = load_spec(SPECS / "inline-bodies.yaml")
    op = spec.operation("Rename")
    assert op.request_schema_name == "RenameRequestContent"
    assert spec.schemas["RenameRequestContent"]["properties"] == {
        "from": {"type": "string"},
        "to": {"type": "string"},
    }
    assert spec.schemas["TagRequestContent"] == {"type": "array", "items": {"type": "string"}}
    assert set(spec.schemas) == {
        "RenameRequestContent",
        "MoveRequestContent",
        "TagRequestContent",
    }


def test_recursive_model_keeps_its_references() -> None:
    spec = load_spec(SPECS / "recursive.json")
    assert spec.title == "Arborist"
    assert spec.version == "2.1"
    assert spec.description == "A tree-growing websocket api in the shape Smithy writes"
    branch = spec.schemas["Branch"]
    assert branch["properties"]["left"] == {"$ref": "#/components/schemas/Branch"}
    assert spec.resolve({"$ref": "#/components/schemas/Branch"}) is branch
    assert spec.operation("ReportGrowth").direction is Direction.SERVER_TO_CLIENT
    assert not spec.operation("Graft").body_required


def test_handler_model_routes_by_path_and_pdk_name() -> None:
    spec = load_spec(SPECS / "handlers.yaml")
    op = spec.operation("TypeScriptAlpha")
    assert (op.operation_id, op.server_route, op.python_name) == (
        "TypescriptAlpha",
        "TypescriptAlpha",
        "typescript_alpha",
    )
    assert spec.find("TypescriptAlpha") is op


# -- sources ---------------------------------------------------------------------------------


def test_sources_mapping_json_text_and_path_agree(tmp_path: Path) -> None:
    document = minimal()
    text = json.dumps(document)
    file = tmp_path / "api.json"
    file.write_text(text, encoding="utf-8")
    loaded = [load_spec(document), load_spec(text), load_spec(file), load_spec(str(file))]
    assert all(spec.operations == loaded[0].operations for spec in loaded)
    assert load_spec(file, name="label").source == "label"


def test_a_file_without_a_known_suffix_is_sniffed(tmp_path: Path) -> None:
    (tmp_path / "api").write_text(json.dumps(minimal()), encoding="utf-8")
    (tmp_path / "api.txt").write_text("openapi: 3.0.0\npaths: {}\n", encoding="utf-8")
    assert load_spec(tmp_path / "api").operations
    assert load_spec(tmp_path / "api.txt").operations == ()


def test_yaml_is_read_with_yaml_1_2_scalars(tmp_path: Path) -> None:
    file = tmp_path / "api.yaml"
    file.write_text(
        """
openapi: 3.1
info: {title: T, version: 1.0}
paths:
  /On:
    post:
      x-async: {direction: client_to_server}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                on: {type: string, enum: [yes, no, 2024-01-31]}
                n: {type: integer, enum: [0o17, 017, 0x1F]}
""",
        encoding="utf-8",
    )
    spec = load_spec(file)
    assert spec.version == "1.0"
    schema = spec.schemas["OnPostRequestContent"]
    assert schema["properties"]["on"]["enum"] == ["yes", "no", "2024-01-31"]
    assert schema["properties"]["n"]["enum"] == [15, 17, 31]


def test_missing_pyyaml_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "api.yaml"
    file.write_text("openapi: 3.0.0\n", encoding="utf-8")
    monkeypatch.setattr(_loader, "_yaml_loader_class", None)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(SpecError, match=r"pip install 'wsapi-client\[yaml\]'"):  # quoted for zsh
        load_spec(file)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("bad.json", b'{"openapi": ', "not valid JSON"),
        ("dup.json", b'{"openapi": "3.0.0", "openapi": "3.0.1"}', "duplicate key 'openapi'"),
        ("nan.json", b'{"openapi": NaN}', "NaN is not valid JSON"),
        ("bad.yaml", b"openapi: [3.0", "not valid YAML"),
        ("dup.yaml", b"openapi: 3.0.0\nopenapi: 3.0.1\n", "duplicate key"),
        ("latin1.yaml", "openapi: caf\u00e9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(SpecError, match=words) as caught:
        load_spec(file)
    assert caught.value.source == str(file)


def test_a_document_that_is_not_an_object(tmp_path: Path) -> None:
    file = tmp_path / "list.json"
    file.write_text("[]", encoding="utf-8")
    with pytest.raises(SpecError, match="must be an OpenAPI object, got an array") as caught:
        load_spec(file)
    assert caught.value.pointer == ""


def test_missing_file_and_wrong_source_type(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the model"):
        load_spec(tmp_path / "nope.json")
    with pytest.raises(SpecError, match="a model is a path, JSON text or a mapping"):
        load_spec(42)  # type: ignore[arg-type]


def test_a_self_referencing_document_is_a_spec_error() -> None:
    document = minimal()
    hello = document["components"]["schemas"]["Hello"]
    hello["properties"]["self"] = hello  # as a YAML alias can make it
    assert "nested too deeply" in spec_error(document).message


# -- malformed models ------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], Any]
OP = "/paths/~1SayHello/post"


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> Any:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return doc

    return mutate


def _delete(path: list[Any]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> Any:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return doc

    return mutate


def _op(*keys: Any) -> list[Any]:
    return ["paths", "/SayHello", "post", *keys]


HELLO = ["components", "schemas", "Hello"]
BODY_SCHEMA = _op("requestBody", "content", "application/json", "schema")

MALFORMED: list[tuple[str, Mutation, str, str]] = [
    ("no openapi", _delete(["openapi"]), "/openapi", "no 'openapi' version"),
    ("swagger 2", lambda d: {"swagger": "2.0", "paths": {}}, "/swagger", "Swagger 2.0"),
    ("openapi 2", _set(["openapi"], "2.0"), "/openapi", "only OpenAPI 3.x"),
    ("info a list", _set(["info"], []), "/info", "must be an object"),
    ("title a list", _set(["info", "title"], ["T"]), "/info/title", "must be a string"),
    ("no paths", _delete(["paths"]), "/paths", "has no 'paths'"),
    ("paths a list", _set(["paths"], []), "/paths", "'paths' must be an object"),
    ("relative path", _set(["paths", "SayHi"], {}), "/paths/SayHi", "starting with '/'"),
    ("root path", _set(["paths", "/"], {}), "/paths/~1", "not a WebSocket route"),
    ("nested path", _set(["paths", "/a/b"], {}), "/paths/~1a~1b", "one path segment"),
    ("dollar route", _set(["paths", "/$connect"], {}), "/paths/~1$connect", "reserved"),
    ("path item a string", _set(["paths", "/SayHello"], "x"), "/paths/~1SayHello", "path item"),
    ("two methods", _set(["paths", "/SayHello", "get"], {}), "/paths/~1SayHello", "post, get"),
    (
        "no method",
        _set(["paths", "/SayHello"], {"summary": "s"}),
        "/paths/~1SayHello",
        "found: none",
    ),
    ("operation a list", _set([*_op()[:-1], "post"], []), OP, "an operation must be an object"),
    ("no x-async", _delete(_op("x-async")), f"{OP}/x-async", "has no x-async"),
    ("x-async a string", _set(_op("x-async"), "both"), f"{OP}/x-async", "must be an object"),
    ("no direction", _set(_op("x-async"), {}), f"{OP}/x-async/direction", "client_to_server"),
    ("bad direction", _set(_op("x-async", "direction"), "up"), f"{OP}/x-async/direction", "'up'"),
    ("operationId a number", _set(_op("operationId"), 5), f"{OP}/operationId", "non-empty string"),
    ("operationId empty", _set(_op("operationId"), ""), f"{OP}/operationId", "non-empty string"),
    ("operationId no letters", _set(_op("operationId"), "123"), f"{OP}/operationId", "no ASCII"),
    ("body a list", _set(_op("requestBody"), []), f"{OP}/requestBody", "must be an object"),
    (
        "body required",
        _set(_op("requestBody", "required"), "yes"),
        f"{OP}/requestBody/required",
        "true or false",
    ),
    (
        "no content",
        _delete(_op("requestBody", "content")),
        f"{OP}/requestBody/content",
        "needs a 'content'",
    ),
    (
        "empty content",
        _set(_op("requestBody", "content"), {}),
        f"{OP}/requestBody/content",
        "media type",
    ),
    (
        "bad media type",
        _set(_op("requestBody", "content"), {"json": {}}),
        f"{OP}/requestBody/content/json",
        "not a media type",
    ),
    (
        "media a list",
        _set(_op("requestBody", "content", "application/json"), []),
        f"{OP}/requestBody/content/application~1json",
        "must map to an object",
    ),
    (
        "dangling body ref",
        _set(_op("requestBody"), {"$ref": "#/components/requestBodies/Nope"}),
        f"{OP}/requestBody/$ref",
        "does not resolve",
    ),
    (
        "circular body ref",
        lambda d: _set(_op("requestBody"), {"$ref": "#/components/requestBodies/A"})(
            _set(["components", "requestBodies"], {"A": {"$ref": "#/components/requestBodies/A"}})(
                d
            )
        ),
        "/components/requestBodies/A/$ref",
        "circular",
    ),
    (
        "dangling schema ref",
        _set(BODY_SCHEMA, {"$ref": "#/components/schemas/Nope"}),
        f"{OP}/requestBody/content/application~1json/schema/$ref",
        "components.schemas has no 'Nope'",
    ),
    (
        "remote ref",
        _set(BODY_SCHEMA, {"$ref": "other.json#/X"}),
        f"{OP}/requestBody/content/application~1json/schema/$ref",
        "not local",
    ),
    (
        "ref not a pointer",
        _set(BODY_SCHEMA, {"$ref": "#X"}),
        f"{OP}/requestBody/content/application~1json/schema/$ref",
        "not a JSON pointer",
    ),
    (
        "ref a number",
        _set(BODY_SCHEMA, {"$ref": 5}),
        f"{OP}/requestBody/content/application~1json/schema/$ref",
        "must be a string",
    ),
    (
        "schema a number",
        _set(BODY_SCHEMA, 5),
        f"{OP}/requestBody/content/application~1json/schema",
        "a schema must be an object",
    ),
    ("components a list", _set(["components"], []), "/components", "must be an object"),
    (
        "schemas a list",
        _set(["components", "schemas"], []),
        "/components/schemas",
        "must be an object",
    ),
    (
        "bad schema name",
        _set(["components", "schemas", "a b"], {}),
        "/components/schemas/a b",
        "may only use",
    ),
    (
        "bad pattern",
        _set([*HELLO, "properties", "name", "pattern"], "("),
        "/components/schemas/Hello/properties/name/pattern",
        "not a valid regular expression",
    ),
    (
        "bad pattern key",
        _set([*HELLO, "patternProperties"], {"(": {}}),
        "/components/schemas/Hello/patternProperties",
        "not a valid regular expression",
    ),
    (
        "unknown type",
        _set([*HELLO, "properties", "name", "type"], "file"),
        "/components/schemas/Hello/properties/name/type",
        "'file' is not a JSON Schema type",
    ),
    (
        "required true",
        _set([*HELLO, "properties", "name", "required"], True),
        "/components/schemas/Hello/properties/name/required",
        "list of property names",
    ),
    (
        "enum a string",
        _set([*HELLO, "enum"], "a"),
        "/components/schemas/Hello/enum",
        "must be an array",
    ),
    (
        "properties a list",
        _set([*HELLO, "properties"], []),
        "/components/schemas/Hello/properties",
        "must be an object",
    ),
    (
        "allOf an object",
        _set([*HELLO, "allOf"], {}),
        "/components/schemas/Hello/allOf",
        "must be an array",
    ),
    (
        "schema key a number",
        _set(HELLO, {1: "x"}),
        "/components/schemas/Hello",
        "keys must be strings",
    ),
    (
        "discriminator bad",
        _set([*HELLO, "discriminator"], {"mapping": {}}),
        "/components/schemas/Hello/discriminator",
        "propertyName",
    ),
    (
        "discriminator target",
        _set([*HELLO, "discriminator"], {"propertyName": "k", "mapping": {"a": "Nope"}}),
        "/components/schemas/Hello/discriminator/mapping/a",
        "names no schema",
    ),
    (
        "discriminator mapping list",
        _set([*HELLO, "discriminator"], {"propertyName": "k", "mapping": []}),
        "/components/schemas/Hello/discriminator/mapping",
        "must be an object",
    ),
    (
        "discriminator target number",
        _set([*HELLO, "discriminator"], {"propertyName": "k", "mapping": {"a": 1}}),
        "/components/schemas/Hello/discriminator/mapping/a",
        "schema name or $ref",
    ),
    (
        "circular inline ref",
        _set([*HELLO, "properties", "me"], {"$ref": "#/components/schemas/Hello/properties/me"}),
        "/components/schemas/Hello/properties/me/$ref",
        "refers back to itself",
    ),
    (
        "hoisted clash",
        lambda d: _set(BODY_SCHEMA, {"type": "object"})(
            _set(["components", "schemas", "SayHelloRequestContent"], {})(d)
        ),
        f"{OP}/requestBody/content/application~1json/schema",
        "already a schema",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "pointer", "words"),
    [pytest.param(m, p, w, id=i) for i, m, p, w in MALFORMED],
)
def test_malformed_model(mutate: Mutation, pointer: str, words: str) -> None:
    error = spec_error(mutate(minimal()))
    assert error.pointer == pointer
    assert words in error.message
    assert str(error) == f"{error.message}{f' at {pointer}' if pointer else ''} in model.json"


def _two_operations(first: dict[str, Any], second: dict[str, Any], path: str = "/Other") -> Any:
    document = minimal(**first)
    document["paths"][path] = {"post": {"x-async": {"direction": "bidirectional"}, **second}}
    return document


def test_duplicate_operation_ids_point_at_the_second() -> None:
    error = spec_error(_two_operations({}, {"operationId": "SayHello"}))
    assert error.pointer == "/paths/~1Other/post/operationId"
    assert "also used at /paths/~1SayHello/post" in error.message


def test_operations_sharing_a_pdk_route_name() -> None:
    error = spec_error(_two_operations({"operationId": "say-hello"}, {"operationId": "sayHello"}))
    assert error.pointer == "/paths/~1Other/post"
    assert "share the PDK route name 'SayHello'" in error.message


def test_a_pdk_route_name_that_is_another_routes_key() -> None:
    error = spec_error(_two_operations({"operationId": "Other"}, {"operationId": "x"}))
    assert error.pointer == "/paths/~1SayHello/post"
    assert "route key of the operation at /paths/~1Other/post" in error.message


def test_python_names_are_made_unique_and_escaped() -> None:
    spec = load_spec(_two_operations({"operationId": "a-b-c"}, {"operationId": "a-bc"}))
    assert [op.python_name for op in spec.operations] == ["a_bc", "a_bc_2"]
    escaped = load_spec(_two_operations({"operationId": "close"}, {"operationId": "error"}))
    assert [op.python_name for op in escaped.operations] == ["close_", "error_"]
    keyword = load_spec(minimal(operationId="class"))
    assert keyword.operations[0].python_name == "class_"


def test_references_outside_components_schemas_are_resolved() -> None:
    document = minimal(requestBody={"$ref": "#/components/requestBodies/Greeting"})
    document["components"]["requestBodies"] = {
        "Greeting": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "name": {"$ref": "#/components/schemas/Hello/properties/name"},
                            "hello": {"$ref": "#/components/schemas/Hello", "description": "d"},
                            "tag": {
                                "$ref": "#/components/schemas/Hello/properties/name",
                                "minLength": 1,
                            },
                        },
                    }
                }
            },
        }
    }
    spec = load_spec(document)
    op = spec.operations[0]
    assert op.body_required
    assert op.request_schema_name == "SayHelloRequestContent"
    properties = spec.schemas["SayHelloRequestContent"]["properties"]
    assert properties["name"] == {"type": "string"}
    assert properties["hello"] == {"$ref": "#/components/schemas/Hello", "description": "d"}
    assert properties["tag"] == {"minLength": 1, "allOf": [{"type": "string"}]}


def test_path_item_references_and_json_media_types() -> None:
    document = minimal()
    document["paths"]["/Alias"] = {"$ref": "#/paths/~1SayHello"}
    with pytest.raises(SpecError, match="also used at"):
        load_spec(document)
    document = minimal(
        requestBody={"content": {"text/plain": {}, "application/vnd.x+json; v=1": {"schema": {}}}}
    )
    op = load_spec(document).operations[0]
    assert op.media_types == ("text/plain", "application/vnd.x+json; v=1")
    assert op.request_schema == {}


def test_an_empty_media_type_means_any_json() -> None:
    op = load_spec(minimal(requestBody={"content": {"application/json": None}})).operations[0]
    assert op.request_schema == {}
    assert op.media_types == ("application/json",)


def test_loading_does_not_change_the_document() -> None:
    document = minimal(
        requestBody={"content": {"application/json": {"schema": {"type": "object"}}}}
    )
    before = copy.deepcopy(document)
    spec = load_spec(document)
    assert document == before
    assert spec.document is document


# -- fuzzing ---------------------------------------------------------------------------------

WORDS = [
    "openapi",
    "3.0.3",
    "3.1.0",
    "info",
    "title",
    "paths",
    "/A",
    "/B",
    "/$x",
    "post",
    "get",
    "x-async",
    "direction",
    "client_to_server",
    "server_to_client",
    "bidirectional",
    "operationId",
    "requestBody",
    "required",
    "content",
    "application/json",
    "text/plain",
    "schema",
    "$ref",
    "#/components/schemas/A",
    "#/components/requestBodies/B",
    "#/paths",
    "#/components/schemas/A/properties/p",
    "components",
    "schemas",
    "requestBodies",
    "A",
    "B",
    "type",
    "object",
    "array",
    "string",
    "properties",
    "items",
    "allOf",
    "oneOf",
    "p",
    "enum",
    "pattern",
    "(",
    "discriminator",
    "propertyName",
    "mapping",
    "additionalProperties",
]
words = st.sampled_from(WORDS)
json_ish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | words
    | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(words, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_ish)
def test_only_spec_error_escapes_for_any_document(document: Any) -> None:
    with contextlib.suppress(SpecError):
        load_spec(
            document if isinstance(document, dict) else {"openapi": "3.0.0", "paths": document}
        )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_ish, st.sampled_from(["paths", "components", "requestBody", "schema", "x-async"]))
def test_only_spec_error_escapes_for_a_damaged_model(value: Any, where: str) -> None:
    document = minimal()
    target = {
        "paths": document,
        "components": document,
        "requestBody": document["paths"]["/SayHello"]["post"],
        "schema": document["paths"]["/SayHello"]["post"]["requestBody"]["content"][
            "application/json"
        ],
        "x-async": document["paths"]["/SayHello"]["post"],
    }[where]
    target[where] = value
    with contextlib.suppress(SpecError):
        load_spec(document)


@given(st.text(max_size=60))
def test_only_spec_error_escapes_for_any_json_text(text: str) -> None:
    with contextlib.suppress(SpecError):
        load_spec("{" + text)
