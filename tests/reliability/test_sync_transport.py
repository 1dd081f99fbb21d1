"""The sync transport (sockets, and its urllib3 path): the deadline watchdog (woken only for an earlier deadline, bounded,
still on time) and no connection opened after close()."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from smsc_soap._http.watchdog import Watchdog


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected socket pair: the watchdog shuts ``a`` down, ``b`` sees the end."""
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_a_later_deadline_does_not_wake_the_thread(pair: tuple[socket.socket, ...]) -> None:
    """Calls share one deadline setting: arming behind the earliest one costs no wake-up."""
    dog = Watchdog()
    now = time.monotonic()
    first = dog.arm(pair[0], now + 100)
    assert dog.wakeups == 1
    tokens = [dog.arm(pair[0], now + 100 + i) for i in range(1, 500)]
    assert dog.wakeups == 1, "no wake-up for deadlines after the one the thread waits for"
    for token in [first, *tokens]:
        dog.disarm(token)
    dog.arm(pair[0], now + 50)
    assert dog.wakeups == 2, "an earlier deadline wakes the thread"


def test_disarmed_entries_do_not_pile_up(pair: tuple[socket.socket, ...]) -> None:
    """Thousands of calls arm and disarm with a far deadline: the heap stays small."""
    dog = Watchdog()
    now = time.monotonic()
    for i in range(5000):
        dog.disarm(dog.arm(pair[0], now + 60 + i * 1e-6))
    armed, heap = dog.pending()
    assert armed == 0 and heap <= 65


def test_an_earlier_deadline_is_still_enforced(pair: tuple[socket.socket, socket.socket]) -> None:
    """With the thread asleep towards a far deadline, a near one still shuts its socket down."""
    a, b = pair
    other_a, other_b = socket.socketpair()
    try:
        dog = Watchdog()
        now = time.monotonic()
        dog.arm(other_a, now + 100)
        dog.arm(a, now + 0.05)
        b.settimeout(10)
        assert b.recv(1) == b"", "the peer sees the shutdown"
        assert time.monotonic() - now < 10
        other_b.setblocking(False)
        with pytest.raises(BlockingIOError):
            other_b.recv(1)  # the far one is untouched
    finally:
        other_a.close()
        other_b.close()


def test_a_closed_transport_opens_no_connection() -> None:
    """close() racing a call past the client's check: the transport itself opens nothing."""
    from smsc_soap import ClientClosedError
    from smsc_soap._http.sync_transport import SyncTransport
    from smsc_soap._http.types import TransportConfig
    from tests.helpers.raw_server import RawServer, ok_reply, respond

    with RawServer(respond(ok_reply("get_balance"))) as server:
        transport = SyncTransport(TransportConfig())
        transport.close()
        with pytest.raises(ClientClosedError):
            transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
    assert server.connections == 0


