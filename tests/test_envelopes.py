"""Golden-file tests of the exact request envelope of all seven operations, on the wire."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from smsc_soap import SoapSmsc

from .wire import canonical, php_reply

GOLDEN = Path(__file__).parent / "golden"

CALLS: dict[str, tuple[Callable[[SoapSmsc], Any], str]] = {
    "send_sms": (
        lambda c: c.send_sms("79999999999", "Hello world!", id=42, sender="ivan", time="0"),
        "<id>42</id><cnt>1</cnt>",
    ),
    "send_sms2": (
        # No cost given: send_sms2 asks for cost=3 itself, after the caller's parameters.
        lambda c: c.send_sms2(
            ["79999999999", "79990000000"],
            "Привет, мир! 👋",
            id="42",
            sender="ivan",
            time=0,
            query={"err": True},
        ),
        "<id>42</id><cnt>2</cnt>",
    ),
    "get_sms_cost": (
        lambda c: c.get_sms_cost("79999999999", "Hello world!"),
        "<cost>1.95</cost><cnt>1</cnt>",
    ),
    "get_sms_cost2": (
        lambda c: c.get_sms_cost2("79999999999", "Hello world!", query={"translit": 1}),
        "<cost>1.95</cost><cnt>1</cnt>",
    ),
    "get_status": (
        lambda c: c.get_status(42, "79999999999"),
        "<status>1</status><last_date>10.10.2026 10:10:10</last_date><err>0</err>",
    ),
    "get_status2": (
        lambda c: c.get_status2("42", "79999999999", all=2),
        "<status>1</status><err>0</err>",
    ),
    "get_balance": (lambda c: c.get_balance(), "<balance>100.50</balance>"),
}

#: With an API key, the operations without a query go as their *2 twin (the key travels in query).
APIKEY_WIRE_OPERATION = {
    "send_sms": "send_sms2",
    "get_sms_cost": "get_sms_cost2",
    "get_status": "get_status2",
}


def _capture(httpserver: HTTPServer, operation: str, inner: str) -> list[Request]:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        request.get_data()
        return Response(php_reply(operation, inner), content_type="text/xml; charset=utf-8")

    httpserver.expect_request("/sys/soap.php", method="POST").respond_with_handler(handler)
    return seen


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_request_envelope_matches_golden_file(httpserver: HTTPServer, operation: str) -> None:
    """Each operation posts exactly the golden envelope, with SOAPAction equal to the namespace."""
    call, inner = CALLS[operation]
    seen = _capture(httpserver, operation, inner)
    with SoapSmsc("alex", "123", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        call(client)
    assert len(seen) == 1
    request = seen[0]
    assert canonical(request.get_data()) == canonical((GOLDEN / f"{operation}.xml").read_bytes())
    assert request.headers["SOAPAction"] == '"https://smsc.ru/sys/soap.php"'
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.headers["Accept-Encoding"] == "identity"
    assert "psw" not in request.url and "123" not in request.query_string.decode()


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_apikey_envelope_matches_golden_file(httpserver: HTTPServer, operation: str) -> None:
    """An API-key client sends empty login/psw, the <apikey> element and apikey= in every query.

    send_sms, get_sms_cost and get_status go as their *2 twin, so that the key can travel in query
    (a server built from the published WSDL drops the undeclared element).
    """
    call, inner = CALLS[operation]
    wire_operation = APIKEY_WIRE_OPERATION.get(operation, operation)
    seen = _capture(httpserver, wire_operation, inner)
    with SoapSmsc(apikey="KEY-1&x", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        call(client)
    [request] = seen
    golden = GOLDEN / f"{operation}_apikey.xml"
    assert canonical(request.get_data()) == canonical(golden.read_bytes())
    assert request.headers["SOAPAction"] == '"https://smsc.ru/sys/soap.php"'


@pytest.mark.parametrize(
    ("host", "namespace"),
    [
        ("smsc.ru", "https://smsc.ru/sys/soap.php"),
        ("smsc.ua", "http://smsc.ua/sys/soap.php"),
        ("smsc.kz", "https://smsc.kz/sys/soap.php"),
        ("smscentre.com", "https://smscentre.com/sys/soap.php"),
    ],
)
def test_host_namespace_used_in_body_and_soapaction(
    httpserver: HTTPServer, host: str, namespace: str
) -> None:
    """The body element and SOAPAction carry the chosen host's namespace (a server refuses others)."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        request.get_data()
        body = php_reply("get_balance", "<balance>5</balance>", namespace=namespace)
        return Response(body, content_type="text/xml; charset=utf-8")

    httpserver.expect_request("/sys/soap.php").respond_with_handler(handler)
    endpoint = httpserver.url_for("/sys/soap.php")
    with SoapSmsc("alex", "123", host=host, endpoint=endpoint) as client:
        assert client.get_balance().balance == 5
    assert seen[0].headers["SOAPAction"] == f'"{namespace}"'
    assert f'<ns0:balance xmlns:ns0="{namespace}">' in seen[0].get_data(as_text=True)


