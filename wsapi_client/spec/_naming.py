"""The naming rules of the AWS PDK and of the Python names we generate from a model.

The PDK derives its names with two JavaScript libraries, and a server or client built with it
depends on the exact result, so both are ported here rule for rule:

- npm ``camelcase@6`` (:func:`camelcase`) names operations: the PDK's operation name is
  ``camelcase(operationId)`` (after the parser's clean-up, :func:`pdk_operation_name`) and the
  route its server SDK writes is ``upperFirst`` of that (:func:`server_route_name`),
  ``GetHTTPThing`` -> ``GetHttpThing``.
- lodash ``camelCase`` (:func:`lodash_camel_case`) names an operation without an operationId
  (:func:`fallback_operation_name`, ``/without-operation-id`` post -> ``withoutOperationIdPost``)
  and the request bodies it hoists (:func:`pascal_case`, ``<Op>RequestContent``).

Python names (:func:`snake_case`, :func:`python_identifier`) follow the PDK's own Python
generators (openapi-generator's snake_case) and escape keywords and reserved names with a
trailing ``_``.

Every function is pure. Case mapping uses Python's Unicode database, which may be an older
Unicode version than a current Node.js; for letters added since, results can differ.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "PYTHON_KEYWORDS",
    "RESERVED_METHOD_NAMES",
    "camelcase",
    "fallback_operation_name",
    "hoisted_request_schema_name",
    "lodash_camel_case",
    "pascal_case",
    "pdk_operation_name",
    "python_identifier",
    "server_route_name",
    "snake_case",
    "upper_first",
]

RESERVED_METHOD_NAMES: frozenset[str] = frozenset(
    {
        "auth",
        "batch",
        "close",
        "connect",
        "connect_timeout",
        "disconnect",
        "expect",
        "flush",
        "keepalive",
        "logger",
        "max_connection_age",
        "max_frame_size",
        "max_inbound_message_size",
        "max_message_size",
        "messages",
        "name",
        "on",
        "on_any_message",
        "on_error",
        "on_state_change",
        "queue_policy",
        "reconnect_policy",
        "send",
        "send_many",
        "spec",
        "spec_document",
        "start",
        "state",
        "stats",
        "url",
        "validate",
        "wait_for",
        "wait_until_connected",
        "with_reconnect",
    }
)
"""Public names of ``WebSocketClient``: a generated method or field with one of these names
would hide the client's own, so :func:`python_identifier` escapes them when asked to."""

PYTHON_KEYWORDS: frozenset[str] = frozenset(keyword.kwlist) - {"__peg_parser__"} | {
    "async",
    "await",
}
"""Hard keywords, the same on every supported Python. Soft keywords (``match``, ``case``,
``type``, ``_``) are valid names for attributes, parameters and methods, so they stay."""

# ---------------------------------------------------------------------------------------------
# npm camelcase@6 (default options: pascalCase false, preserveConsecutiveUppercase false)
# ---------------------------------------------------------------------------------------------

# String.prototype.trim() removes WhiteSpace and LineTerminator code points; str.strip() would
# also remove U+001C..U+001F and U+0085, and would keep U+FEFF.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_SEPARATORS = frozenset("_.- ")


def _is_identifier_char(char: str) -> bool:
    """``[\\p{Alpha}\\p{N}_]`` for one code point (Other_Alphabetic marks are not covered)."""
    return char == "_" or char.isalpha() or char.isnumeric()


def _js_is_lower(char: str) -> bool:
    return char.lower() == char and char.upper() != char


def _js_is_upper(char: str) -> bool:
    return char.upper() == char and char.lower() != char


