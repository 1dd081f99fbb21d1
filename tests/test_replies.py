"""Reply parsing in PHP SoapServer's wire format, every error code, Faults and broken replies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

import smsc_soap as s
from smsc_soap import SoapSmsc

from .wire import NS, php_fault, php_reply

MSK = timezone(timedelta(hours=3))

CALL: dict[str, Callable[[SoapSmsc], Any]] = {
    "send_sms": lambda c: c.send_sms("79999999999", "hi", id=101),
    "send_sms2": lambda c: c.send_sms2("79999999999", "hi", id=101, query={"cost": 3}),
    "get_sms_cost": lambda c: c.get_sms_cost("79999999999", "hi"),
    "get_sms_cost2": lambda c: c.get_sms_cost2("79999999999", "hi", query={"translit": 1}),
    "get_status": lambda c: c.get_status(101, "79999999999", all=1),
    "get_status2": lambda c: c.get_status2(101, "79999999999", all=2),
    "get_balance": lambda c: c.get_balance(),
}
SENDS = ("send_sms", "send_sms2")


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[SoapSmsc]:
    """A client aimed at pytest-httpserver, with short timeouts; retries back off without sleeping."""
    endpoint = httpserver.url_for("/sys/soap.php")
    with SoapSmsc(
        "alex", "123", endpoint=endpoint, timeout=5, read_timeout=2, sleep=lambda _: None
    ) as c:
        yield c


def _reply(httpserver: HTTPServer, body: str | bytes, status: int = 200, **kw: Any) -> None:
    kw.setdefault("content_type", "text/xml; charset=utf-8")
    httpserver.expect_request("/sys/soap.php").respond_with_data(body, status=status, **kw)


# ----------------------------------------------------------------- successful replies


def test_send2_reply_parses_into_typed_result(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """send_sms2's reply gives the id, an int count, Decimal money and the per-phone errors."""
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


