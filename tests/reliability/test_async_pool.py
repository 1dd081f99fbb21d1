"""The async transport's asyncio connections against real servers on 127.0.0.1: keep-alive reuse and when
a connection must not be reused, the pool bound under 50 tasks, replies framed every way, limits, the
deadline, cancellation and TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import trustme

from smsc_soap import (
    ClientClosedError,
    Delivery,
    SmscConnectError,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscProtocolError,
    SmscReadTimeoutError,
    SmscResponseTooLargeError,
    SmscTlsError,
    SmscTransportError,
)
from smsc_soap._http.async_connection import AsyncConnection, AsyncPool
from smsc_soap._http.async_transport import AsyncTransport
from smsc_soap._http.types import TransportConfig
from tests.helpers.raw_server import Behaviour, Conn, RawServer, drip, respond
from tests.reliability.test_socket_pool import BIG, BODY, OK_KEEP, EarlyAnswer, Failing, keep_alive

T = TypeVar("T")


def run(config: TransportConfig, scenario: Callable[[AsyncTransport], Awaitable[T]]) -> T:
    """Run ``scenario`` with a new transport on a new event loop; the transport is closed after."""

    async def main() -> T:
        transport = AsyncTransport(config)
        try:
            return await scenario(transport)
        finally:
            await transport.aclose()

    return asyncio.run(main())


async def post(transport: AsyncTransport, url: str, seconds: float = 5) -> bytes:
    reply = await transport.post(url, b"<x/>", {"SOAPAction": '"a"'}, time.monotonic() + seconds)
    assert reply.status == 200
    return reply.body


CONFIG = TransportConfig(connect_timeout=2, read_timeout=5, deadline=10)


def test_direct_endpoints_use_asyncio_connections_and_proxies_keep_httpx() -> None:
    """The route: asyncio connections for a direct endpoint; httpx for a proxied scheme or sockets=False."""

    async def routes() -> list[object]:
        found = []
        for transport in (
            AsyncTransport(TransportConfig()),
            AsyncTransport(TransportConfig(proxies={"https": "http://127.0.0.1:1"})),
            AsyncTransport(TransportConfig(), sockets=False),
        ):
            loop = asyncio.get_running_loop()
            found.append(transport._route("https://smsc.ru/sys/soap.php", loop))
            found.append(transport._route("http://127.0.0.1:8/sys/soap.php", loop))
            await transport.aclose()
        return found

    found = asyncio.run(routes())
    assert [route is not None for route in found] == [True, True, False, True, False, False]


def test_keep_alive_connection_is_reused() -> None:
    async def scenario(transport: AsyncTransport) -> None:
        for _ in range(5):
            assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 1 and len(server.bodies) == 5


def test_request_line_and_headers() -> None:
    """Identity encoding, our User-Agent, the exact Content-Length, no Transfer-Encoding."""

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
        port = server.port
    head = server.heads[0].decode("latin-1").split("\r\n")
    assert head[0] == "POST /sys/soap.php HTTP/1.1"
    fields = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    assert fields["host"] == f"127.0.0.1:{port}"
    assert fields["accept-encoding"] == "identity"
    assert fields["user-agent"].startswith("smsc-soap/")
    assert fields["content-length"] == "4" and "transfer-encoding" not in fields
    assert fields["soapaction"] == '"a"'


def test_bytes_after_an_empty_reply_forbid_reuse() -> None:
    """A reply with no body followed, in the same write, by a second reply nobody asked for: the
    connection's framing is in doubt, so the next call opens another connection."""
    empty = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def scenario(transport: AsyncTransport) -> None:
        first = await transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
        assert (first.status, first.body) == (200, b"")
        assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(empty + OK_KEEP), keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2 and len(server.bodies) == 2


def test_a_content_length_sent_twice_with_one_value_is_read() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n" % (
        len(BODY),
        len(BODY),
    )

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(reply + BODY)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 1


def test_a_reply_that_comes_before_the_request_is_written_is_read() -> None:
    """As on the sync path: a 413 sent before the server read the body is the call's reply."""

    async def scenario(transport: AsyncTransport) -> None:
        for _ in range(2):
            reply = await transport.post(server.url, BIG, {}, time.monotonic() + 8)
            assert (reply.status, reply.body) == (413, b"")

    server = EarlyAnswer()
    try:
        run(CONFIG, scenario)
    finally:
        server.close()
    assert server.accepted == 2