def test_text_round_trips_cyrillic_emoji_and_xml_characters(httpserver: HTTPServer) -> None:
    """Cyrillic, emoji, CRLF and XML-significant text reach the server exactly, as one <mes>."""
    from lxml import etree

    text = 'Привет 👋 </mes><psw>x</psw>&amp;]]> "q" \r\nновая строка\tтаб'
    seen = _capture(httpserver, "send_sms", "<id>7</id><cnt>2</cnt>")
    with SoapSmsc("alex", "123", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        client.send_sms("79999999999", text, id=7)
    root = etree.fromstring(seen[0].get_data())
    assert root.findtext(".//mes") == text
    assert [e.text for e in root.iter("psw")] == ["123"]


# ----------------------------------------------------------------- the compiled writer against zeep

NAMESPACES = (
    "https://smsc.ru/sys/soap.php",
    "http://smsc.ua/sys/soap.php",
    "https://smsc.kz/sys/soap.php",
    "https://smscentre.com/sys/soap.php",
)
OPERATIONS = sorted(CALLS)


def _protocol(namespace: str = NAMESPACES[0]) -> Any:
    from smsc_soap._soap.protocol import protocol_for

    return protocol_for(namespace)


def _zeep_or_error(protocol: Any, operation: str, values: dict[str, Any]) -> bytes | type:
    """zeep's own bytes for ``values``, or the type of the error zeep raises for them."""
    try:
        body: bytes = protocol.zeep_envelope(operation, values)
    except Exception as exc:
        return type(exc)
    return body


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_operation_is_compiled(namespace: str) -> None:
    """The fast path covers every operation of the cached WSDL: writer and reader, for every host."""
    assert _protocol(namespace).compiled == {name: (True, True) for name in OPERATIONS}


def _element_names(operation: str) -> list[str]:
    body = _protocol().zeep_operation(operation).input.body
    return [name for name, _ in body.type.elements]


#: Any text, control characters and lone surrogates included (zeep refuses those: so must we).
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=40)
#: Text that favours what XML must escape or cannot carry.
XML_TEXT = st.text(
    st.sampled_from(list("<>&\"'\r\n\t]]> \x00\x1f\x7f\x85\ufffe\ud800é👋")), max_size=12
)


@st.composite
def _values(draw: st.DrawFn, operation: str) -> dict[str, Any]:
    """Values for some of the operation's elements: absent, None, empty or arbitrary text."""
    values: dict[str, Any] = {}
    for name in _element_names(operation):
        choice = draw(st.sampled_from(["absent", "none", "empty", "text", "xml"]))
        if choice == "none":
            values[name] = None
        elif choice == "empty":
            values[name] = ""
        elif choice == "text":
            values[name] = draw(ANY_TEXT)
        elif choice == "xml":
            values[name] = draw(XML_TEXT)
    return values


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_compiled_envelope_is_byte_identical_to_zeep(operation: str, data: st.DataObject) -> None:
    """Whatever the values, the compiled writer writes zeep's exact bytes, or hands zeep what it refuses."""
    namespace = data.draw(st.sampled_from(NAMESPACES))
    protocol = _protocol(namespace)
    values = data.draw(_values(operation))
    expected = _zeep_or_error(protocol, operation, values)
    written = protocol.writer(operation).write(values)
    if isinstance(expected, bytes):
        assert written == expected  # never None here: whatever zeep writes, the fast path writes
    else:
        assert written is None
        with pytest.raises(expected):
            protocol.build(operation, values, {})


@pytest.mark.parametrize("operation", OPERATIONS)
def test_writer_hands_zeep_what_it_does_not_cover(operation: str) -> None:
    """Unknown names, non-text values and a missing required element go to zeep, which decides."""
    protocol = _protocol()
    writer = protocol.writer(operation)
    names = _element_names(operation)
    full = dict.fromkeys(names, "x")
    assert writer.write(full) == protocol.zeep_envelope(operation, full)
    assert writer.write({**full, "bogus": "x"}) is None
    with pytest.raises(TypeError):
        protocol.build(operation, {**full, "bogus": "x"}, {})
    assert writer.write({**full, names[-1]: 5}) is None
    assert protocol.build(operation, {**full, names[-1]: 5}, {}).body == (
        protocol.zeep_envelope(operation, {**full, names[-1]: 5})
    )
    required = [
        name
        for name, element in protocol.zeep_operation(operation).input.body.type.elements
        if element.min_occurs >= 1
    ]
    for name in required:
        partial = {k: v for k, v in full.items() if k != name}
        assert writer.write(partial) is None
        assert isinstance(_zeep_or_error(protocol, operation, partial), type)


