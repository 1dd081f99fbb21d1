"""A server that echoes the request where the reply's head goes (a status line, a header line that is
not one, a header value): the password it echoes appears nowhere on our side, in either client, on
either path of its transport (its own connections, urllib3 or httpx) -- not in the error's text,
repr or state, not in the locals of its traceback, not in the log records (DEBUG included)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap import AsyncSoapSmsc, SoapSmsc
from tests.helpers.clients import Blocking
from tests.helpers.fakes import PinnedPolicy
from tests.helpers.raw_server import Conn, RawServer
from tests.helpers.secrets import SENTINEL_PSW


def _echo(conn: Conn) -> bytes:
    """The request's body on one line, from a little before the password on."""
    flat = conn.body.replace(b"\r", b" ").replace(b"\n", b" ")
    return flat[max(0, flat.find(b"<psw") - 10) :]


def _reply(kind: str, conn: Conn) -> bytes:
    echo = _echo(conn)
    if kind == "status-line":
        return echo + b"\r\n\r\n"
    if kind == "header-line":
        return b"HTTP/1.1 200 OK\r\n" + echo + b"\r\n\r\n"
    if kind == "reason":
        return b"HTTP/1.1 500 " + echo + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    if kind == "content-type":
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: " + echo + b"\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\nok"
        )
    assert kind == "location"
    return (
        b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere/?" + echo + b"\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )


KINDS = ["status-line", "header-line", "reason", "content-type", "location"]


@pytest.fixture(params=["sync", "async"])
def client_for(request: pytest.FixtureRequest, sync_path: str) -> Iterator[Any]:
    made: list[Any] = []

    async def asleep(seconds: float) -> None:
        return None

    def make(url: str) -> Any:
        options: dict[str, Any] = {
            "endpoint": url,
            "timeout": 5,
            "mirrors": [],
            "retry": PinnedPolicy(),
        }
        client: Any
        if request.param == "sync":
            client = SoapSmsc("alex", SENTINEL_PSW, sleep=lambda seconds: None, **options)
        else:
            client = Blocking(AsyncSoapSmsc("alex", SENTINEL_PSW, sleep=asleep, **options))
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, Blocking):
            client.dispose()
        else:
            client.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_head_echoing_the_request_shows_no_password(
    kind: str, client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def behave(conn: Conn) -> None:
        conn.sock.sendall(_reply(kind, conn))

    with RawServer(behave) as server:
        client = client_for(server.url)
        with pytest.raises(s.SmscError) as caught:
            client.get_balance()
    assert any(SENTINEL_PSW.encode() in body for body in server.bodies)  # it was echoed
    error = caught.value
    shown = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    # Our records; httpcore's own DEBUG trace (the httpx path, for proxied endpoints) quotes the
    # malformed line it refused, which no option of httpx turns off.
    ours = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("smsc_soap")
    )
    for text in (str(error), repr(error), repr(vars(error)), repr(error.args), shown, ours):
        assert SENTINEL_PSW not in text
        assert SENTINEL_PSW.lower() not in text.lower()


def test_a_password_that_is_a_common_word_leaves_the_transport_words_whole() -> None:
    """Only the quoted server bytes are scrubbed: a password such as "was" masks its echo there,
    never a word of our own message."""

    def behave(conn: Conn) -> None:
        conn.sock.sendall(b"was it? \r\n\r\n")

    with RawServer(behave) as server:
        client = SoapSmsc(
            "alex",
            "was",
            endpoint=server.url,
            mirrors=[],
            retry=PinnedPolicy(),
            sleep=lambda _: None,
        )
        try:
            with pytest.raises(s.SmscTransportError) as caught:
                client.get_balance()
        finally:
            client.close()
    text = str(caught.value)
    assert text.startswith("the reply was not valid HTTP; the request may have been processed ("), (
        text
    )
    assert "*** it?" in text and "was it" not in text
