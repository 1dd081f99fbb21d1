"""Keep-alive HTTP/1.1 connections on asyncio for the async transport, and their pools.

The asyncio counterpart of :mod:`.connection`, driving the same sans-I/O :mod:`.codec`. A connection is
an :class:`asyncio.Protocol`: the reply is parsed as its bytes arrive (in ``data_received``) and the
waiting call is woken once, when the reply is complete or has failed; one timer per call bounds it by
the read timeout (reset whenever bytes arrive) and by the deadline. One :class:`AsyncPool` per (scheme,
host, port) and event loop holds at most ``max_connections`` connections; a caller waits for a free one
up to the time its call has left. Idle connections are reused last-in first-out after a check that the
peer has not closed them or sent anything (junk, a close): such a connection is dropped unused.

What a failure means for the message, as in the sync pool:

* nothing was written yet (DNS, refused or timed-out connect, failed TLS handshake, no free connection
  in time): ``Delivery.NOT_SENT``;
* from the write of the request on: ``Delivery.UNKNOWN`` (read timeout, reset, EOF before a complete
  reply, garbage, TLS alert), and at or past the deadline :class:`SmscDeadlineExceededError`.

A connection whose reply was not read completely, failed, or whose call was cancelled is closed (aborted),
never reused.
"""

from __future__ import annotations

import asyncio
import collections
import select
import socket
import time
from typing import TYPE_CHECKING

from .._exceptions import (
    ClientClosedError,
    Delivery,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscError,
    SmscResponseTooLargeError,
    SmscTransportError,
)
from .codec import HttpCodecError, ResponseParser
from .connection import (
    _after_write,
    connect_failure_error,
    past_deadline,
    tls_failure_error,
)
from .redact import Envelope
from .types import RawReply, TransportConfig, check_reply_headers

if TYPE_CHECKING:
    import ssl

__all__ = ["AsyncConnection", "AsyncPool", "Slots", "WaitQueue"]

_HAS_POLL = hasattr(select, "poll")
_POLLIN_OR_WORSE = (
    select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL if _HAS_POLL else 0
)
#: How close to the deadline a failure counts as the deadline's doing (as in :func:`past_deadline`).
_SLACK = 0.005
#: How early a timer may fire and still count as on time (the loop rounds to its clock's resolution).
_EARLY = 0.001