def test_an_early_reply_on_a_connection_left_open_is_not_reused() -> None:
    """A 413 complete while the request is still being written, on a connection the server keeps
    open without reading: returned, and the connection is not reused (the next request would wait
    behind the unwritten rest of the first)."""

    async def scenario(transport: AsyncTransport) -> None:
        for _ in range(2):
            reply = await transport.post(server.url, BIG, {}, time.monotonic() + 8)
            assert reply.status == 413

    server = EarlyAnswer(keep_open=True)
    try:
        run(TransportConfig(connect_timeout=2, read_timeout=1, deadline=10), scenario)
    finally:
        server.close()
    assert server.accepted == 2


def test_many_failed_or_cancelled_calls_leave_the_pool_its_full_capacity() -> None:
    """Resets, garbage, refused replies, read timeouts, and calls cancelled at any point (waiting for
    a slot, connecting, writing, reading), 60 at once on a pool of two: afterwards no slot or
    connection is held, nobody waits, and both slots serve again."""
    failing = Failing()
    config = TransportConfig(read_timeout=0.2, deadline=10, max_connections=2)

    async def one(transport: AsyncTransport, n: int) -> str:
        call = transport.post(server.url, b"<x/>", {}, time.monotonic() + 5)
        try:
            if n % 3 == 0:
                await asyncio.wait_for(call, timeout=0.002 * (n % 7))
            else:
                await call
        except (SmscTransportError, SmscProtocolError, TimeoutError) as exc:
            return type(exc).__name__
        return "ok"

    async def scenario(transport: AsyncTransport) -> None:
        outcomes = await asyncio.gather(*(one(transport, n) for n in range(60)))
        assert "TimeoutError" in outcomes and len(set(outcomes)) >= 4, outcomes
        (pool,) = transport._socket_pools.values()
        slots = transport._slots
        assert slots is not None and slots.busy == 0 and not slots._waiters._waiters
        assert pool._open == len(pool._idle) and not pool._waiters._waiters
        failing.healed = True
        bodies = await asyncio.gather(post(transport, server.url), post(transport, server.url))
        assert bodies == [BODY, BODY]

    with RawServer(failing) as server:
        run(config, scenario)


def test_stale_connection_is_dropped_before_reuse() -> None:
    """The server closes the idle connection without a word: the next call opens another and the
    request arrives exactly once."""

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        await asyncio.sleep(0.2)  # the server's close reaches this side
        assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(OK_KEEP, then_close=True)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2 and len(server.bodies) == 2