def _split_camel_humps(text: str) -> str:
    """Insert ``-`` at the humps of camelCase text, as camelcase's ``preserveCamelCase`` does.

    ``-`` goes before an uppercase letter that follows a lowercase one (``fooBar``), and before
    the last of a run of uppercase letters when a lowercase one follows (``XMLHttp``).
    JavaScript walks UTF-16 code units, so a character outside the BMP counts as two code units
    that are neither upper nor lower case.
    """
    out: list[str] = []
    last_lower = last_upper = last_last_upper = False
    for char in text:
        if ord(char) > 0xFFFF:
            out.append(char)
            last_lower = last_upper = last_last_upper = False
            continue
        category = unicodedata.category(char)
        if last_lower and category == "Lu":
            out.append("-")
            out.append(char)
            last_lower = False
            last_last_upper = last_upper
            last_upper = True
        elif last_upper and last_last_upper and category == "Ll":
            out.insert(len(out) - 1, "-")
            out.append(char)
            last_last_upper = last_upper
            last_upper = False
            last_lower = True
        else:
            out.append(char)
            last_lower = _js_is_lower(char)
            last_last_upper = last_upper
            last_upper = _js_is_upper(char)
    return "".join(out)


def _upper_after_separators(text: str) -> str:
    """``/[_.\\- ]+([\\p{Alpha}\\p{N}_]|$)/gu`` replaced by the upper-cased identifier character.

    A run of separators followed by an identifier character (or the end) collapses into that
    character upper-cased. Otherwise the regex backtracks to the last ``_`` of the run (``_`` is
    an identifier character too) and the separators after it stay.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char not in _SEPARATORS:
            out.append(char)
            i += 1
            continue
        j = i
        while j < n and text[j] in _SEPARATORS:
            j += 1
        if j == n:
            return "".join(out)
        if _is_identifier_char(text[j]):
            out.append(text[j].upper())
            i = j + 1
            continue
        last_underscore = text.rfind("_", i + 1, j)
        if last_underscore == -1:
            out.append(text[i:j])
        else:
            out.append("_")
            out.append(text[last_underscore + 1 : j])
        i = j
    return "".join(out)


def _upper_after_digits(text: str) -> str:
    """``/\\d+([\\p{Alpha}\\p{N}_]|$)/gu`` upper-cased: the character after ASCII digits."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        out.append(char)
        i += 1
        if "0" <= char <= "9":
            while i < n and "0" <= text[i] <= "9":
                out.append(text[i])
                i += 1
            if i < n and _is_identifier_char(text[i]):
                out.append(text[i].upper())
                i += 1
    return "".join(out)


def camelcase(text: str) -> str:
    """npm ``camelcase@6`` with its default options: ``GetHTTPThing`` -> ``getHttpThing``.

    ``foo-bar`` -> ``fooBar``, ``__foo__bar__`` -> ``fooBar``, ``FOO`` -> ``foo``,
    ``Hello1world`` -> ``hello1World``, ``foo bar?`` -> ``fooBar?``. Characters other than
    ``_ . -`` and space are kept.
    """
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return ""
    if len(text) == 1:
        return text.lower()
    if text != text.lower():
        text = _split_camel_humps(text)
    text = text.lstrip("_.- ").lower()
    return _upper_after_digits(_upper_after_separators(text))


def upper_first(text: str) -> str:
    """The first character upper-cased, the rest unchanged (lodash ``upperFirst``)."""
    return text[:1].upper() + text[1:]


_NOT_LEADING_LETTER = re.compile(r"^[^a-zA-Z]+")
_NOT_WORD_OR_DASH = re.compile(r"[^A-Za-z0-9_\-]+")


def pdk_operation_name(operation_id: str) -> str:
    """The PDK's name for an operation with an operationId: ``GetHTTPThing`` -> ``getHttpThing``.

    The PDK's OpenAPI parser drops leading characters that are not ASCII letters, turns runs of
    other characters than ``[A-Za-z0-9_-]`` into ``-``, then applies :func:`camelcase`. It is the
    generated TypeScript client's method name.
    """
    cleaned = _NOT_WORD_OR_DASH.sub("-", _NOT_LEADING_LETTER.sub("", operation_id))
    return camelcase(cleaned.strip(_JS_WHITESPACE))


