"""The PDK naming rules (npm camelcase@6, lodash camelCase) and the Python names."""

from __future__ import annotations

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsapi_client.spec._naming import (
    PYTHON_KEYWORDS,
    RESERVED_METHOD_NAMES,
    camelcase,
    fallback_operation_name,
    hoisted_request_schema_name,
    lodash_camel_case,
    pascal_case,
    pdk_operation_name,
    python_identifier,
    server_route_name,
    snake_case,
    upper_first,
)

# The behaviour camelcase@6's own test suite pins down (default options).
CAMELCASE_V6 = [
    ("foo", "foo"),
    ("foo-bar", "fooBar"),
    ("foo-bar-baz", "fooBarBaz"),
    ("foo--bar", "fooBar"),
    ("--foo-bar", "fooBar"),
    ("--foo--bar", "fooBar"),
    ("FOO-BAR", "fooBar"),
    ("FOÈ-BAR", "foèBar"),
    ("-foo-bar-", "fooBar"),
    ("--foo--bar--", "fooBar"),
    ("foo-1", "foo1"),
    ("foo.bar", "fooBar"),
    ("foo..bar", "fooBar"),
    ("..foo..bar..", "fooBar"),
    ("foo_bar", "fooBar"),
    ("__foo__bar__", "fooBar"),
    ("foo bar", "fooBar"),
    ("  foo  bar  ", "fooBar"),
    ("-", "-"),
    (" - ", "-"),
    ("fooBar", "fooBar"),
    ("fooBar-baz", "fooBarBaz"),
    ("foìBar-baz", "foìBarBaz"),
    ("fooBarBaz-bazzy", "fooBarBazBazzy"),
    ("FBBazzy", "fbBazzy"),
    ("F", "f"),
    ("FooBar", "fooBar"),
    ("Foo", "foo"),
    ("FOO", "foo"),
    ("--", ""),
    ("", ""),
    ("--__--_--_", ""),
    ("foo bar?", "fooBar?"),
    ("foo bar!", "fooBar!"),
    ("foo bar$", "fooBar$"),
    ("foo-bar#", "fooBar#"),
    ("XMLHttpRequest", "xmlHttpRequest"),
    ("AjaxXMLHttpRequest", "ajaxXmlHttpRequest"),
    ("Ajax-XMLHttpRequest", "ajaxXmlHttpRequest"),
    ("mGridCol6@md", "mGridCol6@md"),
    ("A::a", "a::a"),
    ("Hello1World", "hello1World"),
    ("Hello11World", "hello11World"),
    ("hello1world", "hello1World"),
    ("Hello1World11foo", "hello1World11Foo"),
    ("Hello1", "hello1"),
    ("hello1", "hello1"),
    ("1Hello", "1Hello"),
    ("1hello", "1Hello"),
    ("h2w", "h2W"),
    ("розовый_пушистый-единороги", "розовыйПушистыйЕдинороги"),
    ("РОЗОВЫЙ_ПУШИСТЫЙ-ЕДИНОРОГИ", "розовыйПушистыйЕдинороги"),
    ("桑德在这里。", "桑德在这里。"),
    ("桑德_在这里。", "桑德在这里。"),
    # and the names this project cares about
    ("GetHTTPThing", "getHttpThing"),
    ("sayHello", "sayHello"),
    ("SayHello", "sayHello"),
    ("IDs", "iDs"),
    ("FooIDs", "fooIDs"),
    # not idempotent, like the npm package (checked with camelcase@6 under node)
    ("aA.A", "aAA"),
    ("aAA", "aAa"),
]


@pytest.mark.parametrize(("text", "expected"), CAMELCASE_V6)
def test_camelcase_matches_camelcase_v6(text: str, expected: str) -> None:
    assert camelcase(text) == expected


