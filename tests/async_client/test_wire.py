"""The same exact-wire scenarios against both clients: envelopes, replies, errors and the hardened HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import smsc_soap as s
from tests.helpers.clients import MakeClient
from tests.helpers.httpserver import QuickStopHTTPServer

from ..test_envelopes import APIKEY_WIRE_OPERATION, CALLS, GOLDEN
from ..test_replies import CALL, ERROR_CASES, SENDS
from ..wire import canonical, php_fault, php_reply

PATH = "/sys/soap.php"


@pytest.fixture
def client(httpserver: HTTPServer, make_client: MakeClient) -> Any:
    """A client of the parametrised kind aimed at pytest-httpserver, with short timeouts."""
    return make_client("alex", "123", endpoint=httpserver.url_for(PATH), timeout=5, read_timeout=2)


def _reply(httpserver: HTTPServer, body: str | bytes, status: int = 200, **kw: Any) -> None:
    kw.setdefault("content_type", "text/xml; charset=utf-8")
    httpserver.expect_request(PATH).respond_with_data(body, status=status, **kw)


def _capture(httpserver: HTTPServer, operation: str, inner: str) -> list[Request]:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        request.get_data()
        return Response(php_reply(operation, inner), content_type="text/xml; charset=utf-8")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(handler)
    return seen


# ----------------------------------------------------------------- requests on the wire


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_envelope_and_headers_match_golden(
    httpserver: HTTPServer, client: Any, operation: str
) -> None:
    """Both clients post exactly the golden envelope with the same SOAP and HTTP headers."""
    call, inner = CALLS[operation]
    seen = _capture(httpserver, operation, inner)
    call(client)
    assert len(seen) == 1
    request = seen[0]
    assert canonical(request.get_data()) == canonical((GOLDEN / f"{operation}.xml").read_bytes())
    assert request.headers["SOAPAction"] == '"https://smsc.ru/sys/soap.php"'
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.headers["Accept-Encoding"] == "identity"
    assert request.headers["User-Agent"] == f"smsc-soap/{s.__version__}"
    assert request.headers.get("Transfer-Encoding") is None
    assert int(request.headers["Content-Length"]) == len(request.get_data())
    assert "psw" not in request.url and "123" not in request.query_string.decode()


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_apikey_envelope(httpserver: HTTPServer, make_client: MakeClient, operation: str) -> None:
    """Both clients send API-key requests exactly alike: empty login/psw, <apikey>, apikey= in query."""
    call, inner = CALLS[operation]
    seen = _capture(httpserver, APIKEY_WIRE_OPERATION.get(operation, operation), inner)
    client = make_client(apikey="KEY-1&x", endpoint=httpserver.url_for(PATH))
    call(client)
    expected = (GOLDEN / f"{operation}_apikey.xml").read_bytes()
    assert canonical(seen[0].get_data()) == canonical(expected)


def test_validation_fails_before_any_request(httpserver: HTTPServer, client: Any) -> None:
    """Invalid arguments raise SmscValidationError naming the field, and nothing is posted."""
    with pytest.raises(s.SmscValidationError) as info:
        client.send_sms("not a phone", "hi")
    assert info.value.field == "phones"
    with pytest.raises(s.SmscValidationError):
        client.get_status(1, "79999999999", all=7)
    assert httpserver.log == []


# ----------------------------------------------------------------- replies


def test_send2_reply_parses_into_typed_result(httpserver: HTTPServer, client: Any) -> None:
    """send_sms2's reply gives the same typed result from both clients."""
    inner = (
        "<id>101</id><balance>99.50</balance><cost>1.95</cost><cnt>3</cnt>"
        "<errors><phone>79990000000</phone><status>22</status></errors>"
    )
    _reply(httpserver, php_reply("send_sms2", inner))
    result = CALL["send_sms2"](client)
    assert result == s.SendResult(
        id="101",
        cnt=3,
        cost=Decimal("1.95"),
        balance=Decimal("99.50"),
        errors=(s.PhoneError("79990000000", s.MessageStatus.WRONG_NUMBER),),
    )


