"""Golden-file tests of the exact request envelope of all seven operations, on the wire."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
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