# Outputs of camelcase@6.3.0 and lodash@4.17 under Node.js for generated inputs: (input,
# camelcase(input), lodash.camelCase(input)). They pin the corner cases (separators before
# punctuation, ordinals, digits, Latin letters that lodash deburrs, astral characters).
ORACLE = [
    (" #9-1st", "#91St", "91st"),
    (" $2ND", "$2Nd", "2nd"),
    (" 2NDABPost'", "2NdabPost'", "2NdabPost"),
    (" 2ND\xc9", "2Nd\xe9", "2Nde"),
    (" HTTP#'", "http#'", "http"),
    (" \xa0Thing", "thing", "thing"),
    (" \U0001f6000b", "\U0001f6000B", "\U0001f6000B"),
    ("#", "#", ""),
    ("#. \xe92ND", "#\xc92Nd", "e2nd"),
    ("#getBPost", "#getBPost", "getBPost"),
    ("#\U0001f600{id}a", "#\U0001f600{id}a", "\U0001f600IdA"),
    ("$", "$", ""),
    ("$ @ID", "$ @id", "id"),
    ("${id}@\xe9", "${id}@\xe9", "idE"),
    ("'9a_", "'9A", "9A"),
    ("'\xc9\xe9 ", "'\xe9\xe9", "ee"),
    ("-HTTP\xc9{id}\u04340", "http\xe9{id}\u04340", "httpeId\u04140"),
    ("-_0\u0414\u0414", "0\u0414\u0434", "0\u0414\u0434"),
    ("-\xc9A{id}2ND_", "\xe9a{id}2Nd", "eaId2nd"),
    (".", ".", ""),
    ("./\xc9A", "/\xe9a", "ea"),
    (".\xe9?\xdf\xa0-", "\xe9?\xdf\xa0", "eSs"),
    ("/", "/", ""),
    ("/$0.9 ", "/$09", "09"),
    ("/-get\u0414XML", "/Get\u0414xml", "get\u0434Xml"),
    ("/2NDThing'\u0434#", "/2NdThing'\u0434#", "2NdThing\u0434"),
    ("/2NDZHTTPHTTP1st", "/2Ndzhttphttp1St", "2Ndzhttphttp1st"),
    ("/?BHTTP", "/?bhttp", "bhttp"),
    ("/z1st'b", "/z1St'b", "z1Stb"),
    ("/\xc9\xa0\xdf", "/\xe9\xa0\xdf", "eSs"),
    ("/\xe9A9", "/\xe9A9", "eA9"),
    ("0", "0", "0"),
    ("1st", "1St", "1st"),
    ("1stHTTP$1st9\xa0", "1StHttp$1St9", "1stHttp1St9"),
    ("1stget", "1Stget", "1Stget"),
    ("2ND-", "2Nd", "2nd"),
    ("2NDThing", "2NdThing", "2NdThing"),
    ("2NDThingXML2ND -", "2NdThingXml2Nd", "2NdThingXml2nd"),
    ("2ND\xa0", "2Nd", "2nd"),
    ("2ND\u0414v2@{id}", "2Nd\u0414v2@{id}", "2nd\u0414v2Id"),
    ("2ND\u0434Postv2_2ND", "2ND\u0434Postv22Nd", "2nd\u0414Postv22nd"),
    ("9ab\xe9", "9Ab\xe9", "9Abe"),
    ("?.$", "?.$", ""),
    ("?ID{id}", "?id{id}", "idId"),
    ("?\xc9", "?\xe9", "e"),
    ("?\xe90.", "?\xe90", "e0"),
    ("?\U0001f600\u0414", "?\U0001f600\u0434", "\U0001f600\u0414"),
    ("@/", "@/", ""),
    ("@XML", "@xml", "xml"),
    ("A9get\xdf?", "a9Get\xdf?", "a9Getss"),
    ("AsHTTP$Post\xa0", "asHttp$post", "asHttpPost"),
    ("BThing\xc9-", "bThing\xc9", "bThingE"),
    ("B\u0414$2NDs", "b\u0434$2NDs", "b\u04342ndS"),
    ("B\u0414\xa0A?", "b\u0434\xa0a?", "b\u0434A"),
    ("B\u0434", "b\u0434", "b\u0434"),
    ("HTTP", "http", "http"),
    ("HTTP\xdf \xe9\u0414", "httP\xdf\xc9\u0414", "httPssE\u0434"),
    ("ID", "id", "id"),
    ("ID2NDPost", "id2NdPost", "id2NdPost"),
    ("Post", "post", "post"),
    ("Post'@ID", "post'@id", "postId"),
    ("PostZ", "postZ", "postZ"),
    ("PostZ\xdf{id}", "postZ\xdf{id}", "postZssId"),
    ("Postz#@{id}", "postz#@{id}", "postzId"),
    (
        "Post\xe9\U0001f600Thing@\u0414",
        "post\xe9\U0001f600thing@\u0434",
        "poste\U0001f600Thing\u0414",
    ),
    ("ThingIDget", "thingIDget", "thingIDget"),
    ("ThingXML9\u0414/", "thingXml9\u0414/", "thingXml9\u0414"),
    ("XML", "xml", "xml"),
    ("XML$ID", "xml$id", "xmlId"),
    ("XML\u0414b", "xml\u0414b", "xmL\u0434b"),
    ("Z", "z", "z"),
    ("Z#\u0414", "z#\u0434", "z\u0414"),
    ("Z@\U0001f600\U0001f600b", "z@\U0001f600\U0001f600b", "z\U0001f600\U0001f600B"),
    ("Z\u0434?ID$", "z\u0434?id$", "z\u0434Id"),
    ("_", "_", ""),
    ("_$\u0434", "$\u0434", "\u0434"),
    ("_-2NDAXML", "2Ndaxml", "2Ndaxml"),
    ("_bZZ", "bZz", "bZz"),
    ("_\xa0z_s", "\xa0zS", "zS"),
    ("aa/HTTP99", "aa/http99", "aaHttp99"),
    ("b", "b", "b"),
    ("b\u04142NDv2{id}", "b\u04142NDv2{id}", "b\u04342ndV2Id"),
    ("get", "get", "get"),
    ("get/Z#get", "get/z#get", "getZGet"),
    ("get/_Post{id}", "get/Post{id}", "getPostId"),
    ("get0B$", "get0B$", "get0B"),
    ("s", "s", "s"),
    ("s\u0414/", "s\u0414/", "s\u0434"),
    ("s\U0001f600v2", "s\U0001f600v2", "s\U0001f600V2"),
    ("s\U0001f600\xdf\u0434Post", "s\U0001f600\xdf\u0434Post", "s\U0001f600Ss\u0434Post"),
    ("v2", "v2", "v2"),
    ("v2 B", "v2B", "v2B"),
    ("v2\xdf", "v2SS", "v2Ss"),
    ("v2\u0434B_'", "v2\u0414B_'", "v2\u0414b"),
    ("z9\u0434$Thing\u0414", "z9\u0414$thing\u0414", "z9\u0414Thing\u0434"),
    ("zB1stZ#", "zB1StZ#", "zB1stZ"),
    ("z\U0001f600Thing\xc9", "z\U0001f600thing\xc9", "z\U0001f600ThingE"),
    ("{id}1st\u0414B-", "{id}1St\u0414b", "id1st\u0414b"),
    ("{id}?\u0414Z", "{id}?\u0434z", "id\u0414z"),
    ("\xa0\U0001f6001st", "\U0001f6001St", "\U0001f6001st"),
    ("\xc9$1st", "\xe9$1St", "e1st"),
    ("\xc90'\u0414IDA", "\xe90'\u0434ida", "e0\u0414ida"),
    ("\xc9@", "\xe9@", "e"),
    ("\xc9_XMLsHTTP{id}", "\xe9XmLsHttp{id}", "eXmLsHttpId"),
    ("\xdf s", "\xdfS", "ssS"),
    ("\xdf#XMLs", "\xdf#xmLs", "ssXmLs"),
    ("\xdf#Z", "\xdf#z", "ssZ"),
    ("\xdf?\xdf", "\xdf?\xdf", "ssSs"),
    ("\xdfBThing", "\xdfBThing", "ssBThing"),
    ("\xdfHTTPz/\xc9", "\xdfHttPz/\xe9", "ssHttPzE"),
    ("\xe9", "\xe9", "e"),
    ("\xe9get\u0414\u0414z-", "\xe9get\u0414\u0414z", "eget\u0434\u0434z"),
    ("\u0414@A2NDHTTP\xdf", "\u0434@a2NdhttP\xdf", "\u0434A2NdhttPss"),
    ("\u0414A", "\u0434a", "\u0434a"),
    ("\u0414Z\xdf\u0434", "\u0434Z\xdf\u0434", "\u0434Zss\u0434"),
    ("\u0414{id}\xa0", "\u0434{id}", "\u0434Id"),
    ("\u0434", "\u0434", "\u0434"),
    ("\u0434Thing 1stThing", "\u0434Thing1StThing", "\u0434Thing1stThing"),
    ("\u0434s\xdf", "\u0434s\xdf", "\u0434sss"),
    ("\U0001f6000v2", "\U0001f6000V2", "\U0001f6000V2"),
]


