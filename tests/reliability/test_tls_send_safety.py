"""Once a request byte may have left, a failure is UNKNOWN for both clients over HTTPS as over HTTP.

Only a failed connection or TLS handshake proves nothing was sent. A read timeout, a reset, garbage at the
TLS record layer or a torn response after the request was written must never read "nothing was sent":
that is what let a bulk resume send a batch twice.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from smsc_soap import AsyncSoapSmsc, Delivery, SmscError, SoapSmsc
from tests.helpers.fakes import PinnedPolicy, wait_until
from tests.helpers.raw_server import Behaviour, Conn, RawServer, hang, reset
from tests.helpers.secrets import SENTINEL_PSW

# Every case runs on both paths of the sync transport (sockets, urllib3).
pytestmark = pytest.mark.usefixtures("sync_path")

PHONE = "79991234567"


def _tcp_garbage(conn: Conn) -> None:
    """Bytes written below TLS: the client's TLS layer sees a corrupt record after its request."""
    os.write(conn.sock.fileno(), b"\x17\x03\x03\x00\x10garbage-record!!")


def _torn_response(conn: Conn) -> None:
    """Half a response inside TLS, then garbage below it (an alert/record error mid-response)."""
    conn.sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<SOAP"
    )
    os.write(conn.sock.fileno(), b"\x15\x03\x03\x00\x02\x02\x50")


def _slow(stop_after: float) -> Behaviour:
    return hang(seconds=stop_after)


CASES: dict[str, Callable[[], Behaviour]] = {
    "read-timeout": lambda: _slow(3),
    "reset-after-request": lambda: reset(),
    "garbage-after-request": lambda: _tcp_garbage,
    "alert-mid-response": lambda: _torn_response,
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest) -> str:
    """Both schemes: users run HTTPS, tests have mostly run HTTP."""
    return str(request.param)


@pytest.fixture
def server_for(
    ca: trustme.CA, scheme: str, tmp_path: Any
) -> Iterator[Callable[[Behaviour], tuple[RawServer, dict[str, Any]]]]:
    """Start a raw server with a behaviour; return it and the client options that trust it."""
    servers: list[RawServer] = []

    def start(behaviour: Behaviour) -> tuple[RawServer, dict[str, Any]]:
        options: dict[str, Any] = {
            "timeout": 5,
            "connect_timeout": 2,
            "read_timeout": 0.3,  # the hanging server never answers: short still holds under load
            "mirrors": [],
            "retry": PinnedPolicy(),
        }
        tls = None
        if scheme == "https":
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1").configure_cert(tls)
            ca_path = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_path))
            options["ca_bundle"] = str(ca_path)
        server = RawServer(behaviour, tls=tls)
        servers.append(server)
        return server, options

    yield start
    for server in servers:
        server.close()


def _assert_unknown(error: SmscError, server: RawServer) -> None:
    # The handler records the request before it acts; on a loaded machine it may not have run yet.
    wait_until(lambda: server.bodies, timeout=10, what="the request must have reached the server")
    assert error.delivery is Delivery.UNKNOWN, f"{type(error).__name__}: {error}"
    assert "nothing was sent" not in str(error)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sync_send_after_request_is_unknown(
    case: str, server_for: Callable[[Behaviour], tuple[RawServer, dict[str, Any]]]
) -> None:
    """SoapSmsc: each failure after the request was written is UNKNOWN, never NOT_SENT."""
    server, options = server_for(CASES[case]())
    client = SoapSmsc("alex", SENTINEL_PSW, endpoint=server.url, sleep=lambda s: None, **options)
    with client, pytest.raises(SmscError) as caught:
        client.send_sms(PHONE, "hello", id="k1")
    _assert_unknown(caught.value, server)
    assert len(server.bodies) == 1, "no blind resend"


@pytest.mark.parametrize("case", sorted(CASES))
def test_async_send_after_request_is_unknown(
    case: str, server_for: Callable[[Behaviour], tuple[RawServer, dict[str, Any]]]
) -> None:
    """AsyncSoapSmsc: each failure after the request was written is UNKNOWN, never NOT_SENT."""
    server, options = server_for(CASES[case]())

    async def no_sleep(seconds: float) -> None:
        return None

    async def scenario() -> SmscError:
        async with AsyncSoapSmsc(
            "alex", SENTINEL_PSW, endpoint=server.url, sleep=no_sleep, **options
        ) as c:
            try:
                await c.send_sms(PHONE, "hello", id="k1")
            except SmscError as exc:
                return exc
        raise AssertionError("the send must fail")

    error = asyncio.run(scenario())
    _assert_unknown(error, server)
    assert len(server.bodies) == 1, "no blind resend"
