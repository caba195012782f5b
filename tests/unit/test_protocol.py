"""The wire codec: frames as the PDK client writes them, inbound frames sorted as it sorts them."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsapi_client._errors import ValidationError
from wsapi_client.protocol import (
    NO_PAYLOAD,
    GatewayError,
    Ignored,
    Malformed,
    RouteMessage,
    classify,
    encode,
)

# (route, payload, what JSON.stringify({route, payload}) gives under Node.js)
JSON_STRINGIFY = [
    ("SayHello", {"name": "Jack"}, '{"route":"SayHello","payload":{"name":"Jack"}}'),
    ("Empty", NO_PAYLOAD, '{"route":"Empty"}'),
    ("R", None, '{"route":"R","payload":null}'),
    (
        "R",
        {
            "s": 'é\u2028\x7f\x00\x1f"\\/\t\n',
            "e": "\U0001f600",
            "n": [1, -2, 0.5, True, False, None],
        },
        '{"route":"R","payload":{"s":"é\u2028\x7f\\u0000\\u001f\\"\\\\/\\t\\n",'
        '"e":"\U0001f600","n":[1,-2,0.5,true,false,null]}}',
    ),
    ("R", "\ud800", '{"route":"R","payload":"\\ud800"}'),
    ("R", {"k\ud800": "\udc00x"}, '{"route":"R","payload":{"k\\ud800":"\\udc00x"}}'),
    ("Wörld", [[], {}], '{"route":"Wörld","payload":[[],{}]}'),
]


@pytest.mark.parametrize(("route", "payload", "frame"), JSON_STRINGIFY)
def test_encode_matches_json_stringify(route: str, payload: Any, frame: str) -> None:
    assert encode(route, payload) == frame
    frame.encode("utf-8")  # always valid UTF-8 on the wire


def test_encode_defaults_to_no_payload() -> None:
    assert encode("Empty") == '{"route":"Empty"}'


def test_a_surrogate_pair_is_written_as_the_character_javascript_sees() -> None:
    assert encode("R", "\ud83d\ude00") == '{"route":"R","payload":"\U0001f600"}'


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        (float("nan"), "", "finite number"),
        ({"legs": [{"px": 1.0}, {"px": float("inf")}]}, "legs[1].px", "finite number"),
        ({"tags": {"a b": float("-inf")}}, 'tags["a b"]', "finite number"),
        ({"at": object()}, "at", "not JSON data: object"),
        ({"k": {(1, 2): 3}}, "k", "key JSON cannot hold"),
    ],
)
def test_encode_refuses_what_json_cannot_hold(payload: Any, path: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        encode("Order", payload)
    assert caught.value.path == path
    assert caught.value.route == "Order"
    assert words in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_encode_refuses_a_circular_payload() -> None:
    payload: dict[str, Any] = {"items": []}
    payload["items"].append(payload)
    with pytest.raises(ValidationError, match="circular") as caught:
        encode("R", payload)
    assert caught.value.path == "items[0]"


def test_encode_refuses_a_route_that_is_not_a_string() -> None:
    with pytest.raises(ValidationError, match="route must be a string"):
        encode(5, {})  # type: ignore[arg-type]


def test_no_payload_is_a_falsy_singleton() -> None:
    assert repr(NO_PAYLOAD) == "NO_PAYLOAD"
    assert not NO_PAYLOAD
    assert type(NO_PAYLOAD)() is NO_PAYLOAD
    assert pickle.loads(pickle.dumps(NO_PAYLOAD)) is NO_PAYLOAD


# -- classify ----------------------------------------------------------------------------------


def test_binary_and_empty_frames_are_ignored() -> None:
    assert classify(b'{"route":"X"}') == Ignored("binary")
    assert classify(bytearray(b"x")) == Ignored("binary")
    assert classify("") == Ignored("empty")


def test_gateway_error_keeps_its_ids() -> None:
    raw = '{"message": "Forbidden", "connectionId":"abc=", "requestId":"r-1"}'
    assert classify(raw) == GatewayError("Forbidden", "abc=", "r-1", raw)


def test_gateway_error_without_ids() -> None:
    raw = '{"message":"Internal server error"}'
    assert classify(raw) == GatewayError("Internal server error", None, None, raw)
    raw = '{"message":"Endpoint request timed out","connectionId":5}'
    assert classify(raw) == GatewayError("Endpoint request timed out", None, None, raw)


def test_a_string_message_wins_over_a_route() -> None:
    raw = '{"route":"SendGreeting","message":"hello"}'
    assert isinstance(classify(raw), GatewayError)


def test_a_non_string_message_falls_through_to_the_route() -> None:
    raw = '{"route":"SendGreeting","payload":{"message":1},"message":{"text":"hi"}}'
    assert classify(raw) == RouteMessage("SendGreeting", {"message": 1}, raw)


def test_route_message_without_payload() -> None:
    assert classify('{"route":"Ping"}') == RouteMessage("Ping", None, '{"route":"Ping"}')


@pytest.mark.parametrize("raw", ["[]", '[{"route":"X"}]', "{}", '{"route":5}', '{"data":1}'])
def test_other_json_is_unexpected(raw: str) -> None:
    assert classify(raw) == Malformed("unexpected", f"Unexpected data received {raw}", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "nope",
        "{",
        "1",
        '"text"',
        "null",
        "true",
        " ",
        '{"route":"X",}',
        "NaN",
        '{"a":Infinity}',
        "\ufeff{}",
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_not_a_json_object_is_a_parse_failure(raw: str) -> None:
    assert classify(raw) == Malformed("parse", f"Failed to parse received data {raw}", raw)


def test_numbers_javascript_would_read() -> None:
    huge = "9" * 5000
    message = classify(f'{{"route":"R","payload":[{huge},1e400]}}')
    assert isinstance(message, RouteMessage)
    assert message.payload[0] > 10**4000
    assert message.payload[1] == float("inf")


def test_results_are_immutable() -> None:
    message = classify('{"route":"R"}')
    with pytest.raises(AttributeError):
        message.route = "other"  # type: ignore[misc,union-attr]


# -- properties --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


@given(st.text(min_size=1), json_values)
def test_encode_then_classify_round_trips(route: str, payload: Any) -> None:
    frame = encode(route, payload)
    assert json.loads(frame) == {"route": route, "payload": payload}
    assert list(json.loads(frame)) == ["route", "payload"]
    assert classify(frame) == RouteMessage(route, payload, frame)


@given(st.text(min_size=1))
def test_encode_without_payload_round_trips(route: str) -> None:
    frame = encode(route)
    assert classify(frame) == RouteMessage(route, None, frame)


any_characters = st.characters(blacklist_categories=())


def _as_javascript_sees(text: str) -> str:
    """Adjacent high and low surrogates joined into one character, lone ones kept."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


@given(st.text(any_characters), st.text(any_characters))
def test_lone_surrogates_survive_as_escapes(route: str, text: str) -> None:
    frame = encode(route, {"t": text})
    frame.encode("utf-8")
    expected = {"route": _as_javascript_sees(route), "payload": {"t": _as_javascript_sees(text)}}
    assert json.loads(frame) == expected


@given(st.one_of(st.text(any_characters), st.binary(), st.builds(str, json_values)))
def test_classify_never_raises(data: Any) -> None:
    result = classify(data)
    assert isinstance(result, (Ignored, GatewayError, RouteMessage, Malformed))


@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", '{"a":']))
def test_classify_survives_deep_nesting(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    assert isinstance(classify(opener * depth + "1" + closer * depth), Malformed)