def test_building_a_client_imports_no_http_stack() -> None:
    """``SoapSmsc(...)`` imports neither requests nor urllib3 nor ssl: the first call does, when it needs them."""
    import subprocess
    import sys

    code = (
        "import sys, smsc_soap\n"
        "smsc_soap.SoapSmsc('alex', 'pw', endpoint='http://127.0.0.1:9/x')\n"
        "print(sorted(m for m in ('requests', 'urllib3', 'ssl', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"


def test_a_call_over_http_imports_no_http_library() -> None:
    """The socket path: a whole call to an http:// endpoint imports neither urllib3, requests,
    http.client nor ssl (nor email's parser, which http.client reads headers with)."""
    import subprocess
    import sys

    from tests.helpers.raw_server import RawServer, ok_reply, respond

    with RawServer(respond(ok_reply("get_balance"))) as server:
        code = (
            "import sys, smsc_soap\n"
            f"c = smsc_soap.SoapSmsc('alex', 'pw', endpoint={server.url!r}, mirrors=[])\n"
            "print(c.get_balance().balance)\n"
            "c.close()\n"
            "names = ('requests', 'urllib3', 'ssl', 'httpx', 'http.client', 'email.parser')\n"
            "print(sorted(m for m in names if m in sys.modules))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["100.50", "[]"], done.stdout
    assert server.bodies, "the call reached the server"


class _ConnectProxy:
    """A CONNECT-only HTTP proxy on 127.0.0.1 that tunnels bytes and records what it saw in clear."""

    def __init__(self) -> None:
        import threading

        self.requests: list[bytes] = []
        self.seen = bytearray()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._tunnel, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _tunnel(self, client: socket.socket) -> None:
        import selectors

        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests.append(head)
            host, _, port = head.split(b" ")[1].decode().rpartition(":")
            with socket.create_connection((host, int(port)), timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                selector = selectors.DefaultSelector()
                selector.register(client, selectors.EVENT_READ, upstream)
                selector.register(upstream, selectors.EVENT_READ, client)
                with selector:
                    while True:
                        events = selector.select(timeout=10)
                        if not events:
                            return
                        for key, _ in events:
                            source: socket.socket = key.fileobj  # type: ignore[assignment]
                            data = source.recv(65536)
                            if not data:
                                return
                            self.seen += data
                            key.data.sendall(data)

    def close(self) -> None:
        self._listener.close()


def test_https_through_a_connect_proxy(tmp_path: Any) -> None:
    """proxies={'https': ...}: a CONNECT tunnel, TLS verified end to end, the password never in clear."""
    import ssl

    import trustme

    from smsc_soap import SoapSmsc
    from tests.helpers.raw_server import RawServer, ok_reply, respond
    from tests.helpers.secrets import SENTINEL_PSW

    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    proxy = _ConnectProxy()
    try:
        with RawServer(respond(ok_reply("get_balance")), tls=context) as server:
            port = server.port
            with SoapSmsc(
                "alex",
                SENTINEL_PSW,
                endpoint=server.url,
                mirrors=[],
                timeout=10,
                ca_bundle=str(ca_path),
                proxies={"https": f"http://127.0.0.1:{proxy.port}"},
            ) as client:
                assert client.get_balance().balance
        assert len(proxy.requests) == 1
        assert proxy.requests[0].startswith(f"CONNECT 127.0.0.1:{port} ".encode())
        assert proxy.seen and SENTINEL_PSW.encode() not in proxy.seen
        assert SENTINEL_PSW.encode() in server.bodies[0]
    finally:
        proxy.close()


@pytest.fixture(params=["sockets", "urllib3", "requests"])
def transport_class(request: pytest.FixtureRequest) -> Any:
    """The shipped transport on sockets and on its urllib3 path, and the requests-based one it
    replaced (kept for the benchmark)."""
    import functools

    from smsc_soap._http.requests_transport import RequestsTransport
    from smsc_soap._http.sync_transport import SyncTransport

    if request.param == "sockets":
        return SyncTransport
    if request.param == "urllib3":
        return functools.partial(SyncTransport, sockets=False)
    return RequestsTransport


def test_both_transports_map_failures_alike(transport_class: Any) -> None:
    """At the transport seam: a reply, a refused connection (NOT_SENT), a reset after the request and
    a silent server (UNKNOWN), for the shipped transport and the requests one alike."""
    from smsc_soap import Delivery, SmscConnectError, SmscTransportError
    from smsc_soap._http.types import TransportConfig
    from tests.helpers.fakes import wait_until
    from tests.helpers.raw_server import RawServer, free_port, hang, ok_reply, reset, respond

    config = TransportConfig(connect_timeout=1, read_timeout=0.5, deadline=5)
    transport = transport_class(config)
    try:
        with RawServer(respond(ok_reply("get_balance")), reset(), hang(seconds=2)) as server:
            reply = transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
            assert reply.status == 200 and b"<balance>" in reply.body
            for _ in range(2):  # reset after the request, then a server that never answers
                with pytest.raises(SmscTransportError) as caught:
                    transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
                assert caught.value.delivery is Delivery.UNKNOWN, repr(caught.value)
            # The handler records a request before it acts; on a loaded machine it may lag.
            wait_until(lambda: len(server.bodies) >= 3, timeout=10)
            assert len(server.bodies) == 3
        refused = f"http://127.0.0.1:{free_port()}/sys/soap.php"
        with pytest.raises(SmscConnectError) as info:
            transport.post(refused, b"<x/>", {}, time.monotonic() + 5)
        assert info.value.delivery is Delivery.NOT_SENT
    finally:
        transport.close()


@pytest.mark.parametrize("path", ["sockets", "urllib3"])
def test_headers_and_envelope_leave_in_one_write(
    monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A request is one write (headers and envelope together), which the server reads whole; the
    envelope is never written twice, and the reply is read as before."""
    import http.client

    from smsc_soap._http.sync_transport import SyncTransport
    from smsc_soap._http.types import TransportConfig
    from tests.helpers.raw_server import RawServer, ok_reply, respond

    writes: list[bytes] = []
    if path == "sockets":
        sendall = socket.socket.sendall

        def counting_sendall(self: Any, data: Any, *args: Any) -> None:
            if bytes(data).startswith(b"POST "):  # the client's writes, not the server's replies
                writes.append(bytes(data))
            sendall(self, data, *args)

        monkeypatch.setattr(socket.socket, "sendall", counting_sendall)
    else:
        send = http.client.HTTPConnection.send

        def counting(self: Any, data: Any) -> None:
            writes.append(bytes(data))
            send(self, data)

        monkeypatch.setattr(http.client.HTTPConnection, "send", counting)
    envelope = b"<envelope>" + b"x" * 3000 + b"</envelope>"
    with RawServer(respond(ok_reply("get_balance"))) as server:
        port = server.port
        transport = SyncTransport(TransportConfig(), sockets=path == "sockets")
        try:
            reply = transport.post(
                server.url, envelope, {"SOAPAction": '"a"'}, time.monotonic() + 5
            )
        finally:
            transport.close()
    assert reply.status == 200 and b"<balance>100.50</balance>" in reply.body
    assert len(writes) == 1
    head, _, sent = writes[0].partition(b"\r\n\r\n")
    assert (
        sent == envelope and f"\r\nContent-Length: {len(envelope)}\r\n".encode() in head + b"\r\n"
    )
    assert server.bodies == [envelope]
    if path == "sockets":
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST /sys/soap.php HTTP/1.1"
        assert f"Host: 127.0.0.1:{port}".encode() in lines
        assert b"Accept-Encoding: identity" in lines and b'SOAPAction: "a"' in lines
        assert any(line.startswith(b"User-Agent: smsc-soap/") for line in lines)