@pytest.mark.parametrize(("text", "npm_camelcase", "lodash"), ORACLE)
def test_agrees_with_the_javascript_libraries(text: str, npm_camelcase: str, lodash: str) -> None:
    assert camelcase(text) == npm_camelcase
    assert lodash_camel_case(text) == lodash


def test_javascript_trim_differs_from_str_strip() -> None:
    # U+FEFF is JavaScript whitespace; U+001F is not (Python's strip() disagrees on both).
    assert camelcase("\ufefffoo-bar\ufeff") == "fooBar"
    assert camelcase("\x1ffoo") == "\x1ffoo"


def test_astral_letters_are_not_humps() -> None:
    # JavaScript tests UTF-16 code units against \p{Lu}: a surrogate is no capital letter.
    assert camelcase("a\U00010400b") == "a\U00010428b"


@pytest.mark.parametrize(
    ("operation_id", "route"),
    [
        ("GetHTTPThing", "GetHttpThing"),
        ("sayHello", "SayHello"),
        ("SendGreeting", "SendGreeting"),
        ("serverToClient", "ServerToClient"),
        ("TypescriptOne", "TypescriptOne"),
        ("foo-bar", "FooBar"),
        ("123.foo.bar", "FooBar"),
        ("$foo.bar", "FooBar"),
        ("Foo Bar", "FooBar"),
    ],
)
def test_server_route_name(operation_id: str, route: str) -> None:
    assert server_route_name(operation_id) == route


