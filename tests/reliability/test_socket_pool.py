"""The sync transport's socket path against real servers on 127.0.0.1: keep-alive reuse and when a
connection must not be reused, the pool bound under threads, replies framed every way, limits, the
deadline and TLS."""

from __future__ import annotations

import gc
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from smsc_soap import (
    ClientClosedError,
    Delivery,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscProtocolError,
    SmscResponseTooLargeError,
    SmscTlsError,
    SmscTransportError,
)
from smsc_soap._http.sync_transport import SyncTransport
from smsc_soap._http.types import TransportConfig
from tests.helpers.raw_server import (
    Behaviour,
    Conn,
    RawServer,
    drip,
    hang,
    ok_reply,
    raw,
    reset,
    respond,
)

BODY = ok_reply("get_balance").encode()


def keep_alive(data: bytes, *, then_close: bool = False, delay: float = 0.0) -> Behaviour:
    """Send ``data`` as the whole reply; keep the connection open for the next request unless
    ``then_close`` (which closes it without saying so in the reply)."""

    def behave(conn: Conn) -> None:
        if delay:
            time.sleep(delay)
        conn.sock.sendall(data)

    behave.keep_alive = not then_close  # type: ignore[attr-defined]
    return behave


OK_KEEP = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY


@pytest.fixture
def transport() -> Iterator[SyncTransport]:
    made = SyncTransport(TransportConfig(connect_timeout=2, read_timeout=5, deadline=10))
    yield made
    made.close()


def post(transport: SyncTransport, url: str, seconds: float = 5) -> bytes:
    reply = transport.post(url, b"<x/>", {"SOAPAction": '"a"'}, time.monotonic() + seconds)
    assert reply.status == 200
    return reply.body


def test_keep_alive_connection_is_reused(transport: SyncTransport) -> None:
    with RawServer(keep_alive(OK_KEEP)) as server:
        for _ in range(5):
            assert post(transport, server.url) == BODY
    assert server.accepted == 1 and len(server.bodies) == 5


def test_stale_connection_is_dropped_before_reuse(transport: SyncTransport) -> None:
    """The server closes the idle socket without a word: the next call opens another and the request
    arrives exactly once."""
    with RawServer(keep_alive(OK_KEEP, then_close=True)) as server:
        assert post(transport, server.url) == BODY
        time.sleep(0.2)  # the server's close reaches this side
        assert post(transport, server.url) == BODY
    assert server.accepted == 2 and len(server.bodies) == 2


def test_junk_on_an_idle_connection_drops_it(transport: SyncTransport) -> None:
    """Bytes arriving on an idle connection (a late 408, garbage): never sent on, never read as a reply."""

    def reply_then_junk(conn: Conn) -> None:
        conn.sock.sendall(OK_KEEP)
        time.sleep(0.05)
        conn.sock.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")

    reply_then_junk.keep_alive = True  # type: ignore[attr-defined]
    with RawServer(reply_then_junk, keep_alive(OK_KEEP)) as server:
        assert post(transport, server.url) == BODY
        time.sleep(0.3)
        assert post(transport, server.url) == BODY
    assert server.accepted == 2 and len(server.bodies) == 2