@pytest.mark.parametrize(("operation", "code", "cls"), ERROR_CASES)
def test_every_documented_error_code(
    httpserver: HTTPServer, client: Any, operation: str, code: int, cls: type
) -> None:
    """Each documented code raises its own class from both clients, with code, operation and id."""
    with_id = operation in SENDS and code in (3, 6, 7, 8)
    inner = ("<id>101</id>" if with_id else "") + f"<error>{code}</error>"
    _reply(httpserver, php_reply(operation, inner))
    with pytest.raises(cls) as info:
        CALL[operation](client)
    error = info.value
    assert type(error) is cls
    assert error.code == code and error.operation == operation
    assert error.delivery is s.Delivery.REJECTED and not error.retry_safe
    if with_id:
        assert error.message_id == "101"


def test_fault_on_a_send_is_unknown_outcome(httpserver: HTTPServer, client: Any) -> None:
    """A Server fault on a send raises SendOutcomeUnknownError carrying the id and phones."""
    _reply(httpserver, php_fault("SOAP-ENV:Server", "Internal error"), 500)
    with pytest.raises(s.SendOutcomeUnknownError) as info:
        client.send_sms("79999999999", "hi", id=55)
    assert (info.value.message_id, info.value.phones) == ("55", "79999999999")
    assert isinstance(info.value.reason, s.SmscFaultError)


def test_html_error_page(httpserver: HTTPServer, client: Any) -> None:
    """An HTML 502 page is an SmscHttpError on a read, retryable, with its status."""
    _reply(httpserver, "<html><body>Bad Gateway</body></html>", 502, content_type="text/html")
    with pytest.raises(s.SmscHttpError) as info:
        client.get_balance()
    assert info.value.http_status == 502 and info.value.retry_safe


def test_secrets_never_reach_errors(httpserver: HTTPServer, make_client: MakeClient) -> None:
    """A server that echoes the password gets it masked in the error, from both clients."""
    secret = "S3cr3t-PSW-7f1c2a9e"
    _reply(httpserver, php_fault("SOAP-ENV:Server", f"bad login alex/{secret}"), 500)
    client = make_client("alex", secret, endpoint=httpserver.url_for(PATH))
    with pytest.raises(s.SmscFaultError) as info:
        client.get_balance()
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in repr(client)


# ----------------------------------------------------------------- hardened HTTP


def test_redirect_is_not_followed(
    httpserver: HTTPServer, client: Any, kind: str, request: pytest.FixtureRequest
) -> None:
    """A 302 raises SmscRedirectError and the Location is never requested."""
    httpserver.expect_request(PATH).respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    with pytest.raises(s.SmscRedirectError):
        client.get_balance()
    assert [r.path for r, _ in httpserver.log] == [PATH]


