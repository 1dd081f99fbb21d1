"""The race every keep-alive client has: the server closes an idle connection just after the check
before reuse found it alive, and the request is written to a connection the server has left.

Both clients, on their own connections (sockets, asyncio). The check is made to miss the close (as it
does when the server's FIN is still in flight); then a send must end as an unknown outcome, never
resent (the request may have been read), and a read is retried on a new connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap._http.async_connection import AsyncConnection
from smsc_soap._http.connection import Connection
from tests.helpers.clients import Blocking
from tests.helpers.fakes import PinnedPolicy
from tests.helpers.raw_server import Conn, RawServer, ok_reply, send
from tests.helpers.secrets import SENTINEL_PSW

BALANCE = ok_reply("get_balance").encode()
REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(BALANCE)


def reply_then_close(conn: Conn) -> None:
    """A keep-alive reply; the server then closes the idle connection without a word."""
    conn.sock.sendall(REPLY + BALANCE)
    time.sleep(0.1)


def reply_and_keep(conn: Conn) -> None:
    conn.sock.sendall(REPLY + BALANCE)


reply_and_keep.keep_alive = True  # type: ignore[attr-defined]


@pytest.fixture(params=["sync", "async"])
def client_for(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A client factory whose check before reuse misses the server's close."""
    kind = request.param
    if kind == "sync":
        monkeypatch.setattr(Connection, "is_dropped", lambda self: False)
    else:
        monkeypatch.setattr(AsyncConnection, "is_usable", lambda self: True)
    made: list[Any] = []

    async def asleep(seconds: float) -> None:
        return None

    def make(url: str) -> Any:
        options: dict[str, Any] = {
            "endpoint": url,
            "timeout": 10,
            "connect_timeout": 2,
            "read_timeout": 5,
            "mirrors": [],
            "retry": PinnedPolicy(),
        }
        client: Any
        if kind == "sync":
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


def test_a_send_on_a_connection_the_server_just_closed_is_unknown_and_not_resent(
    client_for: Any,
) -> None:
    with RawServer(reply_then_close) as server:
        client = client_for(server.url)
        assert client.get_balance().balance > 0
        time.sleep(0.4)  # the server has closed the idle connection
        with pytest.raises(s.SendOutcomeUnknownError) as caught:
            send(client)
        # Written to the closed connection, never to another one: no second attempt.
        assert server.accepted == 1 and len(server.bodies) == 1
    assert caught.value.delivery is s.Delivery.UNKNOWN
    assert SENTINEL_PSW not in f"{caught.value!s} {caught.value!r}"


def test_a_read_on_a_connection_the_server_just_closed_is_retried_on_a_new_one(
    client_for: Any,
) -> None:
    with RawServer(reply_then_close, reply_and_keep) as server:
        client = client_for(server.url)
        assert client.get_balance().balance > 0
        time.sleep(0.4)  # the server has closed the idle connection
        assert client.get_balance().balance > 0
        assert server.accepted == 2 and len(server.bodies) == 2