def test_prepared_query_is_written_by_the_compiled_writer_as_zeep_writes_it() -> None:
    """A prepared query (a str subclass, what bulk sends) is compiled, byte-identical to zeep's bytes."""
    from smsc_soap._params.query import prepare_query

    protocol = _protocol()
    prepared = prepare_query(
        {"cost": "3", "list": "79120000001:a&b <c> 100%\n79120000002:Привет, \u043c\u0438\u0440"},
        "send_sms2",
    )
    values = {"phones": "", "mes": "", "id": "b1", "query": prepared}
    written = protocol.writer("send_sms2").write(values)
    assert written is not None
    assert written == protocol.zeep_envelope("send_sms2", values)
    assert written == protocol.writer("send_sms2").write({**values, "query": str(prepared)})


def test_credentials_that_repeat_a_field_are_zeeps_to_refuse() -> None:
    """A name both in the credentials and the fields is refused as zeep refuses it."""
    with pytest.raises(TypeError):
        _protocol().build("get_balance", {"login": "a"}, {"login": "b"})


def test_credentials_query_replaces_the_fields_query() -> None:
    """An API key's query (the request's query plus apikey=) replaces the field; limit_key sees only
    the field, never the key."""
    protocol = _protocol()
    fields = {"phone": "79991234567", "id": "7", "query": "del=1"}
    request = protocol.build(
        "get_status2", fields, {"login": "", "psw": "", "query": "del=1&apikey=K-9"}
    )
    assert b"<query>del=1&amp;apikey=K-9</query>" in request.body
    assert request.body.count(b"<query>") == 1
    plain = protocol.build("get_status2", fields, {"login": "a", "psw": "b"})
    assert request.limit_key == plain.limit_key


OPTION_SAMPLES: list[dict[str, Any]] = [
    {"translit": 2},
    {"tz": -2},
    {"period": 1.5, "freq": 30},
    {"flash": True},
    {"bin": 2},
    {"push": True},
    {"hlr": True},
    {"ping": True},
    {"mms": True, "subj": "Тема <&>"},
    {"mail": True, "subj": "Subject & more"},
    {"soc": True},
    {"viber": True},
    {"whatsapp": True},
    {"tg": True, "bot": "@my_bot"},
    {"smsreq": 30},
    {"fileurl": "https://example.com/a.pdf?x=1&y=2"},
    {"call": True, "voice": "w,fr", "param": (10, 20, 3)},
    {"cost": 3},
    {"cost": 2},
    {"list": [("79999999999", 'Привет <&> "друг"\r\n'), ("79990000000", "second")]},
    {"list": "79999999999:line one\n79990000000:line two", "nl": True},
    {"valid": "01:30"},
    {"tinyurl": True},
    {"maxsms": 3},
    {"imgcode": "abc123", "userip": "10.0.0.1"},
    {"err": True},
    {"op": True},
    {"pp": 123},
    {"delete": True},
]


def _option_queries() -> list[Any]:
    """(operation, query) for every sample that applies to an option-taking operation."""
    from smsc_soap import SendOptions, SmscValidationError
    from smsc_soap._params.query import encode_query

    cases = []
    for options in OPTION_SAMPLES:
        typed = SendOptions(**options)
        for operation in ("send_sms2", "get_sms_cost2", "get_status2"):
            try:
                query = encode_query(typed.to_query(operation), operation)
            except SmscValidationError:
                continue
            cases.append(pytest.param(operation, query, id=f"{operation}-{'+'.join(options)}"))
    return cases


def test_option_samples_cover_every_option() -> None:
    """Each SendOptions field appears in a sample, so a new option gets its envelope test."""
    from dataclasses import fields

    from smsc_soap import SendOptions

    named = {name for sample in OPTION_SAMPLES for name in sample}
    assert {f.name for f in fields(SendOptions) if f.init} == named


@pytest.mark.parametrize(("operation", "query"), _option_queries())
def test_every_option_query_is_written_as_zeep_writes_it(operation: str, query: str) -> None:
    """Each SendOptions field, encoded into ``query`` as the client encodes it, gives zeep's bytes."""
    protocol = _protocol()
    values = {name: f"{name}-value" for name in _element_names(operation) if name != "apikey"}
    values["query"] = query
    written = protocol.writer(operation).write(values)
    assert written == protocol.zeep_envelope(operation, values)
    assert protocol.build(operation, values, {}).body == written