def test_compressed_reply_is_refused(httpserver: HTTPServer, client: Any) -> None:
    """A gzip Content-Encoding is refused, never inflated."""
    import gzip

    body = gzip.compress(php_reply("get_balance", "<balance>1</balance>").encode())
    _reply(httpserver, body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(s.SmscProtocolError, match="compressed"):
        client.get_balance()


def test_declared_oversize_reply_is_refused(
    httpserver: HTTPServer, make_client: MakeClient
) -> None:
    """A Content-Length over the cap is refused before the body is read."""
    _reply(httpserver, php_reply("get_balance", "<balance>1</balance>" + " " * 5000))
    client = make_client("alex", "123", endpoint=httpserver.url_for(PATH), max_response_bytes=1024)
    with pytest.raises(s.SmscResponseTooLargeError):
        client.get_balance()


def test_streamed_oversize_reply_is_cut(httpserver: HTTPServer, make_client: MakeClient) -> None:
    """A chunked reply with no length stops being read at the cap."""

    def handler(request: Request) -> Response:
        request.get_data()
        return Response((b"<x>" + b" " * 1000 for _ in range(200)), content_type="text/xml")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    client = make_client("alex", "123", endpoint=httpserver.url_for(PATH), max_response_bytes=4096)
    with pytest.raises(s.SmscResponseTooLargeError):
        client.get_balance()


def test_read_timeout_on_send_is_unknown(httpserver: HTTPServer, make_client: MakeClient) -> None:
    """No reply within the read timeout: a send's outcome is unknown, with the read timeout as reason."""

    release = threading.Event()

    def handler(request: Request) -> Response:
        request.get_data()
        release.wait(5)
        return Response(php_reply("send_sms", "<id>9</id><cnt>1</cnt>"), content_type="text/xml")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    client = make_client("alex", "123", endpoint=httpserver.url_for(PATH), read_timeout=0.3)
    try:
        with pytest.raises(s.SendOutcomeUnknownError) as info:
            client.send_sms("79999999999", "hi", id=9)
    finally:
        release.set()  # free the (single-threaded) server for the next test
    assert isinstance(info.value.reason, s.SmscReadTimeoutError)
    assert info.value.message_id == "9"


def test_total_deadline_bounds_a_dribbling_reply(
    httpserver: HTTPServer, make_client: MakeClient, kind: str, request: pytest.FixtureRequest
) -> None:
    """A reply trickling in slower than the deadline is cut off by the deadline.

    Each piece comes well within the read timeout, so only the deadline can end the call; the trickle
    would go on for a minute, so the bound on the elapsed time holds on a loaded machine.
    """
    stop = threading.Event()

    def chunks() -> Iterator[bytes]:
        for _ in range(400):
            yield b" "
            if stop.wait(0.15):
                return

    def handler(request: Request) -> Response:
        request.get_data()
        return Response(chunks(), content_type="text/xml")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    client = make_client(
        "alex", "123", endpoint=httpserver.url_for(PATH), timeout=0.8, read_timeout=5
    )
    started = time.monotonic()
    try:
        with pytest.raises(s.SmscDeadlineExceededError):
            client.get_balance()
        assert time.monotonic() - started < 30
    finally:
        stop.set()  # free the (single-threaded) server for the next test


def test_refused_connection_is_not_sent(make_client: MakeClient) -> None:
    """A refused connection is SmscConnectError: NOT_SENT and safe to retry, even for a send."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client("alex", "123", endpoint=f"http://127.0.0.1:{port}/sys/soap.php")
    with pytest.raises(s.SmscConnectError) as info:
        client.send_sms("79999999999", "hi")
    assert info.value.delivery is s.Delivery.NOT_SENT and info.value.retry_safe
    assert info.value.operation == "send_sms"


def test_untrusted_tls_certificate(make_client: MakeClient) -> None:
    """A certificate no trusted CA signed is SmscTlsError (NOT_SENT, not retryable)."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = QuickStopHTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        server.expect_request(PATH).respond_with_data(
            php_reply("get_balance", "<balance>1</balance>")
        )
        client = make_client("alex", "123", endpoint=server.url_for(PATH))
        with pytest.raises(s.SmscTlsError) as info:
            client.get_balance()
        assert info.value.delivery is s.Delivery.NOT_SENT and not info.value.retry_safe
    finally:
        server.clear()
        server.stop()


def test_ca_bundle_makes_tls_work(make_client: MakeClient, tmp_path: Any) -> None:
    """With ca_bundle naming the signing CA, the same server is trusted."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    server = QuickStopHTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        server.expect_request(PATH).respond_with_data(
            php_reply("get_balance", "<balance>7</balance>"), content_type="text/xml"
        )
        client = make_client("alex", "123", endpoint=server.url_for(PATH), ca_bundle=str(bundle))
        assert client.get_balance().balance == 7
    finally:
        server.clear()
        server.stop()


def test_closed_client_refuses_calls(client: Any) -> None:
    """After close, calls raise ClientClosedError (NOT_SENT)."""
    client.close()
    with pytest.raises(s.ClientClosedError) as info:
        client.get_balance()
    assert info.value.delivery is s.Delivery.NOT_SENT
