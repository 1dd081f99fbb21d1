"""Catalogue group C: bad input is refused before any I/O, and the server's hit counter stays at 0."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import smsc_soap as s
from smsc_soap import SoapSmsc
from tests.wire import php_reply

PHONE = "+79991234567"


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[SoapSmsc]:
    """A client aimed at pytest-httpserver; every test asserts how many requests it received."""
    with SoapSmsc("alex", "S3cr3t-PSW", endpoint=httpserver.url_for("/sys/soap.php")) as c:
        yield c


Call = Callable[[SoapSmsc], Any]

REFUSED: dict[str, Call] = {
    # 74 empty phones
    "74-empty-string": lambda c: c.send_sms("", "hi"),
    "74-none": lambda c: c.send_sms(None, "hi"),  # type: ignore[arg-type]
    "74-empty-list": lambda c: c.send_sms([], "hi"),
    "74-blank": lambda c: c.send_sms(" ", "hi"),
    "74-comma": lambda c: c.send_sms(",", "hi"),
    # 75 invalid phones
    "75-letters": lambda c: c.send_sms("abc", "hi"),
    "75-short": lambda c: c.send_sms("+7 999 12", "hi"),
    "75-zeros": lambda c: c.send_sms("+0000", "hi"),
    "75-16-digits": lambda c: c.send_sms("+7999123456789012", "hi"),
    "75-fullwidth": lambda c: c.send_sms("７９９９１２３４５６７", "hi"),
    # 76 Telegram or e-mail recipients in a plain SMS
    "76-telegram": lambda c: c.send_sms("#123", "hi"),
    "76-email": lambda c: c.send_sms("a@b.c", "hi"),
    # 79/80 sender
    "79-sender-12-latin": lambda c: c.send_sms(PHONE, "hi", sender="ABCDEFGHIJKL"),
    "79-sender-16-digits": lambda c: c.send_sms(PHONE, "hi", sender="1234567890123456"),
    "80-sender-cyrillic": lambda c: c.send_sms(PHONE, "hi", sender="Магазин"),
    "80-sender-crlf": lambda c: c.send_sms(PHONE, "hi", sender="Shop\r\nX"),
    "80-sender-control": lambda c: c.send_sms(PHONE, "hi", sender="Shop\x07"),
    # 81/82 id
    "81-id-zero": lambda c: c.send_sms(PHONE, "hi", id=0),
    "81-id-negative": lambda c: c.send_sms(PHONE, "hi", id=-1),
    "81-id-2^31": lambda c: c.send_sms(PHONE, "hi", id=2147483648),
    "81-id-2^70": lambda c: c.send_sms(PHONE, "hi", id=2**70),
    "82-id-space": lambda c: c.send_sms(PHONE, "hi", id="a b"),
    "82-id-comma": lambda c: c.send_sms(PHONE, "hi", id="a,b"),
    "82-id-cyrillic": lambda c: c.send_sms(PHONE, "hi", id="ид"),
    "82-id-41": lambda c: c.send_sms(PHONE, "hi", id="x" * 41),
    "82-id-empty-status": lambda c: c.get_status("", PHONE),
    # 84/85 message
    "84-empty": lambda c: c.send_sms(PHONE, ""),
    "84-blank": lambda c: c.send_sms(PHONE, "   \n"),
    "85-1001": lambda c: c.send_sms(PHONE, "x" * 1001),
    "85-1001-emoji": lambda c: c.send_sms(PHONE, "😀" * 1001),
    # 87-89 encoding and control characters
    "87-bad-bytes": lambda c: c.send_sms(PHONE, b"\xff\xfe"),  # type: ignore[arg-type]
    "88-surrogate-mes": lambda c: c.send_sms(PHONE, "a\ud800b"),
    "88-surrogate-phones": lambda c: c.send_sms("+7999\ud800", "hi"),
    "89-nul": lambda c: c.send_sms(PHONE, "a\x00b"),
    "89-escape": lambda c: c.send_sms(PHONE, "a\x1bb"),
    "89-vertical-tab": lambda c: c.send_sms(PHONE, "a\x0bb"),
    "89-fffe": lambda c: c.send_sms(PHONE, "a\ufffeb"),
    # 91 CRLF where a single line is required
    "91-crlf-phones": lambda c: c.send_sms(PHONE + "\r\n", "hi"),
    # 93/94 query
    "93-query-psw": lambda c: c.send_sms2(PHONE, "hi", query={"psw": "other"}),
    "93-query-login": lambda c: c.send_sms2(PHONE, "hi", query="login=x"),
    "93-query-phones": lambda c: c.send_sms2(PHONE, "hi", query={"phones": "G1"}),
    "93-query-fmt": lambda c: c.send_sms2(PHONE, "hi", query={"fmt": 3}),
    "93-query-charset": lambda c: c.send_sms2(PHONE, "hi", query={"charset": "koi8-r"}),
    "93-query-apikey-upper": lambda c: c.send_sms2(PHONE, "hi", query={"APIKEY": "k"}),
    "94-query-nul": lambda c: c.send_sms2(PHONE, "hi", query={"subj": "a\x00b"}),
    # 95 time
    "95-time-digits": lambda c: c.send_sms(PHONE, "hi", time="99999999"),
    "95-time-word": lambda c: c.send_sms(PHONE, "hi", time="tomorrow"),
    "95-time-sign": lambda c: c.send_sms(PHONE, "hi", time="+-5"),
    # 97 wrong Python types
    "97-mes-int": lambda c: c.send_sms(PHONE, 123),  # type: ignore[arg-type]
    "97-phones-dict": lambda c: c.send_sms({"a": 1}, "hi"),  # type: ignore[arg-type]
    "97-all-3": lambda c: c.get_status(1, PHONE, all=3),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_input_is_refused_before_io(
    httpserver: HTTPServer, client: SoapSmsc, case: str
) -> None:
    """Each catalogue case raises SmscValidationError (a ValueError, NOT_SENT) and sends nothing."""
    with pytest.raises(s.SmscValidationError) as info:
        REFUSED[case](client)
    error = info.value
    assert isinstance(error, ValueError) and error.delivery is s.Delivery.NOT_SENT
    assert (error.field and error.field in str(error)) or error.field in {"query", "id"}
    assert "S3cr3t-PSW" not in str(error)
    assert httpserver.log == []


def test_misspelled_keyword_is_a_type_error(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """98: a misspelled keyword raises TypeError naming valid options, echoing no value."""
    with pytest.raises(TypeError) as info:
        client.send_sms2(PHONE, "hi", mess="the-value")
    assert "the-value" not in str(info.value)
    with pytest.raises(TypeError):
        client.send_sms(PHONE, "hi", mess="x")  # type: ignore[call-arg]
    assert httpserver.log == []


def test_huge_message_fails_fast(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """86: a 10 MB message is refused in well under 50 ms of CPU, with no serialisation.

    CPU time of this thread, not wall time: a loaded machine may pause the thread, not add work.
    """
    text = "я" * 10_000_000
    started = time.thread_time()
    with pytest.raises(s.SmscValidationError):
        client.send_sms(PHONE, text)
    assert time.thread_time() - started < 0.05
    assert httpserver.log == []


def _echo(httpserver: HTTPServer) -> list[bytes]:
    bodies: list[bytes] = []

    def handler(request: Request) -> Response:
        bodies.append(request.get_data())
        ident = etree.fromstring(bodies[-1]).findtext(".//id")
        reply = php_reply("send_sms2", f"<id>{ident}</id><cnt>1</cnt>")
        return Response(reply, content_type="text/xml; charset=utf-8")

    httpserver.expect_request("/sys/soap.php").respond_with_handler(handler)
    return bodies


def test_accepted_edge_cases_arrive_exactly(httpserver: HTTPServer, client: SoapSmsc) -> None:
    """85/78/91/92: 1000 emoji, CRLF text and query-looking text arrive verbatim; phones normalised."""
    bodies = _echo(httpserver)
    cases = [
        ("😀" * 1000, "+7 (999) 123-45-67;+79991234567,+7 888 000 11 22"),
        ("line one\r\nline two", PHONE),
        ("hi&cost=1&psw=other", PHONE),
    ]
    for text, phones in cases:
        client.send_sms2(phones, text)
    sent = [etree.fromstring(b) for b in bodies]
    assert [e.findtext(".//mes") for e in sent] == [t for t, _ in cases]
    assert sent[0].findtext(".//phones") == "+79991234567,+78880001122"
    assert all(len(e.findall(".//psw")) == 1 and e.findtext(".//psw") == "S3cr3t-PSW" for e in sent)


def test_generated_ids_are_valid_and_unique() -> None:
    """83: ids the library assigns are valid service ids, unique over 100,000 generations."""
    from smsc_soap._params.validation import check_id, new_message_id

    ids = {new_message_id() for _ in range(100_000)}
    assert len(ids) == 100_000
    assert all(check_id(i) == i for i in list(ids)[:1000])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=40))
def test_any_text_is_refused_before_io_or_arrives_exactly(
    httpserver: HTTPServer, text: str
) -> None:
    """99: for any string, validation rejects it with nothing sent, or the server gets it exactly."""
    httpserver.clear()
    bodies = _echo(httpserver)
    with SoapSmsc("alex", "S3cr3t-PSW", endpoint=httpserver.url_for("/sys/soap.php")) as client:
        try:
            client.send_sms2(PHONE, text)
        except s.SmscValidationError:
            assert bodies == []
            return
    assert len(bodies) == 1
    assert etree.fromstring(bodies[0]).findtext(".//mes") == text