def test_pdk_operation_name_cleans_like_the_pdk_parser() -> None:
    assert pdk_operation_name("GetAllUsers") == "getAllUsers"
    assert pdk_operation_name("@foo.bar") == "fooBar"
    assert pdk_operation_name("-foo.bar") == "fooBar"
    assert pdk_operation_name("розовый") == ""


def test_upper_first() -> None:
    assert upper_first("sayHello") == "SayHello"
    assert upper_first("") == ""
    assert upper_first("ß") == "SS"


@pytest.mark.parametrize(
    ("path", "method", "name"),
    [
        ("/without-operation-id", "post", "withoutOperationIdPost"),
        ("/users/{id}", "get", "usersByIdGet"),
        ("/a:b", "PUT", "aBPut"),
        ("/SayHello", "post", "sayHelloPost"),
    ],
)
def test_fallback_operation_name(path: str, method: str, name: str) -> None:
    assert fallback_operation_name(path, method) == name


def test_lodash_camel_case_examples() -> None:
    assert lodash_camel_case("-without-operation-id-post") == "withoutOperationIdPost"
    assert lodash_camel_case("TypeScript") == "typeScript"
    assert lodash_camel_case("GetHTTPThing") == "getHttpThing"
    assert lodash_camel_case("foo2bar") == "foo2Bar"
    assert lodash_camel_case("1st2nd") == "1St2nd"
    assert lodash_camel_case("ÀÆßŉĳŀĸ") == "aAessnijlk"
    assert lodash_camel_case("abc's") == "abcs"


def test_pascal_case_and_hoisted_names() -> None:
    assert pascal_case("sayHello") == "SayHello"
    assert pascal_case("GetHTTPThing") == "GetHttpThing"
    assert pascal_case("my-op") == "MyOp"
    assert hoisted_request_schema_name("TypeScript", "/TypeScript", "post") == (
        "TypeScriptRequestContent"
    )
    assert hoisted_request_schema_name(None, "/without-operation-id", "post") == (
        "WithoutOperationIdPostRequestContent"
    )


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("placedAt", "placed_at"),
        ("GetHTTPThing", "get_http_thing"),
        ("getHttpThing", "get_http_thing"),
        ("myInput", "my_input"),
        ("withoutOperationIdPost", "without_operation_id_post"),
        ("HTTPServer2Go", "http_server2_go"),
        ("IDs", "ids"),
        ("SayHello", "say_hello"),
        ("foo-bar baz", "foo_bar_baz"),
        ("already_snake", "already_snake"),
        ("version2", "version2"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("class", "class_"),
        ("None", "None_"),
        ("async", "async_"),
        ("match", "match"),
        ("type", "type"),
        ("2fa", "n2fa"),
        ("", "_"),
        ("foo-bar", "foo_bar"),
        ("ñame", "ñame"),
        ("x²", "x2"),
    ],
)
def test_python_identifier(name: str, identifier: str) -> None:
    assert python_identifier(name) == identifier


def test_python_identifier_escapes_reserved_names_until_free() -> None:
    assert python_identifier("close", RESERVED_METHOD_NAMES) == "close_"
    assert python_identifier("close", {"close", "close_"}) == "close__"
    assert python_identifier("close") == "close"


def test_reserved_method_names_are_the_client_surface() -> None:
    assert {
        "connect",
        "close",
        "send",
        "on",
        "on_error",
        "wait_for",
        "spec",
    } <= RESERVED_METHOD_NAMES
    assert "__peg_parser__" not in PYTHON_KEYWORDS
    assert set(keyword.kwlist) - {"__peg_parser__"} <= PYTHON_KEYWORDS


@given(st.text(max_size=30))
def test_python_identifier_always_gives_a_usable_name(name: str) -> None:
    result = python_identifier(snake_case(name), RESERVED_METHOD_NAMES)
    assert result.isidentifier()
    assert not keyword.iskeyword(result)
    assert result not in RESERVED_METHOD_NAMES


@given(st.text(max_size=30))
def test_camelcase_is_total(text: str) -> None:
    # No idempotence to check: camelcase@6 itself turns "aA.A" into "aAA" and that into "aAa"
    # (pinned in CAMELCASE_V6).
    assert isinstance(camelcase(text), str)
    assert isinstance(lodash_camel_case(text), str)


@given(st.from_regex(r"[a-z]{2,6}(-[a-z]{2,6}){0,4}", fullmatch=True))
def test_kebab_case_goes_through_camelcase_to_snake_case(kebab: str) -> None:
    # Words of one letter would make acronyms ("a-a" -> "aA"), which have no way back.
    assert snake_case(camelcase(kebab)) == kebab.replace("-", "_")
    assert snake_case(server_route_name(kebab)) == kebab.replace("-", "_")
