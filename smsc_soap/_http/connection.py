"""Keep-alive HTTP/1.1 connections on plain sockets for the sync transport, and their pools.

One :class:`Pool` per (scheme, host, port) holds at most ``max_connections`` connections; a caller
waits for a free one up to the time its call has left. Idle connections are reused last-in first-out
after a zero-timeout readability check: an idle connection that is readable was closed by the server or
holds junk, so it is dropped unused and another is taken (or opened). :meth:`Connection.exchange` writes
one request (headers and envelope in one ``sendall``) and reads its reply through the sans-I/O
:mod:`.codec`, mapping every failure to the exception tree with what it means for the message:

* nothing was written yet (DNS, refused or timed-out connect, failed TLS handshake, no free connection
  in time): ``Delivery.NOT_SENT``;
* from the first byte written on: ``Delivery.UNKNOWN`` (read timeout, reset, EOF before a complete
  reply, garbage, TLS alert), and at or past the deadline :class:`SmscDeadlineExceededError`.

A connection whose reply was not read completely, or failed, is closed, never reused.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import TYPE_CHECKING

from .._exceptions import (
    ClientClosedError,
    Delivery,
    SmscConnectError,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscError,
    SmscReadTimeoutError,
    SmscResponseTooLargeError,
    SmscTlsError,
    SmscTransportError,
)
from .codec import MAX_HEAD_BYTES, HttpCodecError, ResponseParser
from .redact import Envelope
from .types import RawReply, TransportConfig, check_reply_headers, safe_text
from .watchdog import WATCHDOG

if TYPE_CHECKING:
    import ssl

__all__ = ["Connection", "Pool", "past_deadline"]

_RECV = 65536
#: Windows has no poll(): the reuse check falls back to select() there (and the module imports).
_HAS_POLL = hasattr(select, "poll")
_POLLIN_OR_WORSE = (
    select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL if _HAS_POLL else 0
)


def _describe(exc: BaseException) -> str:
    text = safe_text(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class Connection:
    """One open socket (TLS-wrapped for https) to a pool's address."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def __repr__(self) -> str:
        return f"Connection(fd={self.sock.fileno()})"

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def is_dropped(self) -> bool:
        """True when the idle socket is readable (closed by the peer, or junk): never send on it."""
        pending = getattr(self.sock, "pending", None)  # TLS: bytes already decrypted, unread
        if pending is not None and pending():
            return True
        try:
            if _HAS_POLL:
                poller = select.poll()
                poller.register(self.sock, _POLLIN_OR_WORSE)
                return bool(poller.poll(0))
            readable, _, broken = select.select([self.sock], [], [self.sock], 0)
            return bool(readable or broken)
        except (OSError, ValueError):
            return True

    def _write(self, data: bytes) -> None:
        """The one write of a request (headers and envelope together)."""
        self.sock.sendall(data)

    def exchange(
        self,
        prefix: bytes,
        envelope: Envelope,
        url: str,
        cfg: TransportConfig,
        deadline_at: float,
        timeout: float,
    ) -> tuple[RawReply, bool]:
        """Write the request and read its reply: the reply and whether this connection may be reused.

        Raises a mapped SmscTransportError (UNKNOWN from the write on). The deadline watchdog is armed
        on the socket before anything is written and disarmed when the reply is in.
        """
        sock = self.sock
        error: SmscTransportError | None = None
        token = WATCHDOG.arm(sock, deadline_at)
        try:
            try:
                sock.settimeout(timeout)
                try:
                    # Headers and envelope leave in one write; the envelope is revealed only here.
                    self._write(
                        prefix + b"Content-Length: %d\r\n\r\n" % len(envelope) + envelope.reveal()
                    )
                except OSError:
                    # The server may have answered before reading the whole request (413, 400) and
                    # then closed or stopped reading: that reply, if complete, is the answer.
                    early = self._early_reply(url, cfg)
                    if early is None:
                        raise
                    reply, reusable = early, False
                else:
                    reply, reusable = self._read_reply(url, cfg, deadline_at)
            except SmscError:  # mapped, or a refused reply (redirect, compressed, too large)
                raise
            except HttpCodecError as exc:
                error = SmscTransportError(
                    f"the reply was not valid HTTP; the request may have been processed ({exc})",
                    delivery=_UNKNOWN,
                )
            except Exception as exc:  # mapped below, outside the handler: no raw cause is chained
                error = _after_write(exc)
            if error is not None:
                raise past_deadline(error, deadline_at, cfg.deadline)
        finally:
            WATCHDOG.disarm(token)
        # Disarmed before the deadline, the watchdog never took this socket; at or after it, it may be
        # shutting the socket down right now: not reused.
        return reply, reusable and time.monotonic() < deadline_at

    def _early_reply(self, url: str, cfg: TransportConfig) -> RawReply | None:
        """A complete reply already received when the write failed, else None (never waits)."""
        sock = self.sock
        parser = ResponseParser()
        try:
            sock.settimeout(0.0)
            while parser.buffered <= MAX_HEAD_BYTES + cfg.max_response_bytes:
                data = sock.recv(_RECV)
                parser.feed(data)
                if not data:
                    break
        except OSError:  # nothing more to read now, or the reset that ended the write
            pass
        try:
            head = parser.head()
            if head is None or head.status == 408:
                # 408: the server timed out an idle connection it then closed; it did not answer
                # this request (which a read may then repeat on a new connection).
                return None
            check_reply_headers(head.status, head.headers, cfg.max_response_bytes)
            body = parser.body()
        except (HttpCodecError, SmscError):
            return None
        if not parser.done or len(body) > cfg.max_response_bytes:
            return None
        return RawReply(head.status, head.headers, body, url)

    def _read_reply(
        self, url: str, cfg: TransportConfig, deadline_at: float
    ) -> tuple[RawReply, bool]:
        sock = self.sock
        parser = ResponseParser()
        head = None
        while head is None:
            parser.feed(sock.recv(_RECV))
            head = parser.head()
        status, headers = head.status, head.headers
        limit = cfg.max_response_bytes
        check_reply_headers(status, headers, limit)
        chunks = [parser.body()]
        size = len(chunks[0])
        while not parser.done:
            if size > limit:
                break
            data = sock.recv(_RECV)
            if not data and time.monotonic() >= deadline_at - 0.005:
                # The watchdog shut the socket: a cut body, not the end of one.
                raise SmscDeadlineExceededError(
                    f"the reply was cut off by the {cfg.deadline:g} s deadline", http_status=status
                )
            parser.feed(data)
            chunk = parser.body()
            size += len(chunk)
            chunks.append(chunk)
        if size > limit:
            raise SmscResponseTooLargeError(
                f"the reply exceeded the {limit}-byte limit and was not read further",
                http_status=status,
            )
        return RawReply(status, headers, b"".join(chunks), url), parser.keep_alive