@pytest.mark.parametrize("check", ["poll", "select"])
def test_reuse_check_without_poll(
    check: str, transport: SyncTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where there is no poll() (Windows) the reuse check uses select(): a connection the server
    closed, or one holding junk, is still dropped unused and each request arrives exactly once."""
    import smsc_soap._http.connection as module

    monkeypatch.setattr(module, "_HAS_POLL", check == "poll")

    def reply_then_junk(conn: Conn) -> None:
        conn.sock.sendall(OK_KEEP)
        time.sleep(0.05)
        conn.sock.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")

    reply_then_junk.keep_alive = True  # type: ignore[attr-defined]
    with RawServer(reply_then_junk, keep_alive(OK_KEEP, then_close=True)) as server:
        assert post(transport, server.url) == BODY
        time.sleep(0.3)
        assert post(transport, server.url) == BODY  # the junk-holding connection was dropped
        time.sleep(0.3)
        assert post(transport, server.url) == BODY  # the one the server closed was dropped
    assert server.accepted == 3 and len(server.bodies) == 3


def test_the_http_layer_imports_where_there_is_no_poll() -> None:
    """Windows' select module has no poll() nor POLL* constants: the package, the sync socket layer
    and the asyncio one still import (the async module imports the sync one's helpers)."""
    code = (
        "import select\n"
        "for name in [n for n in dir(select) if n == 'poll' or n.startswith('POLL')]:\n"
        "    delattr(select, name)\n"
        "import smsc_soap\n"
        "import smsc_soap._http.sync_transport, smsc_soap._http.async_transport\n"
        "from smsc_soap._http import async_connection, connection\n"
        "assert not connection._HAS_POLL and not async_connection._HAS_POLL\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_bytes_after_an_empty_reply_forbid_reuse(transport: SyncTransport) -> None:
    """A reply with no body followed, in the same write, by a second reply nobody asked for: the
    connection's framing is in doubt, so the next call opens another connection."""
    empty = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    with RawServer(keep_alive(empty + OK_KEEP), keep_alive(OK_KEEP)) as server:
        first = transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
        assert (first.status, first.body) == (200, b"")
        assert post(transport, server.url) == BODY
    assert server.accepted == 2 and len(server.bodies) == 2


def test_a_content_length_sent_twice_with_one_value_is_read(transport: SyncTransport) -> None:
    """Content-Length repeated with the same value (RFC 9110 lets a recipient accept it, and the codec
    does): the reply is read, not refused as a protocol error (for a send: an outcome made unknown)."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n" % (
        len(BODY),
        len(BODY),
    )
    with RawServer(keep_alive(reply + BODY)) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 1


def test_a_content_length_sent_twice_with_two_values_is_refused(transport: SyncTransport) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: 3\r\n\r\n" % len(BODY)
    with RawServer(keep_alive(reply + BODY)) as server, pytest.raises(SmscTransportError) as caught:
        post(transport, server.url)
    assert caught.value.delivery is Delivery.UNKNOWN


@pytest.mark.parametrize("lock", ["watchdog", "transport"])
def test_a_fork_while_another_thread_holds_a_lock_of_the_call_path(
    lock: str, transport: SyncTransport
) -> None:
    """Every call arms and disarms the deadline watchdog under its lock, and a child's first call
    takes the transport's lock to drop the parent's pools: a fork while another thread holds either
    must not leave the child's calls blocked on a lock no thread will release."""
    from smsc_soap._http.watchdog import WATCHDOG

    with RawServer(keep_alive(OK_KEEP)) as server:
        assert post(transport, server.url) == BODY  # the watchdog thread runs
        held, release = threading.Event(), threading.Event()
        taken = WATCHDOG._cond if lock == "watchdog" else transport._lock

        def hold() -> None:
            with taken:
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # child: report through the exit code, never return into pytest
                code = 1
                try:
                    code = 0 if post(transport, server.url, seconds=3) == BODY else 2
                finally:
                    os._exit(code)
        finally:
            release.set()
            holder.join()
        for _ in range(100):  # the child's call is bounded by its 3 s deadline
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"the child's call blocked on the {lock} lock held at the fork")
    assert os.waitstatus_to_exitcode(status) == 0


def test_connection_close_reply_is_not_reused(transport: SyncTransport) -> None:
    with RawServer(respond(BODY, keep_alive=False)) as server:
        for _ in range(3):
            assert post(transport, server.url) == BODY
    assert server.accepted == 3


def test_http_1_0_reply_is_read_and_not_reused(transport: SyncTransport) -> None:
    """An HTTP/1.0 reply (the server keeps the socket open anyway): read whole, connection not reused."""
    reply = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    with RawServer(keep_alive(reply)) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 2


def test_chunked_reply_with_trailer_is_read_and_reused(transport: SyncTransport) -> None:
    chunks = b"".join(
        b"%x;note=1\r\n" % len(BODY[i : i + 50]) + BODY[i : i + 50] + b"\r\n"
        for i in range(0, len(BODY), 50)
    )
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\nX-T: 1\r\n\r\n"
    )
    with RawServer(keep_alive(reply)) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 1


def test_close_delimited_reply(transport: SyncTransport) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n" + BODY
    with RawServer(keep_alive(reply, then_close=True)) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 2


def test_interim_replies_are_skipped(transport: SyncTransport) -> None:
    """100 Continue and 103 Early Hints before the reply: skipped, the final reply read and reused."""
    reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + OK_KEEP
    with RawServer(keep_alive(reply)) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 1


def test_reply_dribbled_byte_by_byte(transport: SyncTransport) -> None:
    """A reply written one byte per write (head and body): read whole, as if it came at once."""

    def dribble(conn: Conn) -> None:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(OK_KEEP)):
            conn.sock.sendall(OK_KEEP[i : i + 1])

    dribble.keep_alive = True  # type: ignore[attr-defined]
    with RawServer(dribble) as server:
        assert post(transport, server.url) == BODY
        assert post(transport, server.url) == BODY
    assert server.accepted == 1