def server_route_name(operation_id: str) -> str:
    """The route the PDK server SDK writes: ``upperFirst(camelcase(operationId))``.

    ``GetHTTPThing`` -> ``GetHttpThing``, ``sayHello`` -> ``SayHello``.
    """
    return upper_first(pdk_operation_name(operation_id))


# ---------------------------------------------------------------------------------------------
# lodash camelCase (words() with lodash's Unicode word pattern, deburr)
# ---------------------------------------------------------------------------------------------

# Latin-1 Supplement and Latin Extended-A letters that lodash's deburr maps to something other
# than their compatibility decomposition without marks.
_DEBURR_EXCEPTIONS = {
    "\u00c6": "Ae",
    "\u00d0": "D",
    "\u00d8": "O",
    "\u00de": "Th",
    "\u00df": "ss",
    "\u00e6": "ae",
    "\u00f0": "d",
    "\u00f8": "o",
    "\u00fe": "th",
    "\u0110": "D",
    "\u0111": "d",
    "\u0126": "H",
    "\u0127": "h",
    "\u0131": "i",
    "\u0138": "k",
    "\u013f": "L",
    "\u0140": "l",
    "\u0141": "L",
    "\u0142": "l",
    "\u0149": "'n",
    "\u014a": "N",
    "\u014b": "n",
    "\u0152": "Oe",
    "\u0153": "oe",
    "\u0166": "T",
    "\u0167": "t",
}


def _deburr_letter(char: str) -> str:
    special = _DEBURR_EXCEPTIONS.get(char)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_LATIN_LETTERS = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u017f]")
_COMBINING_MARKS = re.compile("[\u0300-\u036f\ufe20-\ufe2f\u20d0-\u20ff]")
_APOSTROPHES = re.compile("['\u2019]")

# lodash's character classes, written for Python's re. Input is matched as UTF-16 code units
# (see _to_utf16_units) so that the surrogate classes mean what they mean in JavaScript.
_BREAK = (
    "\u00ac\u00b1\u00d7\u00f7"  # math operators
    "\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\xbf"  # ASCII and Latin-1 non-letters
    "\u2000-\u206f"  # general punctuation
    " \\t\\x0b\\f\u00a0\ufeff\\n\\r\u2028\u2029\u1680\u180e\u202f\u205f\u3000"  # spaces
)
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff"
_DINGBATS = "\u2700-\u27bf"
_SURROGATES = "\ud800-\udfff"
_R_UPPER = f"[{_UPPER}]"
_R_LOWER = f"[{_LOWER}]"
_R_BREAK = f"[{_BREAK}]"
_R_MISC = f"[^{_SURROGATES}{_BREAK}0-9+{_DINGBATS}{_LOWER}{_UPPER}]"
_R_MISC_LOWER = f"(?:{_R_LOWER}|{_R_MISC})"
_R_MISC_UPPER = f"(?:{_R_UPPER}|{_R_MISC})"
_R_FITZ = "\ud83c[\udffb-\udfff]"
_R_MODIFIER = f"(?:[\u0300-\u036f\ufe20-\ufe2f\u20d0-\u20ff]|{_R_FITZ})"
_R_REGIONAL = "(?:\ud83c[\udde6-\uddff]){2}"
_R_SURROGATE_PAIR = "[\ud800-\udbff][\udc00-\udfff]"
_R_OPT_VARIATION = "[\ufe0e\ufe0f]?"
_R_OPT_JOIN = (
    f"(?:\u200d(?:[^{_SURROGATES}]|{_R_REGIONAL}|{_R_SURROGATE_PAIR})"
    f"{_R_OPT_VARIATION}{_R_MODIFIER}?)*"
)
_R_EMOJI = (
    f"(?:[{_DINGBATS}]|{_R_REGIONAL}|{_R_SURROGATE_PAIR})"
    f"{_R_OPT_VARIATION}{_R_MODIFIER}?{_R_OPT_JOIN}"
)
_LODASH_WORD = re.compile(
    "|".join(
        [
            f"{_R_UPPER}?{_R_LOWER}+(?={_R_BREAK}|{_R_UPPER}|\\Z)",
            f"{_R_MISC_UPPER}+(?={_R_BREAK}|{_R_UPPER}{_R_MISC_LOWER}|\\Z)",
            f"{_R_UPPER}?{_R_MISC_LOWER}+",
            f"{_R_UPPER}+",
            "[0-9]*(?:1ST|2ND|3RD|(?![123])[0-9]TH)(?=\\b|[a-z_])",
            "[0-9]*(?:1st|2nd|3rd|(?![123])[0-9]th)(?=\\b|[A-Z_])",
            "[0-9]+",
            _R_EMOJI,
        ]
    ),
    re.ASCII,
)
_HAS_UNICODE_WORD = re.compile("[a-z][A-Z]|[A-Z]{2}[a-z]|[0-9][a-zA-Z]|[a-zA-Z][0-9]|[^a-zA-Z0-9 ]")
_ASCII_WORD = re.compile("[^\\x00-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7f]+")