class AsyncConnection(asyncio.Protocol):
    """One connection (TLS-wrapped for https) to a pool's address; parses the reply it is waiting for."""

    __slots__ = (
        "_chunks",
        "_deadline",
        "_deadline_at",
        "_last",
        "_limit",
        "_loop",
        "_parser",
        "_read_timeout",
        "_size",
        "_status",
        "_timer",
        "_waiter",
        "dropped",
        "keep_alive",
        "transport",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        #: The peer closed the connection, or sent bytes nobody asked for: never send on it.
        self.dropped = False
        self.keep_alive = False
        self._parser: ResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = 0
        self._status: int | None = None
        self._deadline_at = 0.0
        self._deadline = 0.0
        self._read_timeout = 0.0
        self._last = 0.0

    def __repr__(self) -> str:
        return f"AsyncConnection(dropped={self.dropped})"

    # ------------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:
            self.dropped = True  # bytes while idle (or after the reply): junk
            return
        self._last = time.monotonic()
        parser.feed(data)
        self._progress(parser)

    def eof_received(self) -> bool:
        self.dropped = True
        parser = self._parser
        if parser is not None:
            parser.feed(b"")
            self._progress(parser)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.dropped = True
        parser = self._parser
        if parser is None:
            return
        if exc is not None:
            self._fail(exc)
            return
        parser.feed(b"")
        self._progress(parser)

    # ------------------------------------------------------------------ the reply

    def _progress(self, parser: ResponseParser) -> None:
        """Parse what was fed; wake the waiting call when the reply is complete or refused."""
        try:
            if self._status is None:
                head = parser.head()
                if head is None:
                    return
                self._status = head.status
                check_reply_headers(head.status, head.headers, self._limit)
            chunk = parser.body()
            if chunk:
                self._size += len(chunk)
                if self._size > self._limit:
                    raise SmscResponseTooLargeError(
                        f"the reply exceeded the {self._limit}-byte limit and was not read further",
                        http_status=self._status,
                    )
                self._chunks.append(chunk)
            if not parser.done:
                if self._deadline_at - time.monotonic() <= _SLACK:
                    raise SmscDeadlineExceededError(
                        f"the reply was still arriving when the {self._deadline:g} s deadline "
                        "passed",
                        http_status=self._status,
                    )
                return
        except Exception as exc:
            self._fail(exc)
            return
        transport = self.transport
        # A reply complete while part of the request is still unwritten (an early 413): the server
        # stopped reading it, so what it makes of the rest is unknown; the connection is not reused.
        self.keep_alive = parser.keep_alive and (
            transport is not None and not transport.get_write_buffer_size()
        )
        self._parser = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self._parser = None
        self.dropped = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _on_timer(self) -> None:
        """The call's timer: the deadline passed, or no byte arrived for a read timeout."""
        self._timer = None
        if self._parser is None:
            return
        now = time.monotonic()
        if now >= self._deadline_at - _EARLY:
            self._fail(
                SmscDeadlineExceededError(
                    f"no complete reply within the {self._deadline:g} s deadline; "
                    "the request may have been processed",
                    http_status=self._status,
                )
            )
        elif now - self._last >= self._read_timeout:
            self._fail(TimeoutError("timed out waiting for the reply"))
        else:
            self._arm(now)

    def _arm(self, now: float) -> None:
        when = min(self._deadline_at, self._last + self._read_timeout)
        self._timer = self._loop.call_later(max(0.0, when - now), self._on_timer)

    # ------------------------------------------------------------------ one exchange

    def is_usable(self) -> bool:
        """False when the idle connection was closed by the peer or holds junk: never send on it."""
        transport = self.transport
        if self.dropped or transport is None or transport.is_closing():
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            if _HAS_POLL:
                poller = select.poll()
                poller.register(sock.fileno(), _POLLIN_OR_WORSE)
                return not poller.poll(0)
            readable, _, broken = select.select([sock], [], [sock], 0)  # no poll() (Windows)
            return not readable and not broken
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        """Close at once (no TLS close_notify wait); a connection in use is never returned."""
        self.dropped = True
        transport = self.transport
        if transport is not None:
            transport.abort()

    async def exchange(
        self,
        prefix: bytes,
        envelope: Envelope,
        url: str,
        cfg: TransportConfig,
        deadline_at: float,
    ) -> RawReply:
        """Write the request and await its reply; :attr:`keep_alive` then says whether to reuse this.

        Raises a mapped SmscTransportError (UNKNOWN from the write on). Cancellation propagates; the
        caller closes the connection whenever this does not return.
        """
        transport = self.transport
        assert transport is not None
        loop = self._loop
        parser = ResponseParser()
        self._parser = parser
        self._chunks = []
        self._size = 0
        self._status = None
        self._limit = cfg.max_response_bytes
        self._deadline_at = deadline_at
        self._deadline = cfg.deadline
        self._read_timeout = cfg.read_timeout
        self.keep_alive = False
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        error: SmscTransportError | None = None
        try:
            try:
                now = self._last = time.monotonic()
                self._arm(now)
                # Headers and envelope leave in one write; the envelope is revealed only here.
                transport.write(
                    prefix + b"Content-Length: %d\r\n\r\n" % len(envelope) + envelope.reveal()
                )
                await waiter
            except SmscError:  # mapped, or a refused reply (redirect, compressed, too large)
                raise
            except HttpCodecError as exc:
                error = SmscTransportError(
                    f"the reply was not valid HTTP; the request may have been processed ({exc})",
                    delivery=Delivery.UNKNOWN,
                )
            except Exception as exc:  # mapped below, outside the handler: no raw cause is chained
                error = _after_write(exc)
            if error is not None:
                raise past_deadline(error, deadline_at, cfg.deadline)
        finally:
            self._parser = None
            self._waiter = None
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # retrieved: a failure set as the call was cancelled is not logged
            timer = self._timer
            if timer is not None:
                self._timer = None
                timer.cancel()
        chunks, self._chunks = self._chunks, []
        head = parser.response
        assert head is not None
        if time.monotonic() >= deadline_at:
            self.keep_alive = False
        return RawReply(head.status, head.headers, b"".join(chunks), url)


class AsyncPool:
    """At most ``max_connections`` connections to one (scheme, host, port) on one event loop."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        cfg: TransportConfig,
        context: ssl.SSLContext | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self._cfg = cfg
        self._context = context
        self._loop = loop
        self._idle: list[AsyncConnection] = []
        self._open = 0
        self._waiters = WaitQueue(loop)
        self.closed = False

    def __repr__(self) -> str:
        return f"AsyncPool({self.scheme}://{self.host}:{self.port}, open={self._open})"

    async def acquire(self, deadline_at: float) -> AsyncConnection:
        """A live idle connection, else a new one; waits for a free slot until ``deadline_at``.

        Raises NOT_SENT errors only: no free connection in time, a failed connect or TLS handshake;
        ClientClosedError once the pool is closed (nothing is opened then).
        """
        cfg = self._cfg
        while True:
            if self.closed:
                raise ClientClosedError("the client is closed; no connection was opened")
            idle = self._idle
            while idle:
                conn = idle.pop()
                if conn.is_usable():
                    return conn
                conn.close()
                self._open -= 1
            if self._open < cfg.max_connections:
                self._open += 1
                break
            left = deadline_at - time.monotonic()
            if left <= 0:
                raise SmscConnectTimeoutError(
                    f"no pooled connection became free in time (all {cfg.max_connections} to "
                    f"{self.host}:{self.port} busy); nothing was sent"
                )
            await self._waiters.wait(left)
        try:
            return await self._connect(deadline_at)
        except BaseException:
            self._open -= 1
            self._waiters.wake_one()
            raise

    def release(self, conn: AsyncConnection, reusable: bool) -> None:
        """Return ``conn`` after a call: kept idle if its reply was read whole and it may be reused."""
        if reusable and not self.closed and not conn.dropped:
            self._idle.append(conn)
        else:
            self._open -= 1
            conn.close()
        self._waiters.wake_one()

    def close(self) -> None:
        """Close idle connections; connections in use are closed when released; waiters give up."""
        self.closed = True
        idle, self._idle = self._idle, []
        self._open -= len(idle)
        for conn in idle:
            conn.close()
        self._waiters.wake_all()

    async def _connect(self, deadline_at: float) -> AsyncConnection:
        """Open a connection (TCP_NODELAY; TLS verified with SNI); raises NOT_SENT errors only."""
        cfg = self._cfg
        loop = self._loop
        where = f"{self.host}:{self.port}"
        error: SmscTransportError | None = None
        conn = AsyncConnection(loop)
        left = deadline_at - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError("the call's deadline passed before connecting")
            async with asyncio.timeout(min(cfg.connect_timeout, left)):
                await loop.create_connection(lambda: conn, self.host, self.port)
        except Exception as exc:
            error = connect_failure_error(exc, where)
        except BaseException:
            conn.close()  # cancelled as the connection was made
            raise
        if error is not None:
            conn.close()
            raise error
        transport = conn.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is None:
            return conn
        left = deadline_at - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError("the call's deadline passed before the TLS handshake")
            async with asyncio.timeout(min(cfg.connect_timeout, left)):
                tls = await loop.start_tls(
                    transport, conn, self._context, server_hostname=self.host
                )
            if tls is None:
                raise ConnectionError("the connection closed during the TLS handshake")
            conn.transport = tls
            if conn.dropped:
                raise ConnectionError("the connection closed during the TLS handshake")
            return conn
        except Exception as exc:
            error = tls_failure_error(exc, where)
        except BaseException:
            conn.close()
            transport.abort()
            raise
        conn.close()
        transport.abort()
        raise error


class WaitQueue:
    """Tasks waiting, first come first served, for something another task frees (a connection, a slot).

    A woken task re-checks what it waits for; one woken and then cancelled before it ran passes its
    turn on, so a release is never lost.
    """

    __slots__ = ("_loop", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def wait(self, left: float) -> None:
        """Wait until woken, at most ``left`` seconds (then return as well: the caller re-checks)."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        timer = self._loop.call_later(left, _settle, waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.wake_one()  # woken, then cancelled: pass the turn on
            raise
        finally:
            timer.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass

    def wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def wake_all(self) -> None:
        while self._waiters:
            self.wake_one()


class Slots:
    """At most ``size`` requests in flight over all the pools of one transport (SMSC counts concurrent
    requests per login, whichever host serves them), as the sync client's connection slots."""

    __slots__ = ("_waiters", "busy", "size")

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.size = size
        self.busy = 0
        self._waiters = WaitQueue(loop)

    async def take(self, deadline_at: float) -> None:
        """Take a slot, waiting until ``deadline_at``; no free slot in time is NOT_SENT."""
        while self.busy >= self.size:
            left = deadline_at - time.monotonic()
            if left <= 0:
                raise SmscConnectTimeoutError(
                    f"no connection slot became free in time (all {self.size} busy); "
                    "nothing was sent"
                )
            await self._waiters.wait(left)
        self.busy += 1

    def give(self) -> None:
        self.busy -= 1
        self._waiters.wake_one()


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