@pytest.mark.parametrize("failure", ["read-timeout", "redirect", "garbage", "short-body"])
def test_a_failed_reply_never_leaves_its_connection_for_reuse(failure: str) -> None:
    """After a read timeout, a refused reply (3xx, body unread), garbage or a short body, the next call
    opens a new connection: the failed one is closed, never read from again."""
    first: Behaviour = {
        "read-timeout": keep_alive(OK_KEEP, delay=1.0),
        "redirect": keep_alive(b"HTTP/1.1 307 X\r\nLocation: /y\r\nContent-Length: 5\r\n\r\nhello"),
        "garbage": keep_alive(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n" + OK_KEEP),
        "short-body": keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n" + BODY),
    }[failure]
    transport = SyncTransport(TransportConfig(read_timeout=0.3, deadline=10))
    try:
        with RawServer(first, keep_alive(OK_KEEP)) as server:
            with pytest.raises(SmscTransportError) as caught:
                post(transport, server.url, seconds=0.6 if failure == "short-body" else 5)
            assert caught.value.delivery is Delivery.UNKNOWN, repr(caught.value)
            assert post(transport, server.url) == BODY
    finally:
        transport.close()
    assert server.accepted == 2 and len(server.bodies) == 2


class Failing:
    """A behaviour that fails each request a different way, in turn, until ``healed`` is set; then a
    good keep-alive reply."""

    def __init__(self) -> None:
        self.healed = False
        self.count = 0
        self.kinds: list[Behaviour] = [
            reset(),
            reset(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc"),
            raw(b"garbage\r\n\r\n"),
            respond(b"x", 302, {"Location": "http://elsewhere/"}, keep_alive=True),
            respond(b"x" * 100_000, keep_alive=True),
            respond(b"x", headers={"Content-Encoding": "gzip"}, keep_alive=True),
            hang(seconds=1),
        ]
        self.keep_alive = True

    def __call__(self, conn: Conn) -> None:
        if self.healed:
            conn.sock.sendall(OK_KEEP)
            return
        kind = self.kinds[self.count % len(self.kinds)]
        self.count += 1
        kind(conn)
        if getattr(kind, "keep_alive", False) is False:
            conn.sock.close()  # the server's loop then ends on the closed socket


def test_many_failed_calls_leave_the_pool_its_full_capacity() -> None:
    """Resets, garbage, refused replies (3xx, too large, compressed) and read timeouts, over and over
    on a pool of two: no slot is lost, no failed connection is kept, and both slots serve again."""
    failing = Failing()
    transport = SyncTransport(TransportConfig(read_timeout=0.2, deadline=10, max_connections=2))
    try:
        with RawServer(failing) as server:
            kinds: set[str] = set()
            for _ in range(3 * len(failing.kinds)):
                with pytest.raises((SmscTransportError, SmscProtocolError)) as caught:
                    post(transport, server.url)
                kinds.add(type(caught.value).__name__)
            (pool,) = transport._socket_pools.values()
            assert pool._open == 0 and pool._idle == []
            assert len(kinds) >= 4, kinds
            failing.healed = True
            barrier = threading.Barrier(2)
            results: list[bytes] = []

            def call() -> None:
                barrier.wait(5)
                results.append(post(transport, server.url))

            threads = [threading.Thread(target=call) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert results == [BODY, BODY]
            assert pool._open <= 2
    finally:
        transport.close()


@pytest.mark.parametrize("framing", ["declared", "chunked", "close-delimited"])
def test_reply_over_the_size_limit(framing: str) -> None:
    """Over max_response_bytes: SmscResponseTooLargeError (UNKNOWN), the connection not reused."""
    big = b"A" * 5000
    reply = {
        "declared": b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big,
        "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"400\r\n" + b"A" * 0x400 + b"\r\n") * 5
        + b"0\r\n\r\n",
        "close-delimited": b"HTTP/1.1 200 OK\r\n\r\n" + big,
    }[framing]
    transport = SyncTransport(TransportConfig(max_response_bytes=2000))
    try:
        with RawServer(
            keep_alive(reply, then_close=framing == "close-delimited"), keep_alive(OK_KEEP)
        ) as server:
            with pytest.raises(SmscResponseTooLargeError) as caught:
                post(transport, server.url)
            assert caught.value.delivery is Delivery.UNKNOWN
            assert post(transport, server.url) == BODY
        assert server.accepted == 2
    finally:
        transport.close()


def test_headers_over_the_cap_are_refused(transport: SyncTransport) -> None:
    """70 KiB of headers: a typed UNKNOWN error at once, not a read of the whole flood."""
    flood = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n" + BODY
    with (
        RawServer(keep_alive(flood, then_close=True)) as server,
        pytest.raises(SmscTransportError) as caught,
    ):
        post(transport, server.url)
    assert caught.value.delivery is Delivery.UNKNOWN
    assert "header block" in str(caught.value) and len(server.bodies) == 1


def test_slowloris_reply_is_cut_by_the_deadline() -> None:
    """Headers dripped one line every 0.1 s: each read is within the read timeout, the deadline ends it."""
    transport = SyncTransport(TransportConfig(read_timeout=5, deadline=10))
    try:
        with RawServer(drip(b"HTTP/1.1 200 OK\r\n", b"X-a: b\r\n", 0.1, limit=20)) as server:
            began = time.monotonic()
            with pytest.raises(SmscDeadlineExceededError) as caught:
                transport.post(server.url, b"<x/>", {}, began + 0.8)
            took = time.monotonic() - began
    finally:
        transport.close()
    assert caught.value.delivery is Delivery.UNKNOWN
    assert 0.7 <= took < 5, took


def test_max_connections_respected_under_20_threads() -> None:
    """20 threads, max_connections=3: every call answered, at most 3 connections ever open."""
    transport = SyncTransport(TransportConfig(max_connections=3, deadline=30))
    in_flight = [0, 0]  # now, most
    lock = threading.Lock()

    def slow(conn: Conn) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        conn.sock.sendall(OK_KEEP)

    slow.keep_alive = True  # type: ignore[attr-defined]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                assert post(transport, server.url, seconds=30) == BODY
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        with RawServer(slow) as server:
            threads = [threading.Thread(target=worker) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
    finally:
        transport.close()
    assert not errors, errors[:3]
    assert len(server.bodies) == 100
    assert server.accepted <= 3 and in_flight[1] <= 3


def test_no_free_connection_in_time_is_not_sent() -> None:
    """max_connections=1 held by a slow call: the next one waits its time left, then NOT_SENT."""
    transport = SyncTransport(TransportConfig(max_connections=1, deadline=10))
    slow = keep_alive(OK_KEEP, delay=1.0)
    try:
        with RawServer(slow) as server:
            first = threading.Thread(target=post, args=(transport, server.url))
            first.start()
            while not server.bodies:
                time.sleep(0.01)
            with pytest.raises(SmscConnectTimeoutError) as caught:
                transport.post(server.url, b"<y/>", {}, time.monotonic() + 0.2)
            first.join(10)
    finally:
        transport.close()
    assert caught.value.delivery is Delivery.NOT_SENT
    assert server.bodies == [b"<x/>"]


def test_close_racing_a_call_opens_nothing() -> None:
    """A call waiting for a pooled connection when close() comes: ClientClosedError, nothing opened."""
    transport = SyncTransport(TransportConfig(max_connections=1, deadline=10))
    slow = keep_alive(OK_KEEP, delay=2.0)  # holds the one connection well past close()
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            transport.post(server.url, b"<y/>", {}, time.monotonic() + 5)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    with RawServer(slow) as server:
        first = threading.Thread(target=post, args=(transport, server.url))
        first.start()
        while not server.bodies:
            time.sleep(0.01)
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.1)
        transport.close()
        waiting.join(10)
        first.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], ClientClosedError)
    assert server.accepted == 1 and server.bodies == [b"<x/>"]


# ------------------------------------------------------------------ TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _tls(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


def test_https_keep_alive_is_reused(ca: trustme.CA, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    transport = SyncTransport(TransportConfig(ca_bundle=str(ca_file)))
    try:
        with RawServer(keep_alive(OK_KEEP), tls=_tls(ca.issue_cert("127.0.0.1"))) as server:
            for _ in range(4):
                assert post(transport, server.url) == BODY
    finally:
        transport.close()
    assert server.accepted == 1 and len(server.bodies) == 4


@pytest.mark.parametrize("kind", ["wrong-host", "untrusted"])
def test_tls_refused_certificate_is_not_sent(ca: trustme.CA, tmp_path: Path, kind: str) -> None:
    """A certificate for another name (or from another CA): SmscTlsError, NOT_SENT, 0 bodies."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert = (
        ca.issue_cert("wrong.example")
        if kind == "wrong-host"
        else trustme.CA().issue_cert("127.0.0.1")
    )
    transport = SyncTransport(TransportConfig(ca_bundle=str(ca_file)))
    try:
        with (
            RawServer(keep_alive(OK_KEEP), tls=_tls(cert)) as server,
            pytest.raises(SmscTlsError) as caught,
        ):
            post(transport, server.url)
    finally:
        transport.close()
    assert caught.value.delivery is Delivery.NOT_SENT and not caught.value.retry_safe
    assert server.bodies == []


def test_tls_handshake_never_answered_is_not_sent() -> None:
    """https:// to a server that never answers the handshake: a TLS error within the connect timeout,
    NOT_SENT (no request byte was written)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/sys/soap.php"
        transport = SyncTransport(TransportConfig(connect_timeout=0.3))
        try:
            began = time.monotonic()
            with pytest.raises(SmscTlsError) as caught:
                post(transport, url)
            assert time.monotonic() - began < 3
        finally:
            transport.close()
    finally:
        listener.close()
    assert caught.value.delivery is Delivery.NOT_SENT


TOO_LARGE = b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class EarlyAnswer:
    """A server that answers 413 as soon as it has a request's head, and closes without reading the
    body (as a front end with a body-size limit does); counts the connections it took.

    ``keep_open``: the 413 says nothing of closing and the server keeps the connection open, reading
    nothing more (a careless front end)."""

    def __init__(self, *, keep_open: bool = False, reply: bytes = TOO_LARGE) -> None:
        self.keep_open = keep_open
        self.reply = reply
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.accepted = 0
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/sys/soap.php"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            if self.keep_open:
                conn.sendall(self.reply.replace(b"Connection: close\r\n", b""))
                self.stop.wait(10)
            else:
                conn.sendall(self.reply)
                time.sleep(0.05)  # the reply reaches the client before the close resets it

    def close(self) -> None:
        self.stop.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
        except OSError:
            pass
        self.listener.close()
        for thread in [self.thread, *self.threads]:
            thread.join(10)


#: An envelope larger than what the kernel buffers on both sides absorb: the write is still going
#: when the server closes.
BIG = b"<x>" + b"a" * (16 * 1024 * 1024) + b"</x>"


def test_a_reply_that_comes_before_the_request_is_written_is_read() -> None:
    """The server answers 413 after the head and closes unread: the write fails with a reset, yet
    the server's reply was received and is what the call returns (not a bare connection failure);
    the connection is not reused."""
    server = EarlyAnswer()
    transport = SyncTransport(TransportConfig(connect_timeout=2, read_timeout=5, deadline=10))
    try:
        for _ in range(2):
            reply = transport.post(server.url, BIG, {}, time.monotonic() + 8)
            assert (reply.status, reply.body) == (413, b"")
    finally:
        transport.close()
        server.close()
    assert server.accepted == 2


def test_a_408_found_when_the_write_fails_is_not_taken_for_the_reply() -> None:
    """408 is what a server sends as it closes a connection it timed out, not an answer to the
    request being written: the call fails as a broken connection (which a read may repeat), not as
    an HTTP 408 reply."""
    timed_out = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    server = EarlyAnswer(reply=timed_out)
    transport = SyncTransport(TransportConfig(connect_timeout=2, read_timeout=5, deadline=10))
    try:
        with pytest.raises(SmscTransportError) as caught:
            transport.post(server.url, BIG, {}, time.monotonic() + 8)
    finally:
        transport.close()
        server.close()
    assert type(caught.value) is SmscTransportError
    assert caught.value.delivery is Delivery.UNKNOWN


def test_an_early_reply_on_a_connection_left_open_is_not_reused() -> None:
    """The 413 comes without Connection: close and the server keeps the connection open, reading no
    more of the request: the reply is returned and the connection, whose request was never read
    whole, is not used again (the next request would wait behind the unread rest)."""
    server = EarlyAnswer(keep_open=True)
    transport = SyncTransport(TransportConfig(connect_timeout=2, read_timeout=0.5, deadline=10))
    try:
        for _ in range(2):
            reply = transport.post(server.url, BIG, {}, time.monotonic() + 8)
            assert reply.status == 413
    finally:
        transport.close()
        server.close()
    assert server.accepted == 2


def test_a_tls_handshake_dripped_byte_by_byte_is_cut_by_the_connect_timeout() -> None:
    """A server that answers the ClientHello one byte at a time, each within the socket timeout: the
    handshake as a whole is bounded (by the connect timeout and the deadline), NOT_SENT."""
    record = b"\x16\x03\x03\x3e\x80"  # a handshake record announcing 16,000 bytes

    def behave(conn: socket.socket) -> None:
        conn.recv(4096)  # the ClientHello
        conn.sendall(record)
        end = time.monotonic() + 6
        while time.monotonic() < end:
            time.sleep(0.1)
            conn.sendall(b"\x02")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []

    def serve() -> None:
        sock, _ = listener.accept()
        accepted.append(sock)
        try:
            behave(sock)
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/sys/soap.php"
    transport = SyncTransport(TransportConfig(connect_timeout=0.5, deadline=10))
    try:
        began = time.monotonic()
        with pytest.raises(SmscTlsError) as caught:
            post(transport, url, seconds=5)
        elapsed = time.monotonic() - began
    finally:
        transport.close()
        listener.close()
        thread.join(10)
        for sock in accepted:
            sock.close()
    assert elapsed < 2, elapsed
    assert caught.value.delivery is Delivery.NOT_SENT
    assert "in time" in str(caught.value)


@pytest.mark.parametrize("stage", ["connect", "handshake"])
def test_ctrl_c_while_opening_a_connection_closes_it_and_frees_the_slot(
    stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KeyboardInterrupt in the middle of the TCP connect or of the TLS handshake: it propagates, the
    half-open socket is closed at once (no ResourceWarning left for the garbage collector) and the
    pool's slot is free again (every later call still gets a connection)."""

    def interrupted(self: object, *args: object) -> None:
        raise KeyboardInterrupt

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # connects complete in the backlog; the handshake is never answered
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/sys/soap.php"
    transport = SyncTransport(TransportConfig(connect_timeout=2, max_connections=1))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with monkeypatch.context() as patch:
                if stage == "connect":
                    patch.setattr(socket.socket, "connect", interrupted)
                else:
                    patch.setattr(ssl.SSLSocket, "do_handshake", interrupted)
                for _ in range(3):
                    with pytest.raises(KeyboardInterrupt):
                        post(transport, url)
            gc.collect()
        leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
        assert leaked == [], [str(w.message) for w in leaked]
        (pool,) = transport._socket_pools.values()
        assert pool._open == 0
    finally:
        transport.close()
        listener.close()


@pytest.mark.parametrize(
    ("url", "host", "target"),
    [
        ("https://smsc.ru/sys/soap.php", "smsc.ru", "/sys/soap.php"),
        ("https://smsc.ru:443/sys/soap.php", "smsc.ru", "/sys/soap.php"),
        ("https://smsc.ru:8443/s?a=1", "smsc.ru:8443", "/s?a=1"),
        ("http://[::1]:8080", "[::1]:8080", "/"),
        ("https://смс.рф/sys/soap.php", "xn--l1ajb.xn--p1ai", "/sys/soap.php"),
    ],
)
def test_request_line_and_host(url: str, host: str, target: str) -> None:
    """The request target and Host value a direct endpoint is posted with (no connection made)."""
    transport = SyncTransport(TransportConfig())
    try:
        prefix = transport._route(url).prefix({"SOAPAction": '"a"'})  # type: ignore[union-attr]
    finally:
        transport.close()
    lines = prefix.decode("ascii").split("\r\n")
    assert lines[0] == f"POST {target} HTTP/1.1" and lines[1] == f"Host: {host}"
