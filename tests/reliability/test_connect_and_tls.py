"""Connection-level faults (refused, connect timeout, DNS, TLS, proxies, .netrc, keep-alive) and settings."""

from __future__ import annotations

import datetime
import logging
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import smsc_soap as s
from smsc_soap import SoapSmsc
from smsc_soap._http.types import TransportConfig
from tests.helpers.fakes import FakeSleep
from tests.helpers.raw_server import RawServer, free_port, ok_reply, respond, send
from tests.helpers.secrets import SENTINEL_PSW
from tests.reliability.leaks import find, run


def _check_no_leak(
    error: BaseException | None, caplog: pytest.LogCaptureFixture, *objs: object
) -> None:
    assert not find(SENTINEL_PSW, error=error, records=caplog.records, objects=objs)


# ------------------------------------------------------------------ refused, connect timeout, DNS


def test_refused_read_is_retried_then_not_sent(
    make_client: Callable[..., SoapSmsc], sleeper: FakeSleep, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening: three attempts with backoff, then SmscConnectError, NOT_SENT, retry-safe."""
    caplog.set_level(logging.DEBUG)
    client = make_client(f"http://127.0.0.1:{free_port()}/sys/soap.php")
    _, error = run(client.get_balance)
    assert isinstance(error, s.SmscConnectError)
    assert error.delivery is s.Delivery.NOT_SENT and error.retry_safe
    assert sleeper.delays == [0.5, 1.0]
    _check_no_leak(error, caplog, client)


@pytest.fixture
def backlog_full() -> Iterator[int]:
    """A listener that never accepts, its backlog filled, so the next connect hangs (B-47)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def test_connect_timeout_is_not_sent(
    make_client: Callable[..., SoapSmsc], backlog_full: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A connect that hangs ends at the connect timeout: SmscConnectTimeoutError, NOT_SENT."""
    caplog.set_level(logging.DEBUG)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", backlog_full))
        pytest.skip("this kernel accepts beyond the backlog; connect cannot be made to hang")
    except OSError:
        pass
    finally:
        probe.close()
    client = make_client(
        f"http://127.0.0.1:{backlog_full}/sys/soap.php",
        connect_timeout=0.3,
        retry=s.RetryPolicy(max_attempts=1, send_max_attempts=1),
    )
    started = time.monotonic()
    _, error = run(lambda: send(client))
    # Ended by the connect timeout, not the 5 s default; the margin is for a loaded machine.
    assert time.monotonic() - started < 4
    assert isinstance(error, s.SmscConnectTimeoutError), repr(error)
    assert error.delivery is s.Delivery.NOT_SENT and error.retry_safe
    _check_no_leak(error, caplog, client)


def test_dns_failure_is_not_sent_and_retried(
    monkeypatch: pytest.MonkeyPatch, make_client: Callable[..., SoapSmsc], sleeper: FakeSleep
) -> None:
    """getaddrinfo fails: SmscConnectError, NOT_SENT; the send is retried, never via a hard-coded IP."""
    asked: list[str] = []

    def no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    client = make_client("https://smsc.invalid/sys/soap.php")
    _, error = run(lambda: send(client))
    assert isinstance(error, s.SmscConnectError) and not isinstance(error, s.SmscTlsError)
    assert error.delivery is s.Delivery.NOT_SENT
    assert asked == ["smsc.invalid"] * 3 and len(sleeper.delays) == 2


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "read_timeout"])
@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "5", None, True])
def test_invalid_timeouts_are_refused_at_construction(name: str, value: object) -> None:
    """0, negative, NaN, infinite or non-numeric timeouts are configuration errors (ValueError)."""
    with pytest.raises(ValueError) as info:
        SoapSmsc("alex", SENTINEL_PSW, **{name: value})
    assert isinstance(info.value, s.SmscConfigurationError)
    assert SENTINEL_PSW not in str(info.value)


def test_defaults_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without timeout arguments every request carries (5 s, 30 s) and the call a 60 s deadline
    (the urllib3 path: its urlopen arguments)."""
    import urllib3

    from smsc_soap._http.sync_transport import SyncTransport

    monkeypatch.setattr(SyncTransport, "use_sockets", False)
    config = TransportConfig()
    assert (config.connect_timeout, config.read_timeout, config.deadline) == (5.0, 30.0, 60.0)
    assert config.max_response_bytes == 65536 and config.max_connections <= 14
    seen: list[Any] = []

    def capture(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        seen.append(kwargs)
        raise urllib3.exceptions.NewConnectionError(None, "stop")  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", capture)
    client = SoapSmsc(
        "alex",
        "pw",
        endpoint="http://127.0.0.1:9/x",
        retry=s.RetryPolicy(max_attempts=1, send_max_attempts=1),
    )
    _, error = run(client.get_balance)
    assert isinstance(error, s.SmscConnectError)
    timeout = seen[0]["timeout"]
    assert 0 < timeout.connect_timeout <= 5.0 and 0 < timeout.read_timeout <= 30.0
    retries = urllib3.Retry.from_int(seen[0]["retries"])  # False, or the Retry False makes
    assert seen[0]["redirect"] is False and retries.total is False and retries.redirect == 0
    assert seen[0]["preload_content"] is False and seen[0]["decode_content"] is False


def test_defaults_are_bounded_on_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on the socket path: connect within 5 s, each read within 30 s, the call within 60 s,
    one attempt at the transport (no retry of its own)."""
    from smsc_soap._http import connection

    connects: list[tuple[float, float]] = []
    exchanges: list[tuple[float, float]] = []
    real_open = connection._open_socket
    real_exchange = connection.Connection.exchange

    def open_socket(host: str, port: int, connect_timeout: float, deadline_at: float) -> Any:
        connects.append((connect_timeout, deadline_at - time.monotonic()))
        return real_open(host, port, connect_timeout, deadline_at)

    def exchange(self: Any, *args: Any) -> Any:
        exchanges.append((args[-1], args[-2] - time.monotonic()))  # timeout, deadline_at
        return real_exchange(self, *args)

    monkeypatch.setattr(connection, "_open_socket", open_socket)
    monkeypatch.setattr(connection.Connection, "exchange", exchange)
    once = s.RetryPolicy(max_attempts=1, send_max_attempts=1)
    with (
        RawServer(respond(ok_reply("get_balance"))) as server,
        SoapSmsc("alex", "pw", endpoint=server.url, retry=once) as client,
    ):
        assert client.get_balance().balance
    refused = SoapSmsc("alex", "pw", endpoint=f"http://127.0.0.1:{free_port()}/x", retry=once)
    _, error = run(refused.get_balance)
    assert isinstance(error, s.SmscConnectError)
    assert len(connects) == 2 and len(exchanges) == 1
    for connect_timeout, left in connects:
        assert connect_timeout == 5.0 and 0 < left <= 60.0
    read_timeout, left = exchanges[0]
    assert read_timeout == 30.0 and 0 < left <= 60.0


@pytest.mark.parametrize("value", [0, 15, 100, 2.5, "3"])
def test_max_connections_stays_below_the_service_limit(value: object) -> None:
    """SMSC answers error 9 to 15 concurrent requests: more than 14 connections is refused."""
    with pytest.raises(s.SmscConfigurationError):
        SoapSmsc("alex", "pw", max_connections=value)  # type: ignore[arg-type]


def test_there_is_no_way_to_turn_verification_off() -> None:
    """No session=, verify= or similar seam exists: an impostor can never receive the password."""
    for name in ("session", "verify", "transport", "ssl_context"):
        with pytest.raises(TypeError):
            SoapSmsc("alex", "pw", **{name: False})


def test_plain_http_endpoint_is_refused_outside_loopback() -> None:
    """http:// to another host is a configuration error at construction, before any I/O."""
    with pytest.raises(s.SmscConfigurationError):
        SoapSmsc("alex", "pw", endpoint="http://smsc.ru/sys/soap.php")


# ------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


def _tls_server(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The CA certificate as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _tls_case(ca: trustme.CA, kind: str) -> trustme.LeafCert:
    if kind == "wrong-host":
        return ca.issue_cert("wrong.example")
    if kind == "expired":
        return ca.issue_cert(
            "127.0.0.1",
            not_before=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
            not_after=datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC),
        )
    return trustme.CA().issue_cert("127.0.0.1")  # untrusted: another CA


@pytest.mark.parametrize("kind", ["untrusted", "wrong-host", "expired"])
def test_tls_failures_send_nothing(
    ca: trustme.CA,
    ca_file: str,
    kind: str,
    make_client: Callable[..., SoapSmsc],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Untrusted CA, wrong host name or expired certificate: SmscTlsError, no retry, 0 bodies received."""
    caplog.set_level(logging.DEBUG)
    with RawServer(respond(ok_reply("send_sms")), tls=_tls_server(_tls_case(ca, kind))) as server:
        client = make_client(server.url, ca_bundle=ca_file)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, error = run(lambda: send(client))
    assert isinstance(error, s.SmscTlsError), repr(error)
    assert error.delivery is s.Delivery.NOT_SENT and not error.retry_safe
    assert server.bodies == []
    assert not find(
        SENTINEL_PSW, error=error, records=caplog.records, caught=caught, objects=[client]
    )


def test_custom_ca_bundle_wins_over_the_environment(
    ca: trustme.CA,
    ca_file: str,
    make_client: Callable[..., SoapSmsc],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """ca_bundle= is used even with REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE/SSL_CERT_FILE pointing elsewhere."""
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, str(other))
    with RawServer(
        respond(ok_reply("send_sms")), tls=_tls_server(ca.issue_cert("127.0.0.1"))
    ) as server:
        client = make_client(server.url, ca_bundle=ca_file)
        assert send(client).id == "101"
    assert len(server.bodies) == 1


def test_environment_ca_is_not_trusted_without_ca_bundle(
    ca: trustme.CA,
    ca_file: str,
    make_client: Callable[..., SoapSmsc],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """REQUESTS_CA_BUNDLE alone does not make an impostor trusted: trust_env is off."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    with RawServer(
        respond(ok_reply("send_sms")), tls=_tls_server(ca.issue_cert("127.0.0.1"))
    ) as server:
        client = make_client(server.url)
        _, error = run(lambda: send(client))
    assert isinstance(error, s.SmscTlsError) and server.bodies == []


def test_the_default_context_is_made_once_and_stays_verifying(
    ca: trustme.CA, make_client: Callable[..., SoapSmsc]
) -> None:
    """Clients share one certifi context (made once, ~18 ms); no client loosens it for the others."""
    import asyncio

    from smsc_soap import AsyncSoapSmsc
    from smsc_soap._http.types import ssl_context

    shared = ssl_context(None)

    async def async_send(url: str) -> BaseException | None:
        async with AsyncSoapSmsc("alex", SENTINEL_PSW, endpoint=url, timeout=5) as client:
            try:
                await client.send_sms("79991234567", "hi")
            except s.SmscError as exc:
                return exc
        return None

    with RawServer(
        respond(ok_reply("send_sms")), tls=_tls_server(ca.issue_cert("127.0.0.1"))
    ) as server:
        for _ in range(2):
            _, error = run(lambda: send(make_client(server.url)))
            assert isinstance(error, s.SmscTlsError), repr(error)
            assert isinstance(asyncio.run(async_send(server.url)), s.SmscTlsError)
    assert server.bodies == []
    assert ssl_context(None) is shared
    assert shared.verify_mode is ssl.CERT_REQUIRED and shared.check_hostname
    assert ssl_context(None) is not ssl_context(certifi_where())  # a bundle is read per client


def certifi_where() -> str:
    import certifi

    return str(certifi.where())


def test_tls_to_a_plain_port_is_not_sent(make_client: Callable[..., SoapSmsc]) -> None:
    """https:// to a plain HTTP server fails the handshake: typed, NOT_SENT, no body parsed as sent."""
    with RawServer(respond(ok_reply("send_sms"))) as server:
        client = make_client(
            server.url.replace("http://", "https://"),
            connect_timeout=0.3,  # the server never answers the handshake: short still holds
            retry=s.RetryPolicy(max_attempts=1, send_max_attempts=1),
        )
        _, error = run(lambda: send(client))
    assert isinstance(error, s.SmscError)
    assert isinstance(error, s.SmscTlsError | s.SendOutcomeUnknownError)


def test_plain_http_to_a_tls_port_is_a_typed_error(
    ca: trustme.CA, make_client: Callable[..., SoapSmsc]
) -> None:
    """http:// to a TLS server: a typed error, never a success."""
    with RawServer(
        respond(ok_reply("send_sms")), tls=_tls_server(ca.issue_cert("127.0.0.1"))
    ) as server:
        client = make_client(server.url.replace("https://", "http://"))
        _, error = run(lambda: send(client))
    assert isinstance(error, s.SmscError) and server.bodies == []


# ------------------------------------------------------------------ proxies, .netrc, keep-alive


def test_proxy_from_the_environment_is_ignored(
    make_client: Callable[..., SoapSmsc], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY in the env: the capture proxy receives nothing (trust_env is off)."""
    with RawServer(respond(b"")) as proxy, RawServer(respond(ok_reply("get_balance"))) as server:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        client = make_client(server.url)
        client.get_balance()
    assert proxy.connections == 0 and server.connections == 1


def test_explicit_proxy_is_used(make_client: Callable[..., SoapSmsc]) -> None:
    """proxies= is honoured: the request goes through the given proxy."""
    with RawServer(respond(ok_reply("get_balance"))) as proxy:
        client = make_client(
            "http://127.0.0.1:9/sys/soap.php", proxies={"http": f"http://127.0.0.1:{proxy.port}"}
        )
        assert client.get_balance().balance
    assert proxy.connections == 1 and proxy.heads[0].startswith(b"POST http://127.0.0.1:9/")


def test_netrc_adds_no_authorization(
    make_client: Callable[..., SoapSmsc], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A .netrc entry for the host adds no Authorization header (CVE-2024-47081 class)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    with RawServer(respond(ok_reply("get_balance"))) as server:
        make_client(server.url).get_balance()
    head = server.heads[0].lower()
    assert b"authorization" not in head and b"hunter2" not in head
    assert b"psw" not in head.split(b"\r\n")[0], "no credential in the request line"


def test_stale_keep_alive_connection_is_not_a_duplicate(
    make_client: Callable[..., SoapSmsc],
) -> None:
    """The server closes an idle keep-alive socket; the next send opens a new one and arrives once."""
    with RawServer(
        respond(ok_reply("send_sms"), keep_alive=False), respond(ok_reply("send_sms", "102"))
    ) as server:
        client = make_client(server.url)
        assert send(client).id == "101"
        time.sleep(0.2)
        assert send(client, "102").id == "102"
    assert server.connections == 2 and len(server.bodies) == 2