def test_send_reply_without_optional_fields(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """Fields the server leaves out are None."""
    _reply(httpserver, php_reply("send_sms", "<id>101</id><cnt>1</cnt>"))
    result = CALL["send_sms"](client)
    assert (result.id, result.cnt, result.cost, result.balance, result.errors) == (
        "101",
        1,
        None,
        None,
        (),
    )


@pytest.mark.parametrize("operation", ["get_sms_cost", "get_sms_cost2"])
def test_cost_reply(httpserver: HTTPServer, client: SoapSmsc, operation: str) -> None:
    """Cost replies carry a Decimal cost and an int count."""
    _reply(httpserver, php_reply(operation, "<cost>3.90</cost><cnt>2</cnt>"))
    assert CALL[operation](client) == s.CostResult(cost=Decimal("3.90"), cnt=2)


def test_status_reply_with_all_fields(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """A full status reply gives an enum status, Moscow-time dates, timestamps and text fields."""
    inner = (
        "<status>1</status><last_date>10.10.2026 10:10:10</last_date>"
        "<last_timestamp>1791616210</last_timestamp><err>0</err>"
        "<send_date>10.10.2026 10:09:58</send_date><send_timestamp>1791616198</send_timestamp>"
        "<phone>79999999999</phone><cost>1.95</cost><sender_id>ivan</sender_id>"
        "<status_name>Доставлено</status_name><message>Привет</message>"
        "<operator>МТС</operator><region>Москва</region>"
    )
    _reply(httpserver, php_reply("get_status2", inner))
    result = CALL["get_status2"](client)
    assert result.status is s.MessageStatus.DELIVERED
    assert result.status.description == "delivered" and result.status.is_final
    assert result.last_date == datetime(2026, 10, 10, 10, 10, 10, tzinfo=MSK)
    assert result.last_date.timestamp() == 1791616210
    assert result.last_timestamp == 1791616210
    assert result.err is s.DeliveryError.NO_ERROR
    assert result.send_date == datetime(2026, 10, 10, 10, 9, 58, tzinfo=MSK)
    assert (result.phone, result.cost, result.sender_id) == ("79999999999", Decimal("1.95"), "ivan")
    assert (result.status_name, result.message, result.operator, result.region) == (
        "Доставлено",
        "Привет",
        "МТС",
        "Москва",
    )


def test_status_failure_carries_delivery_error_meaning(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """A failed message's err maps to its documented meaning; unknown codes are kept."""
    _reply(httpserver, php_reply("get_status", "<status>20</status><err>253</err>"))
    result = CALL["get_status"](client)
    assert result.status is s.MessageStatus.UNDELIVERABLE
    assert result.err is s.DeliveryError.SPAM_FILTER
    assert result.err.description == "forbidden by the spam filter"
    assert s.DeliveryError(77).known is False and int(s.DeliveryError(77)) == 77


def test_unknown_extra_element_still_parses(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """An element the WSDL does not know (sms_cnt, or anything newer) is kept in extra."""
    _reply(
        httpserver,
        php_reply("get_status", "<status>1</status><err>0</err><sms_cnt>2</sms_cnt><new>x</new>"),
    )
    result = CALL["get_status"](client)
    assert result.sms_cnt == 2
    assert result.extra == {"sms_cnt": "2", "new": "x"}


def test_balance_reply(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """The balance is a Decimal; error 0 means success."""
    _reply(httpserver, php_reply("get_balance", "<balance>1234.56</balance><error>0</error>"))
    assert client.get_balance() == s.BalanceResult(balance=Decimal("1234.56"))


# ----------------------------------------------------------------- error codes

ERRORS: dict[str, dict[int, type[s.SmscApiError]]] = {
    "send": {
        1: s.InvalidParametersError,
        2: s.AuthenticationError,
        3: s.InsufficientFundsError,
        4: s.IpBlockedError,
        5: s.InvalidTimeError,
        6: s.MessageForbiddenError,
        7: s.InvalidPhoneError,
        8: s.UndeliverableError,
        9: s.DuplicateSendError,
    },
    "cost": {
        1: s.InvalidParametersError,
        2: s.AuthenticationError,
        3: s.InsufficientFundsError,
        4: s.IpBlockedError,
        5: s.InvalidTimeError,
        6: s.MessageForbiddenError,
        7: s.InvalidPhoneError,
        8: s.UndeliverableError,
        9: s.TooManyRequestsError,
    },
    "status": {
        1: s.InvalidParametersError,
        2: s.AuthenticationError,
        3: s.MessageNotFoundError,
        4: s.IpBlockedError,
        9: s.TooManyRequestsError,
    },
    "balance": {
        1: s.InvalidParametersError,
        2: s.AuthenticationError,
        4: s.IpBlockedError,
        9: s.TooManyRequestsError,
    },
}
FAMILY = {
    "send_sms": "send",
    "send_sms2": "send",
    "get_sms_cost": "cost",
    "get_sms_cost2": "cost",
    "get_status": "status",
    "get_status2": "status",
    "get_balance": "balance",
}
ERROR_CASES = [
    (operation, code, cls)
    for operation, family in FAMILY.items()
    for code, cls in ERRORS[family].items()
]


@pytest.mark.parametrize(("operation", "code", "cls"), ERROR_CASES)
def test_every_documented_error_code(
    httpserver: HTTPServer, client: SoapSmsc, operation: str, code: int, cls: type
) -> None:
    """Each documented code of each operation raises its own class, carrying code and operation."""
    with_id = operation in SENDS and code in (3, 6, 7, 8)
    inner = ("<id>101</id>" if with_id else "") + f"<error>{code}</error>"
    _reply(httpserver, php_reply(operation, inner))
    with pytest.raises(cls) as info:
        CALL[operation](client)
    error = info.value
    assert type(error) is cls
    assert isinstance(error, s.SmscApiError) and isinstance(error, s.SmscError)
    assert error.code == code and error.operation == operation
    assert error.delivery is s.Delivery.REJECTED and not error.retry_safe
    assert str(code) in str(error)
    if with_id:
        assert error.message_id == "101"


def test_error_3_means_funds_on_send_but_not_found_on_status() -> None:
    """The same code has a different meaning per operation."""
    assert isinstance(s._exceptions.api_error(3, "send_sms"), s.InsufficientFundsError)
    assert isinstance(s._exceptions.api_error(3, "get_status2"), s.MessageNotFoundError)


def test_unknown_error_code_is_kept(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """An undocumented code raises the base SmscApiError with the code kept."""
    _reply(httpserver, php_reply("get_balance", "<error>42</error>"))
    with pytest.raises(s.SmscApiError) as info:
        client.get_balance()
    assert type(info.value) is s.SmscApiError and info.value.code == 42


# ----------------------------------------------------------------- faults and broken replies


@pytest.mark.parametrize("status", [200, 500])
def test_soap_fault_is_a_protocol_error(
    httpserver: HTTPServer, client: SoapSmsc, status: int
) -> None:
    """A SOAP Fault (on 200 or 500) raises SmscFaultError with its code and string."""
    _reply(httpserver, php_fault("SOAP-ENV:Server", "Procedure 'balance' not present"), status)
    with pytest.raises(s.SmscFaultError) as info:
        client.get_balance()
    assert isinstance(info.value, s.SmscProtocolError)
    assert info.value.faultcode == "SOAP-ENV:Server"
    assert info.value.faultstring == "Procedure 'balance' not present"


def test_fault_on_a_send_says_whether_it_was_processed(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """A Server fault on a send leaves the outcome unknown; a Client fault is a rejection."""
    _reply(httpserver, php_fault("SOAP-ENV:Server", "Internal error"), 500)
    with pytest.raises(s.SendOutcomeUnknownError) as unknown:
        client.send_sms("79999999999", "hi", id=5)
    assert isinstance(unknown.value.reason, s.SmscFaultError)
    assert unknown.value.message_id == "5"
    httpserver.clear()
    _reply(httpserver, php_fault("SOAP-ENV:Client", "Bad request"), 500)
    with pytest.raises(s.SmscFaultError) as rejected:
        client.send_sms("79999999999", "hi", id=5)
    assert rejected.value.delivery is s.Delivery.REJECTED


def test_html_500_page_is_an_http_error(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """An HTML error page is a transport error with the HTTP status, not a SOAP fault."""
    _reply(
        httpserver,
        "<html><body><h1>500 Internal Server Error</h1></body></html>",
        500,
        content_type="text/html",
    )
    with pytest.raises(s.SmscHttpError) as info:
        client.get_balance()
    assert info.value.http_status == 500 and info.value.retry_safe
    assert isinstance(info.value, s.SmscTransportError)
    assert len(httpserver.log) == 3  # a read is retried (three attempts in all), then reported


@pytest.mark.parametrize("status", [200, 502])
def test_empty_body(httpserver: HTTPServer, client: SoapSmsc, status: int) -> None:
    """An empty 200 is a protocol error; an empty 5xx is an HTTP error."""
    _reply(httpserver, b"", status)
    expected = s.SmscProtocolError if status == 200 else s.SmscHttpError
    with pytest.raises(expected):
        client.get_balance()


@pytest.mark.parametrize(
    "body",
    [
        php_reply("get_balance", "<balance>1</balance>")[:90],  # truncated
        "ERROR = 4 (ip is blocked)",  # a plain-text answer
        php_reply("get_status", "<status>1</status>"),  # the reply of another operation
        php_reply("get_balance", "<balance>NaN</balance>"),
        php_reply("get_balance", "<balance>abc</balance>"),
        php_reply("get_balance", "<error>x</error>"),
        php_reply("get_balance", ""),
        '<?xml version="1.0"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"/>',
    ],
    ids=[
        "truncated",
        "plain-text",
        "other-op",
        "nan",
        "not-number",
        "bad-error",
        "empty",
        "soap12",
    ],
)
def test_broken_reply_is_a_protocol_error(
    httpserver: HTTPServer, client: SoapSmsc, body: str
) -> None:
    """Replies that are not the expected envelope never pass as success."""
    _reply(httpserver, body)
    with pytest.raises(s.SmscProtocolError):
        client.get_balance()


@pytest.mark.parametrize(
    "inner",
    ["<cnt>1</cnt>", "<id>999</id><cnt>1</cnt>", "<id>101</id>", "<id>101</id><cnt>-5</cnt>"],
    ids=["no-id", "other-id", "no-cnt", "negative-cnt"],
)
def test_send_success_that_breaks_the_contract_is_unknown(
    httpserver: HTTPServer, client: SoapSmsc, inner: str
) -> None:
    """A send 'success' without our id or a count is an unknown outcome, never a success."""
    _reply(httpserver, php_reply("send_sms", inner))
    with pytest.raises(s.SendOutcomeUnknownError) as info:
        client.send_sms("79999999999", "hi", id=101)
    assert isinstance(info.value.reason, s.SmscProtocolError)
    assert info.value.message_id == "101" and info.value.delivery is s.Delivery.UNKNOWN


def test_dates_are_moscow_time() -> None:
    """The documented DD.MM.YYYY hh:mm:ss is read as Moscow time (UTC+3)."""
    from smsc_soap._soap.convert import MOSCOW

    assert MOSCOW.utcoffset(None) == timedelta(hours=3)


# ----------------------------------------------------------------- a reply richer than the WSDL

#: A send2 reply as a live service with a richer WSDL could write it (op=1): the result's children in
#: another order, an undeclared top-level child, per-number entries carrying the S:140 data (mcc, mnc,
#: cost, error) in their own order, and an undeclared nested child. zeep's strict reader raised on this.
RICH_SEND2 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:ns1="https://smsc.ru/sys/soap.php"><SOAP-ENV:Body><ns1:Send2Response><sendresult>'
    b"<cnt>2</cnt><sms_cnt>1</sms_cnt><id>101</id><cost>3.90</cost><balance>96.10</balance>"
    b"<errors><status>0</status><phone>79999999999</phone><mcc>250</mcc><mnc>01</mnc>"
    b"<cost>1.95</cost><error>0</error><hlr><net>MTS</net></hlr></errors>"
    b"<errors><phone>70000000022</phone><status>22</status><mcc>0</mcc><mnc>0</mnc>"
    b"<cost>0.00</cost><error>249</error></errors>"
    b"</sendresult></ns1:Send2Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
)


def _send_rich(kind: str, endpoint: str) -> s.SendResult:
    args: dict[str, Any] = {"id": 101, "query": {"op": 1}}
    if kind == "sync":
        with SoapSmsc("alex", "123", endpoint=endpoint, sleep=lambda _: None) as sync:
            return sync.send_sms2(["79999999999", "70000000022"], "hi", **args)

    async def main() -> s.SendResult:
        async with s.AsyncSoapSmsc("alex", "123", endpoint=endpoint) as client:
            return await client.send_sms2(["79999999999", "70000000022"], "hi", **args)

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_reply_richer_than_the_wsdl_is_a_send_result(httpserver: HTTPServer, kind: str) -> None:
    """Unknown and reordered children, also inside per-number entries, never make a send unknown."""
    _reply(httpserver, RICH_SEND2)
    result = _send_rich(kind, httpserver.url_for("/sys/soap.php"))
    assert len(httpserver.log) == 1
    assert (result.id, result.cnt, result.cost, result.balance) == (
        "101",
        2,
        Decimal("3.90"),
        Decimal("96.10"),
    )
    assert result.extra == {"sms_cnt": "1"}
    accepted, refused = result.errors
    assert accepted == s.PhoneError(
        "79999999999",
        s.MessageStatus.TRANSFERRED,
        mcc="250",
        mnc="01",
        cost=Decimal("1.95"),
        error=s.DeliveryError.NO_ERROR,
    )
    assert accepted.extra == {"hlr": "MTS"}
    assert refused == s.PhoneError(
        "70000000022",
        s.MessageStatus.WRONG_NUMBER,
        mcc="0",
        mnc="0",
        cost=Decimal("0.00"),
        error=s.DeliveryError.INVALID_NUMBER_FORMAT,
    )
    assert refused.extra == {}


def test_per_number_details_that_cannot_be_read_stay_text(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """An unreadable op=1 cost or error is None with its text in extra: the send still succeeded."""
    inner = (
        "<id>101</id><cnt>1</cnt><errors><phone>79999999999</phone><status>0</status>"
        "<cost>n/a</cost><error>x1</error><mcc></mcc><mnc/></errors>"
        "<errors><phone>79990000000</phone><status>0</status><cost></cost><error>²</error></errors>"
    )
    _reply(httpserver, php_reply("send_sms2", inner))
    result = CALL["send_sms2"](client)
    entry, empty = result.errors
    assert (entry.cost, entry.error, entry.mcc, entry.mnc) == (None, None, None, None)
    assert entry.extra == {"cost": "n/a", "error": "x1"}
    assert (empty.cost, empty.error, empty.extra) == (None, None, {"error": "²"})


def test_sms_cnt_that_is_not_a_number_stays_text(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """An sms_cnt that is not plain digits is None, its text kept in extra; the status still reads."""
    _reply(httpserver, php_reply("get_status", "<status>1</status><sms_cnt>²</sms_cnt>"))
    result = CALL["get_status"](client)
    assert (result.status, result.sms_cnt, result.extra) == (
        s.MessageStatus.DELIVERED,
        None,
        {"sms_cnt": "²"},
    )


def test_status_reply_in_another_order_with_nested_unknowns(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """A status reply read by name: any order, an unknown nested child kept as its text."""
    inner = (
        "<region>Москва</region><err>0</err><hlr><imsi>250011234567890</imsi></hlr>"
        "<status>1</status><sms_cnt>2</sms_cnt><phone>79999999999</phone>"
    )
    _reply(httpserver, php_reply("get_status2", inner))
    result = CALL["get_status2"](client)
    assert (result.status, result.err, result.region, result.phone, result.sms_cnt) == (
        s.MessageStatus.DELIVERED,
        s.DeliveryError.NO_ERROR,
        "Москва",
        "79999999999",
        2,
    )
    assert result.extra == {"hlr": "250011234567890", "sms_cnt": "2"}


def test_unknown_siblings_of_the_result_are_tolerated(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """Undeclared elements beside the result (in the response element or the Body) change nothing."""
    body = php_reply("send_sms", "<id>101</id><cnt>1</cnt>").replace(
        "</sendresult>", "</sendresult><trace>abc</trace>"
    )
    body = body.replace("<SOAP-ENV:Body>", "<SOAP-ENV:Body><ns1:Notice>n</ns1:Notice>")
    _reply(httpserver, body)
    result = CALL["send_sms"](client)
    assert (result.id, result.cnt, result.extra) == ("101", 1, {"trace": "abc"})


def test_a_declared_field_twice_with_different_values_is_unknown(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """Two different values for one declared field cannot be read: the send's outcome is unknown."""
    _reply(httpserver, php_reply("send_sms", "<id>101</id><cnt>1</cnt><cnt>2</cnt>"))
    with pytest.raises(s.SendOutcomeUnknownError) as info:
        CALL["send_sms"](client)
    assert "cnt twice" in str(info.value.reason)
    httpserver.clear()
    _reply(httpserver, php_reply("send_sms", "<id>101</id><cnt>1</cnt><cnt>1</cnt>"))
    assert CALL["send_sms"](client).cnt == 1


# ----------------------------------------------------------------- the reader as a function

SEND2_CHILDREN = [
    "<id>101</id>",
    "<balance>96.10</balance>",
    "<cost>3.90</cost>",
    "<cnt>2</cnt>",
    "<sms_cnt>1</sms_cnt>",
    "<errors><phone>79999999999</phone><status>0</status><mcc>250</mcc></errors>",
    "<errors><status>22</status><phone>70000000022</phone><error>249</error></errors>",
]
STATUS_CHILDREN = [
    "<status>20</status>",
    "<last_date>10.10.2026 10:10:10</last_date>",
    "<last_timestamp>1791616210</last_timestamp>",
    "<err>253</err>",
    "<phone>79999999999</phone>",
    "<cost>1.95</cost>",
    "<message>Привет &amp; пока</message>",
    "<operator>МТС</operator>",
    "<new_field><a>1</a><b>2</b></new_field>",
]


def _parse(operation: str, inner: str, *, fast: bool = True) -> Any:
    from smsc_soap._http.types import RawReply
    from smsc_soap._soap.protocol import Protocol, Request, protocol_for

    protocol = protocol_for(NS) if fast else Protocol(NS, fast=False)
    request = Request(operation, b"", {}, message_id="101" if operation in SENDS else None)
    reply = RawReply(200, {"content-type": "text/xml"}, php_reply(operation, inner).encode())
    return protocol.parse(request, reply, lambda text, limit=200: text[:limit])


@settings(max_examples=60, deadline=None)
@given(
    send=st.permutations(SEND2_CHILDREN),
    status=st.permutations(STATUS_CHILDREN),
)
def test_any_order_of_the_children_reads_the_same(send: list[str], status: list[str]) -> None:
    """The reader goes by name: every order of a reply's children gives the same result.

    (Per-number entries keep the order the reply gives them in, so they are compared as a set.)
    """
    sent = _parse("send_sms2", "".join(send))
    reference = _parse("send_sms2", "".join(SEND2_CHILDREN))
    assert replace(sent, errors=()) == replace(reference, errors=())
    assert set(sent.errors) == set(reference.errors) and len(sent.errors) == 2
    assert sent.extra == {"sms_cnt": "1"}
    read = _parse("get_status2", "".join(status))
    assert read == _parse("get_status2", "".join(STATUS_CHILDREN))
    assert read.extra == {"new_field": "12"}


ZEEP_READABLE = [
    ("send_sms", "<id>101</id><balance>1.5</balance><cost>2</cost><cnt>1</cnt>"),
    (
        "send_sms2",
        "<id>101</id><cnt>2</cnt><errors><phone>7999</phone><status>22</status></errors>",
    ),
    ("send_sms2", "<id>101</id><cnt>2</cnt><sms_cnt>3</sms_cnt>"),
    ("get_sms_cost", "<cost>3.90</cost><cnt>2</cnt>"),
    ("get_sms_cost2", "<cost>1.95</cost>"),
    ("get_status", "<status>1</status><last_date>10.10.2026 10:10:10</last_date><err>0</err>"),
    ("get_status2", "".join(STATUS_CHILDREN[:-1])),
    ("get_balance", "<balance>1234.56</balance><error>0</error>"),
    ("get_balance", "<error>2</error>"),
    ("send_sms", "<id>101</id><error>7</error>"),
    ("send_sms", "<cnt>1</cnt>"),
]


@pytest.mark.parametrize(("operation", "inner"), ZEEP_READABLE)
def test_compiled_reader_agrees_with_zeeps_reader(operation: str, inner: str) -> None:
    """On replies zeep's strict reader accepts, the compiled reader gives the same result or error."""

    def outcome(fast: bool) -> Any:
        try:
            return _parse(operation, inner, fast=fast)
        except s.SmscError as exc:
            return (type(exc), str(exc), exc.delivery)

    assert outcome(True) == outcome(False)


DECLARED = {"id", "balance", "cost", "cnt", "error", "errors", "phone", "status"}
UNKNOWN_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: n not in DECLARED and n not in ("mcc", "mnc")
)
UNKNOWN_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10)


@st.composite
def _unknown_child(draw: st.DrawFn) -> str:
    name = draw(UNKNOWN_NAME)
    text = escape(draw(UNKNOWN_TEXT))
    if draw(st.booleans()):
        text = f"<inner>{text}</inner><more/>"
    return f"<{name}>{text}</{name}>"


def _insert(draw: st.DrawFn, children: list[str]) -> list[str]:
    out = list(children)
    for child in draw(st.lists(_unknown_child(), max_size=4)):
        out.insert(draw(st.integers(0, len(out))), child)
    return out


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_unknown_children_never_change_a_send(data: st.DataObject) -> None:
    """Undeclared children anywhere (top level, inside entries, nested) leave the result as it was."""
    entries = [
        "".join(_insert(data.draw, ["<phone>79999999999</phone>", "<status>0</status>"])),
        "".join(_insert(data.draw, ["<status>22</status>", "<phone>70000000022</phone>"])),
    ]
    top = ["<id>101</id>", "<cost>3.90</cost>", "<cnt>2</cnt>"]
    top += [f"<errors>{entry}</errors>" for entry in entries]
    inner = "".join(_insert(data.draw, top))
    result = _parse("send_sms2", inner)
    assert result == s.SendResult(
        id="101",
        cnt=2,
        cost=Decimal("3.90"),
        errors=(
            s.PhoneError("79999999999", s.MessageStatus.TRANSFERRED),
            s.PhoneError("70000000022", s.MessageStatus.WRONG_NUMBER),
        ),
    )


def test_undeclared_children_are_kept_up_to_a_bound(
    httpserver: HTTPServer, client: SoapSmsc
) -> None:
    """A flood of undeclared children still reads; extra keeps the first MAX_EXTRA of them."""
    from smsc_soap._soap.reader import MAX_EXTRA

    flood = "".join(f"<x{n}>{n}</x{n}>" for n in range(1000))
    _reply(httpserver, php_reply("send_sms", f"<id>101</id>{flood}<cnt>1</cnt>"))
    result = CALL["send_sms"](client)
    assert (result.id, result.cnt) == ("101", 1)
    assert list(result.extra) == [f"x{n}" for n in range(MAX_EXTRA)]