class Pool:
    """At most ``max_connections`` connections to one (scheme, host, port); idle ones reused LIFO."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        cfg: TransportConfig,
        context: ssl.SSLContext | None,
    ) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self._cfg = cfg
        self._context = context
        self._cond = threading.Condition(threading.Lock())
        self._idle: list[Connection] = []
        self._open = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"Pool({self.scheme}://{self.host}:{self.port}, open={self._open})"

    def acquire(self, deadline_at: float) -> Connection:
        """A live idle connection, else a new one; waits for a free slot until ``deadline_at``.

        Raises NOT_SENT errors only: no free connection in time, a failed connect or TLS handshake;
        ClientClosedError once the pool is closed (nothing is opened then).
        """
        cfg = self._cfg
        with self._cond:
            while True:
                if self.closed:
                    raise ClientClosedError("the client is closed; no connection was opened")
                idle = self._idle
                while idle:
                    conn = idle.pop()
                    if not conn.is_dropped():
                        return conn
                    conn.close()
                    self._open -= 1
                if self._open < cfg.max_connections:
                    self._open += 1
                    break
                left = deadline_at - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    if self._idle or self._open < cfg.max_connections:
                        continue  # freed just as the wait ended
                    raise SmscConnectTimeoutError(
                        f"no pooled connection became free in time (all {cfg.max_connections} to "
                        f"{self.host}:{self.port} busy); nothing was sent"
                    )
        try:
            return self._connect(deadline_at)
        except BaseException:
            self._forget()
            raise

    def release(self, conn: Connection, reusable: bool) -> None:
        """Return ``conn`` after a call: kept idle if its reply was read whole and it may be reused."""
        with self._cond:
            if reusable and not self.closed:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._open -= 1
            self._cond.notify()
        conn.close()

    def _forget(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def close(self) -> None:
        """Close idle connections; connections in use are closed when released."""
        with self._cond:
            self.closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    def _connect(self, deadline_at: float) -> Connection:
        """Open a connection (TCP_NODELAY; TLS verified with SNI); raises NOT_SENT errors only."""
        cfg = self._cfg
        where = f"{self.host}:{self.port}"
        error: SmscTransportError | None = None
        sock: socket.socket | None = None
        try:
            sock = _open_socket(self.host, self.port, cfg.connect_timeout, deadline_at)
        except Exception as exc:
            error = connect_failure_error(exc, where)
        if error is not None:
            raise error
        assert sock is not None
        if self._context is None:
            return Connection(sock)
        tls: ssl.SSLSocket | None = None
        try:
            # The handshake is run here, not inside wrap_socket: wrap_socket closes the TLS socket
            # (which took over the descriptor) on OSError only, so a Ctrl-C mid-handshake leaked it.
            tls = self._context.wrap_socket(
                sock, server_hostname=self.host, do_handshake_on_connect=False
            )
            tls.do_handshake()
            return Connection(tls)
        except Exception as exc:
            error = tls_failure_error(exc, where)
        except BaseException:  # KeyboardInterrupt, SystemExit: close what was opened, then leave
            _close(tls, sock)
            raise
        _close(tls, sock)
        raise error


# ------------------------------------------------------------------ mapping before the first write


def connect_failure_error(exc: Exception, where: str) -> SmscTransportError:
    """A failed connect to ``where`` (host:port): nothing was written, so NOT_SENT (both pools)."""
    if isinstance(exc, socket.gaierror):
        reason = (exc.strerror or "").lower() or "unknown host"
        return SmscConnectError(
            f"the host name of {where} could not be resolved ({reason}); nothing was sent"
        )
    if isinstance(exc, TimeoutError):
        return SmscConnectTimeoutError(
            f"connecting to {where} timed out; nothing was sent ({_describe(exc)})"
        )
    if isinstance(exc, ConnectionRefusedError):
        return SmscConnectError(
            f"{where} refused the connection (is the server running on that address?); "
            "nothing was sent"
        )
    if isinstance(exc, OSError):
        reason = (exc.strerror or "").lower() or _describe(exc)
        return SmscConnectError(f"could not connect to {where}: {reason}; nothing was sent")
    # e.g. a host name IDNA cannot encode: still nothing was written
    return SmscConnectError(f"could not connect to {where} ({_describe(exc)}); nothing was sent")


def tls_failure_error(exc: Exception, where: str) -> SmscTransportError:
    """A failed TLS handshake with ``where``: no request byte was written, so NOT_SENT."""
    if isinstance(exc, TimeoutError):
        return SmscTlsError(
            f"the TLS handshake with {where} did not complete in time; nothing was sent "
            f"({_describe(exc)})"
        )
    return SmscTlsError(f"TLS verification failed; nothing was sent ({_describe(exc)})")


def _open_socket(host: str, port: int, connect_timeout: float, deadline_at: float) -> socket.socket:
    """A connected TCP socket to the first address of ``host`` that answers, with TCP_NODELAY."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        left = deadline_at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline passed while connecting")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(min(connect_timeout, left))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:  # KeyboardInterrupt mid-connect: the socket is not left to the GC
            sock.close()
            raise
        return sock
    raise last if last is not None else OSError("the host name resolved to no address")