def _to_utf16_units(text: str) -> str:
    """``text`` with every character outside the BMP split into its two surrogates."""
    if all(ord(c) <= 0xFFFF for c in text):
        return text
    units: list[str] = []
    for char in text:
        code = ord(char)
        if code <= 0xFFFF:
            units.append(char)
        else:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
    return "".join(units)


def _from_utf16_units(text: str) -> str:
    """Join surrogate pairs back into characters; a lone surrogate stays as it is."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _lodash_words(text: str) -> list[str]:
    if _HAS_UNICODE_WORD.search(text):
        units = _to_utf16_units(text)
        return [_from_utf16_units(m) for m in _LODASH_WORD.findall(units)]
    return _ASCII_WORD.findall(text)


_HAS_UNICODE = re.compile(
    "[\u200d\ud800-\udfff\u0300-\u036f\ufe20-\ufe2f\u20d0-\u20ff\ufe0e\ufe0f]"
)
_R_SYMBOL = (
    f"(?:[^{_SURROGATES}][\u0300-\u036f\ufe20-\ufe2f\u20d0-\u20ff]?"
    f"|[\u0300-\u036f\ufe20-\ufe2f\u20d0-\u20ff]|{_R_REGIONAL}|{_R_SURROGATE_PAIR}"
    f"|[{_SURROGATES}])"
)
_FIRST_SYMBOL = re.compile(
    f"{_R_FITZ}(?={_R_FITZ})|{_R_SYMBOL}{_R_OPT_VARIATION}{_R_MODIFIER}?{_R_OPT_JOIN}"
)


def _lodash_upper_first(word: str) -> str:
    """lodash ``upperFirst``: the first symbol (marks and joined characters too) upper-cased."""
    units = _to_utf16_units(word)
    if not _HAS_UNICODE.search(units):
        return upper_first(word)
    first = _FIRST_SYMBOL.match(units)
    end = first.end() if first else 1
    return _from_utf16_units(units[:end]).upper() + _from_utf16_units(units[end:])


def lodash_camel_case(text: str) -> str:
    """lodash ``camelCase``: words split at case humps, digits and punctuation, joined.

    ``-without-operation-id-post`` -> ``withoutOperationIdPost``, ``GetHTTPThing`` ->
    ``getHttpThing``, ``TypeScript`` -> ``typeScript``, ``foo2bar`` -> ``foo2Bar``.
    Latin letters lose their accents (``deburr``) and apostrophes are dropped.
    """
    text = _LATIN_LETTERS.sub(lambda m: _deburr_letter(m.group()), text)
    text = _APOSTROPHES.sub("", _COMBINING_MARKS.sub("", text))
    words = _lodash_words(text)
    return "".join(
        word.lower() if index == 0 else _lodash_upper_first(word.lower())
        for index, word in enumerate(words)
    )


def pascal_case(name: str) -> str:
    """A class name the way the PDK names hoisted schemas: ``upperFirst(camelCase(name))``.

    ``sayHello`` -> ``SayHello``, ``GetHTTPThing`` -> ``GetHttpThing``, ``my-op`` -> ``MyOp``.
    """
    return upper_first(lodash_camel_case(name))


_PATH_PARAMETER = re.compile(r"{(.*?)}")
_PATH_SEPARATORS = re.compile(r"[/:]")


def fallback_operation_name(path: str, method: str) -> str:
    """The PDK's name for an operation without an operationId.

    ``{param}`` becomes ``by-param``, ``/`` and ``:`` become ``-``, the method is appended, and
    the result goes through lodash ``camelCase`` (openapi-generator's convention, which the PDK
    keeps): ``/without-operation-id`` post -> ``withoutOperationIdPost``,
    ``/users/{id}`` get -> ``usersByIdGet``.
    """
    dashed = _PATH_SEPARATORS.sub("-", _PATH_PARAMETER.sub(r"by-\1", path))
    return lodash_camel_case(f"{dashed}-{method.lower()}")


def hoisted_request_schema_name(operation_id: str | None, path: str, method: str) -> str:
    """The name the PDK gives an inline request body schema when it hoists it.

    ``upperFirst(camelCase(operationId ?? path + "-" + method)) + "RequestContent"``:
    ``TypeScript`` -> ``TypeScriptRequestContent``.
    """
    base = operation_id if operation_id else f"{path}-{method.lower()}"
    return f"{pascal_case(base)}RequestContent"


# ---------------------------------------------------------------------------------------------
# Python names
# ---------------------------------------------------------------------------------------------

_ACRONYM_THEN_WORD = re.compile(r"([A-Z]+)([A-Z][a-z][a-z]+)")
_LOWER_OR_DIGIT_THEN_UPPER = re.compile(r"([a-z\d])([A-Z])")
_DASH_OR_SPACE = re.compile(r"[-\s]")


def snake_case(name: str) -> str:
    """snake_case as the PDK's Python generators write it (openapi-generator's rule).

    ``placedAt`` -> ``placed_at``, ``GetHTTPThing`` -> ``get_http_thing``, ``myInput`` ->
    ``my_input``, ``HTTPServer2Go`` -> ``http_server2_go``, ``IDs`` -> ``ids``. An underscore
    goes after digits before a capital but not before digits; ``-`` and spaces become ``_``.
    """
    text = name.replace("$", "__")
    text = _ACRONYM_THEN_WORD.sub(r"\1_\2", text)
    text = _LOWER_OR_DIGIT_THEN_UPPER.sub(r"\1_\2", text)
    return _DASH_OR_SPACE.sub("_", text).lower()


_NOT_IDENTIFIER_CHAR = re.compile(r"\W")


def python_identifier(name: str, reserved: Iterable[str] = frozenset()) -> str:
    """``name`` made a valid Python identifier that is no keyword and not in ``reserved``.

    Characters that cannot appear in an identifier become ``_``; a leading digit gets an ``n``
    in front (``2fa`` -> ``n2fa``: a leading ``_`` would make attrs drop it from the
    ``__init__`` argument); an empty name becomes ``_``. A hard keyword or a reserved name gets
    a trailing ``_`` (``class`` -> ``class_``, and ``close`` -> ``close_`` when ``close`` is
    reserved), repeated until the name is free. The name is NFKC-normalised first, as Python
    itself normalises identifiers.
    """
    taken = reserved if isinstance(reserved, (set, frozenset)) else frozenset(reserved)
    text = _NOT_IDENTIFIER_CHAR.sub("_", unicodedata.normalize("NFKC", name))
    if not text:
        text = "_"
    if not text.isidentifier():
        # \w admits characters that may not start an identifier (digits, some marks).
        text = f"n{text}"
        if not text.isidentifier():
            text = "".join(c if ("a" + c).isidentifier() else "_" for c in text)
    while text in PYTHON_KEYWORDS or text in taken:
        text += "_"
    return text