@pytest.mark.parametrize("check", ["poll", "select"])
def test_stale_connection_is_dropped_even_before_the_loop_noticed(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peer's close has not been read by the event loop yet (no loop iteration since): the check
    before reuse (poll, or select where there is no poll) still sees it, and the request goes out
    once, on a new connection."""
    import smsc_soap._http.async_connection as module

    monkeypatch.setattr(module, "_HAS_POLL", check == "poll")
    closed = threading.Event()

    def reply_then_close(conn: Conn) -> None:
        conn.sock.sendall(OK_KEEP)
        time.sleep(0.1)
        closed.set()

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        assert closed.wait(5)  # blocks the loop: the close is not processed by it
        time.sleep(0.1)
        assert await post(transport, server.url) == BODY

    with RawServer(reply_then_close, keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2 and len(server.bodies) == 2


def test_junk_on_an_idle_connection_drops_it() -> None:
    """Bytes arriving on an idle connection (a late 408, garbage): never sent on, never read as a reply."""

    def reply_then_junk(conn: Conn) -> None:
        conn.sock.sendall(OK_KEEP)
        time.sleep(0.05)
        conn.sock.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")

    reply_then_junk.keep_alive = True  # type: ignore[attr-defined]

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        await asyncio.sleep(0.3)
        assert await post(transport, server.url) == BODY

    with RawServer(reply_then_junk, keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2 and len(server.bodies) == 2


def test_connection_close_reply_is_not_reused() -> None:
    async def scenario(transport: AsyncTransport) -> None:
        for _ in range(3):
            assert await post(transport, server.url) == BODY

    with RawServer(respond(BODY, keep_alive=False)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 3


def test_http_1_0_reply_is_read_and_not_reused() -> None:
    """An HTTP/1.0 reply (the server keeps the socket open anyway): read whole, connection not reused."""
    reply = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(reply)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2


@pytest.mark.parametrize("framing", ["chunked", "close-delimited", "interim", "dribbled"])
def test_reply_framings(framing: str) -> None:
    """Chunked with a trailer (reused), close-delimited (not reused), 1xx skipped (reused), a reply
    written one byte per write (reused): each read whole."""
    chunks = b"".join(
        b"%x;note=1\r\n" % len(BODY[i : i + 50]) + BODY[i : i + 50] + b"\r\n"
        for i in range(0, len(BODY), 50)
    )

    def dribble(conn: Conn) -> None:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(OK_KEEP)):
            conn.sock.sendall(OK_KEEP[i : i + 1])

    dribble.keep_alive = True  # type: ignore[attr-defined]
    behaviour, accepted = {
        "chunked": (
            keep_alive(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunks
                + b"0\r\nX-T: 1\r\n\r\n"
            ),
            1,
        ),
        "close-delimited": (
            keep_alive(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n" + BODY, then_close=True
            ),
            2,
        ),
        "interim": (
            keep_alive(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + OK_KEEP),
            1,
        ),
        "dribbled": (dribble, 1),
    }[framing]

    async def scenario(transport: AsyncTransport) -> None:
        assert await post(transport, server.url) == BODY
        assert await post(transport, server.url) == BODY

    with RawServer(behaviour) as server:
        run(CONFIG, scenario)
    assert server.accepted == accepted and len(server.bodies) == 2


@pytest.mark.parametrize("failure", ["read-timeout", "redirect", "garbage", "short-body", "reset"])
def test_a_failed_reply_never_leaves_its_connection_for_reuse(failure: str) -> None:
    """After a read timeout, a refused reply (3xx, body unread), garbage, a short body or a reset, the
    next call opens a new connection: the failed one is closed, never read from again."""

    def reset_after_head(conn: Conn) -> None:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n")
        time.sleep(0.05)
        conn.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        conn.sock.close()

    first: Behaviour = {
        "read-timeout": keep_alive(OK_KEEP, delay=1.0),
        "redirect": keep_alive(b"HTTP/1.1 307 X\r\nLocation: /y\r\nContent-Length: 5\r\n\r\nhello"),
        "garbage": keep_alive(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n" + OK_KEEP),
        "short-body": keep_alive(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n" + BODY),
        "reset": reset_after_head,
    }[failure]
    errors: list[SmscTransportError] = []

    async def scenario(transport: AsyncTransport) -> None:
        with pytest.raises(SmscTransportError) as caught:
            await post(transport, server.url, seconds=0.6 if failure == "short-body" else 5)
        errors.append(caught.value)
        assert await post(transport, server.url) == BODY

    with RawServer(first, keep_alive(OK_KEEP)) as server:
        run(TransportConfig(read_timeout=0.3, deadline=10), scenario)
    error = errors[0]
    assert error.delivery is Delivery.UNKNOWN, repr(error)
    if failure == "read-timeout":
        assert isinstance(error, SmscReadTimeoutError)
    assert server.accepted == 2 and len(server.bodies) == 2


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
    errors: list[BaseException] = []

    async def scenario(transport: AsyncTransport) -> None:
        with pytest.raises(SmscResponseTooLargeError) as caught:
            await post(transport, server.url)
        errors.append(caught.value)
        assert await post(transport, server.url) == BODY

    with RawServer(
        keep_alive(reply, then_close=framing == "close-delimited"), keep_alive(OK_KEEP)
    ) as server:
        run(TransportConfig(max_response_bytes=2000), scenario)
    assert isinstance(errors[0], SmscResponseTooLargeError)
    assert errors[0].delivery is Delivery.UNKNOWN
    assert server.accepted == 2


def test_headers_over_the_cap_are_refused() -> None:
    """70 KiB of headers: a typed UNKNOWN error, not a read of the whole flood."""
    flood = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 70_000 + b"\r\n\r\n" + BODY

    async def scenario(transport: AsyncTransport) -> SmscTransportError:
        with pytest.raises(SmscTransportError) as caught:
            await post(transport, server.url)
        return caught.value

    with RawServer(keep_alive(flood, then_close=True)) as server:
        error = run(CONFIG, scenario)
    assert error.delivery is Delivery.UNKNOWN
    assert "header block" in str(error) and len(server.bodies) == 1


def test_slowloris_reply_is_cut_by_the_deadline() -> None:
    """Headers dripped one line every 0.1 s: each read is within the read timeout, the deadline ends it."""

    async def scenario(transport: AsyncTransport) -> tuple[SmscTransportError, float]:
        began = time.monotonic()
        with pytest.raises(SmscDeadlineExceededError) as caught:
            await transport.post(server.url, b"<x/>", {}, began + 0.8)
        return caught.value, time.monotonic() - began

    with RawServer(drip(b"HTTP/1.1 200 OK\r\n", b"X-a: b\r\n", 0.1, limit=20)) as server:
        error, took = run(TransportConfig(read_timeout=5, deadline=10), scenario)
    assert error.delivery is Delivery.UNKNOWN
    assert 0.7 <= took < 5, took


def test_max_connections_respected_under_50_tasks() -> None:
    """50 tasks, max_connections=3: every call answered, at most 3 connections ever open."""
    in_flight = [0, 0]  # now, most
    lock = threading.Lock()

    def slow(conn: Conn) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.01)
        with lock:
            in_flight[0] -= 1
        conn.sock.sendall(OK_KEEP)

    slow.keep_alive = True  # type: ignore[attr-defined]

    async def scenario(transport: AsyncTransport) -> list[bytes]:
        async def worker() -> list[bytes]:
            return [await post(transport, server.url, seconds=30) for _ in range(2)]

        results = await asyncio.gather(*(worker() for _ in range(50)))
        return [body for bodies in results for body in bodies]

    with RawServer(slow) as server:
        bodies = run(TransportConfig(max_connections=3, deadline=30), scenario)
    assert bodies == [BODY] * 100
    assert len(server.bodies) == 100
    assert server.accepted <= 3 and in_flight[1] <= 3


@pytest.mark.usefixtures("async_path")
def test_max_connections_bounds_requests_in_flight_over_all_endpoints() -> None:
    """A primary and a mirror, max_connections=2, 12 tasks over both: at most 2 requests in flight in
    all (SMSC counts concurrent requests per login, whichever host serves them)."""
    in_flight = [0, 0]  # now, most
    lock = threading.Lock()

    def slow(conn: Conn) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.03)
        with lock:
            in_flight[0] -= 1
        conn.sock.sendall(OK_KEEP)

    slow.keep_alive = True  # type: ignore[attr-defined]

    async def scenario(transport: AsyncTransport) -> list[bytes]:
        urls = [primary.url, mirror.url]
        return await asyncio.gather(*(post(transport, urls[i % 2], seconds=30) for i in range(12)))

    with RawServer(slow) as primary, RawServer(slow) as mirror:
        bodies = run(TransportConfig(max_connections=2, deadline=30), scenario)
    assert bodies == [BODY] * 12
    assert len(primary.bodies) == len(mirror.bodies) == 6
    assert in_flight[1] <= 2


def test_no_free_connection_in_time_is_not_sent() -> None:
    """max_connections=1 held by a slow call: the next one waits its time left, then NOT_SENT."""

    async def scenario(transport: AsyncTransport) -> SmscConnectTimeoutError:
        first = asyncio.create_task(post(transport, server.url))
        while not server.bodies:
            await asyncio.sleep(0.01)
        with pytest.raises(SmscConnectTimeoutError) as caught:
            await transport.post(server.url, b"<y/>", {}, time.monotonic() + 0.2)
        assert await first == BODY
        return caught.value

    with RawServer(keep_alive(OK_KEEP, delay=1.0)) as server:
        error = run(TransportConfig(max_connections=1, deadline=10), scenario)
    assert error.delivery is Delivery.NOT_SENT
    assert server.bodies == [b"<x/>"]


def test_a_waiter_cancelled_after_its_wake_up_passes_the_turn_on() -> None:
    """Two calls wait for the one connection; the one woken by its release is cancelled before it
    runs: the other still gets the connection at once (nothing waits until the deadline)."""

    async def scenario(transport: AsyncTransport) -> float:
        loop = asyncio.get_running_loop()
        pool = AsyncPool("http", "127.0.0.1", server.port, transport.config, None, loop)
        held = await pool.acquire(time.monotonic() + 5)
        second = asyncio.create_task(pool.acquire(time.monotonic() + 20))
        third = asyncio.create_task(pool.acquire(time.monotonic() + 20))
        await asyncio.sleep(0.05)  # both wait
        began = time.monotonic()
        pool.release(held, True)  # wakes the second ...
        second.cancel()  # ... which is cancelled before it runs
        conn = await third
        took = time.monotonic() - began
        with pytest.raises(asyncio.CancelledError):
            await second
        assert conn is held
        pool.release(conn, False)
        pool.close()
        await asyncio.sleep(0)
        return took

    with RawServer(keep_alive(OK_KEEP)) as server:
        took = run(TransportConfig(max_connections=1, deadline=30), scenario)
    assert took < 5 and server.accepted == 1


def test_close_racing_a_call_opens_nothing() -> None:
    """A call waiting for a pooled connection when aclose() comes: ClientClosedError, nothing opened."""

    async def scenario(transport: AsyncTransport) -> BaseException:
        first = asyncio.create_task(post(transport, server.url))
        while not server.bodies:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(transport.post(server.url, b"<y/>", {}, time.monotonic() + 5))
        await asyncio.sleep(0.1)
        await transport.aclose()
        outcome = (await asyncio.gather(waiting, return_exceptions=True))[0]
        assert await first == BODY
        assert isinstance(outcome, BaseException)
        return outcome

    with RawServer(keep_alive(OK_KEEP, delay=2.0)) as server:  # outlasts aclose() by a wide margin
        outcome = run(TransportConfig(max_connections=1, deadline=10), scenario)
    assert isinstance(outcome, ClientClosedError)
    assert server.accepted == 1 and server.bodies == [b"<x/>"]


@pytest.mark.parametrize("how", ["task.cancel", "wait_for", "asyncio.timeout"])
def test_cancellation_mid_read_closes_the_connection(how: str) -> None:
    """Cancelled while awaiting the reply: CancelledError (or TimeoutError) propagates, the connection
    is closed (the server sees EOF) and the next call opens another."""
    saw_close = threading.Event()

    def wait_for_close(conn: Conn) -> None:
        conn.sock.settimeout(5)
        try:
            if conn.sock.recv(1) == b"":
                saw_close.set()
        except OSError:
            pass

    async def scenario(transport: AsyncTransport) -> None:
        task = asyncio.create_task(post(transport, server.url, seconds=20))
        while not server.bodies:  # the request was read: the call awaits the reply
            await asyncio.sleep(0.01)
        if how == "task.cancel":
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif how == "wait_for":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(task, 0.05)
        else:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await task
        assert task.cancelled()
        assert await asyncio.to_thread(saw_close.wait, 5)
        assert await post(transport, server.url) == BODY

    with RawServer(wait_for_close, keep_alive(OK_KEEP)) as server:
        run(CONFIG, scenario)
    assert server.accepted == 2 and len(server.bodies) == 2


def test_cancelled_while_connecting_frees_the_slot() -> None:
    """Cancelled during the TLS handshake (a server that never answers it): the slot is freed, so the
    next call with max_connections=1 is not refused for want of a connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/sys/soap.php"

    async def scenario(transport: AsyncTransport) -> BaseException:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(post(transport, url), 0.2)
        with pytest.raises(SmscTlsError) as caught:
            await post(transport, url)
        return caught.value

    try:
        error = run(TransportConfig(max_connections=1, connect_timeout=0.3), scenario)
    finally:
        listener.close()
    assert isinstance(error, SmscTlsError) and error.delivery is Delivery.NOT_SENT


def test_refused_connection_is_not_sent() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now

    async def scenario(transport: AsyncTransport) -> BaseException:
        with pytest.raises(SmscConnectError) as caught:
            await post(transport, f"http://127.0.0.1:{port}/sys/soap.php")
        return caught.value

    error = run(CONFIG, scenario)
    assert error.delivery is Delivery.NOT_SENT and "refused" in str(error)


def test_another_event_loop_is_refused() -> None:
    """The pool belongs to the loop of the first call: a second loop gets a clear RuntimeError."""
    transport = AsyncTransport(CONFIG)
    with RawServer(keep_alive(OK_KEEP)) as server, asyncio.Runner() as first:
        assert first.run(post(transport, server.url)) == BODY
        with pytest.raises(RuntimeError, match="event loop"):
            asyncio.run(post(transport, server.url))
        first.run(transport.aclose())
    assert server.accepted == 1 and len(server.bodies) == 1


def test_a_connection_object_never_shows_the_envelope() -> None:
    """What the protocol object keeps after a call holds no request bytes."""

    async def scenario(transport: AsyncTransport) -> list[Any]:
        await transport.post(server.url, b"<psw>SECRET-1</psw>", {}, time.monotonic() + 5)
        pools = list(transport._socket_pools.values())
        return [vars_of(conn) for pool in pools for conn in pool._idle]

    def vars_of(conn: AsyncConnection) -> Any:
        return {name: getattr(conn, name) for name in AsyncConnection.__slots__}

    with RawServer(keep_alive(OK_KEEP)) as server:
        found = run(CONFIG, scenario)
    assert found and "SECRET-1" not in repr(found)


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

    async def scenario(transport: AsyncTransport) -> None:
        for _ in range(4):
            assert await post(transport, server.url) == BODY

    with RawServer(keep_alive(OK_KEEP), tls=_tls(ca.issue_cert("127.0.0.1"))) as server:
        run(TransportConfig(ca_bundle=str(ca_file)), scenario)
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

    async def scenario(transport: AsyncTransport) -> SmscTlsError:
        with pytest.raises(SmscTlsError) as caught:
            await post(transport, server.url)
        return caught.value

    with RawServer(keep_alive(OK_KEEP), tls=_tls(cert)) as server:
        error = run(TransportConfig(ca_bundle=str(ca_file)), scenario)
    assert error.delivery is Delivery.NOT_SENT and not error.retry_safe
    assert server.bodies == []


def test_tls_handshake_never_answered_is_not_sent() -> None:
    """https:// to a server that never answers the handshake: a TLS error within the connect timeout,
    NOT_SENT (no request byte was written)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/sys/soap.php"

    async def scenario(transport: AsyncTransport) -> tuple[SmscTlsError, float]:
        began = time.monotonic()
        with pytest.raises(SmscTlsError) as caught:
            await post(transport, url)
        return caught.value, time.monotonic() - began

    try:
        error, took = run(TransportConfig(connect_timeout=0.3), scenario)
    finally:
        listener.close()
    assert error.delivery is Delivery.NOT_SENT and took < 3


def test_an_async_call_over_http_imports_no_http_library() -> None:
    """The asyncio path: a whole AsyncSoapSmsc call to an http:// endpoint imports neither httpx,
    httpcore, anyio, h11 nor urllib3 (httpx is imported only for a proxied endpoint)."""
    import subprocess
    import sys

    from tests.helpers.raw_server import ok_reply

    with RawServer(respond(ok_reply("get_balance"))) as server:
        code = (
            "import asyncio, sys, smsc_soap\n"
            "async def main():\n"
            f"    async with smsc_soap.AsyncSoapSmsc('alex', 'pw', endpoint={server.url!r},"
            " mirrors=[]) as c:\n"
            "        print((await c.get_balance()).balance)\n"
            "asyncio.run(main())\n"
            "names = ('httpx', 'httpcore', 'anyio', 'h11', 'urllib3', 'requests')\n"
            "print(sorted(m for m in names if m in sys.modules))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["100.50", "[]"], done.stdout
    assert server.bodies, "the call reached the server"


def test_a_proxied_endpoint_goes_through_httpx_and_the_proxy() -> None:
    """proxies= is honoured by the async client: the request goes to the proxy (absolute-form target),
    through httpx."""
    from smsc_soap import AsyncSoapSmsc
    from tests.helpers.raw_server import ok_reply

    async def main() -> object:
        async with AsyncSoapSmsc(
            "alex",
            "pw",
            endpoint="http://127.0.0.1:9/sys/soap.php",
            mirrors=[],
            proxies={"http": f"http://127.0.0.1:{proxy.port}"},
        ) as client:
            return (await client.get_balance()).balance

    with RawServer(respond(ok_reply("get_balance"))) as proxy:
        assert asyncio.run(main())
    assert proxy.connections == 1 and proxy.heads[0].startswith(b"POST http://127.0.0.1:9/")