def _close(tls: ssl.SSLSocket | None, sock: socket.socket) -> None:
    """Close a connection that failed while being opened (the plain socket is detached once wrapped)."""
    for item in (tls, sock):
        if item is not None:
            try:
                item.close()
            except OSError:
                pass


# ------------------------------------------------------------------ mapping after the first write

_UNKNOWN = Delivery.UNKNOWN


def _after_write(exc: BaseException) -> SmscTransportError:
    """A failure once a request byte may have left: the request may have been processed."""
    if isinstance(exc, TimeoutError):
        return SmscReadTimeoutError(
            "no reply within the read timeout; the request may have been processed "
            f"({_describe(exc)})"
        )
    return SmscTransportError(
        "the connection failed after the request was sent; it may have been processed "
        f"({_describe(exc)})",
        delivery=_UNKNOWN,
    )


def past_deadline(
    error: SmscTransportError, deadline_at: float, deadline: float
) -> SmscTransportError:
    """A failure after the request left, at or past the deadline, is the watchdog's doing."""
    if error.delivery is Delivery.UNKNOWN and time.monotonic() >= deadline_at - 0.005:
        return SmscDeadlineExceededError(
            f"no complete reply within the {deadline:g} s deadline; the request may have been "
            "processed",
            http_status=error.http_status,
        )
    return error
