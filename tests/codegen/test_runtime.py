"""The run-time helpers generated packages import (:mod:`wsapi_client.codegen.runtime`)."""

from __future__ import annotations

import datetime
from typing import Any, Optional, Union

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsapi_client import SpecError, ValidationError
from wsapi_client._validation import compile_validator
from wsapi_client.codegen.runtime import (
    ModelWire,
    UnionWire,
    build_payload,
    format_date,
    format_datetime,
    load_document,
    make_converter,
    parse_date,
    parse_datetime,
)

UTC = datetime.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31T12:00:00Z", datetime.datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31t12:00:00z", datetime.datetime(2024, 1, 31, 12, tzinfo=UTC)),
        ("2024-01-31T12:00:00.5Z", datetime.datetime(2024, 1, 31, 12, 0, 0, 500000, tzinfo=UTC)),
        (
            "2024-01-31T12:00:00.123456789+01:30",
            datetime.datetime(
                2024, 1, 31, 12, 0, 0, 123456, datetime.timezone(datetime.timedelta(minutes=90))
            ),
        ),
        (
            "2024-01-31T12:00:00-00:30",
            datetime.datetime(
                2024, 1, 31, 12, tzinfo=datetime.timezone(-datetime.timedelta(minutes=30))
            ),
        ),
        ("2016-12-31T23:59:60Z", datetime.datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text: str, expected: datetime.datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31",
        "2024-01-31T12:00:00",
        "2024-01-31 12:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-31T12:00:00+01:60",
        "2024-01-31T12:00:00+24:00",
        "2024-01-31T24:00:00Z",
    ],
)
def test_parse_datetime_refuses_what_is_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError, match=r"not an RFC 3339 date-time|out of range|must be in"):
        parse_datetime(text)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(TypeError, match="got a number"):
        parse_datetime(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got null"):
        parse_date(None)  # type: ignore[arg-type]


def test_format_datetime() -> None:
    assert format_datetime(datetime.datetime(2024, 1, 31, 12, tzinfo=UTC)) == "2024-01-31T12:00:00Z"
    odd = datetime.timezone(datetime.timedelta(seconds=30))
    assert format_datetime(datetime.datetime(2024, 1, 31, 12, tzinfo=odd)) == "2024-01-31T11:59:30Z"
    with pytest.raises(ValidationError, match="no time zone"):
        format_datetime(datetime.datetime(2024, 1, 31))
    with pytest.raises(ValidationError, match="expected a datetime, got a string"):
        format_datetime("2024-01-31")  # type: ignore[arg-type]


def test_dates() -> None:
    assert parse_date("2024-02-29") == datetime.date(2024, 2, 29)
    assert format_date(datetime.date(2024, 2, 29)) == "2024-02-29"
    with pytest.raises(ValueError, match="not an RFC 3339 date"):
        parse_date("20240229")
    with pytest.raises(ValidationError, match="expected a date"):
        format_date(datetime.datetime(2024, 2, 29, tzinfo=UTC))


_DATE_TIME_ISH = st.from_regex(
    r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-2][0-9]:[0-6][0-9])?\Z"
)


@given(_DATE_TIME_ISH)
def test_parse_datetime_accepts_exactly_what_the_validator_accepts(text: str) -> None:
    """Both paths agree: a string the validator passes structures, and the other way round."""
    validate = compile_validator({"type": "string", "format": "date-time"}, {})
    try:
        validate(text)
        valid = True
    except ValidationError:
        valid = False
    try:
        parse_datetime(text)
        parsed = True
    except ValueError:
        parsed = False
    assert valid == parsed


@attrs.frozen(kw_only=True)
class Point:
    x_pos: int
    label: Optional[str] = None


def test_build_payload() -> None:
    assert build_payload(Point, None, {"x_pos": 1}) == Point(x_pos=1)
    point = Point(x_pos=2)
    assert build_payload(Point, point, {}) is point
    with pytest.raises(TypeError, match="not both"):
        build_payload(Point, point, {"label": "a"})
    with pytest.raises(TypeError, match="expected a Point, got dict"):
        build_payload(Point, {"x_pos": 1}, {})  # type: ignore[arg-type]


def test_converter_renames_and_omits() -> None:
    conv = make_converter({Point: ModelWire(rename={"x_pos": "xPos"}, omit_if_none=("label",))})
    assert conv.unstructure(Point(x_pos=1)) == {"xPos": 1}
    assert conv.unstructure(Point(x_pos=1, label="a")) == {"xPos": 1, "label": "a"}
    assert conv.structure({"xPos": 1, "other": True}, Point) == Point(x_pos=1)


def test_union_wire_needs_a_union() -> None:
    with pytest.raises(TypeError, match="must be a Union"):
        make_converter({}, unions=[UnionWire(type=Point)])


def test_first_fit_union_of_scalars() -> None:
    conv = make_converter({}, unions=[UnionWire(type=Union[int, str])])
    hook: Any = conv.get_structure_hook(Union[int, str])
    assert hook(1, Union[int, str]) == 1
    assert hook("1", Union[int, str]) == "1"
    with pytest.raises(ValueError, match="a boolean fits none of int, str"):
        hook(True, Union[int, str])
    assert conv.structure(None, Optional[Union[int, str]]) is None


def test_load_document(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "docpkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "_model.json").write_text('{"openapi": "3.0.3"}', encoding="utf-8")
    (package / "bad.json").write_text("[1]", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_document("docpkg") == {"openapi": "3.0.3"}
    with pytest.raises(SpecError, match="not a JSON object"):
        load_document("docpkg", "bad.json")
    with pytest.raises(SpecError, match="needs the generated package's name"):
        load_document(None)
