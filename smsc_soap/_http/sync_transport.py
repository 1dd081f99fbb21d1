"""The sync HTTP layer: bounded in time and size, never redirected, never decompressing.

zeep's own transport has no call timeout, no size limit, follows redirects with the password in the
body, inflates any Content-Encoding and logs whole envelopes at DEBUG. This module posts the envelope the
SOAP layer serialised and hands back the raw reply, mapping every failure to our exception tree with what
it means for the message. Two paths sit behind the one :class:`SyncTransport`:

* **direct endpoints** (no proxy): keep-alive sockets of :mod:`.connection` (one pool per scheme, host
  and port) driving the sans-I/O HTTP/1.1 codec of :mod:`.codec`: one write of headers and envelope,
  the reply head split and the body framed without urllib3's or http.client's per-call machinery;
* **proxied endpoints** (``proxies``, socks included): a urllib3 pool per endpoint (requests' own
  engine), with connection classes that arm the deadline watchdog and write headers and body in one
  write. ``SyncTransport(config, sockets=False)`` sends direct endpoints this way too (for comparison).

urllib3 is imported only when a proxied endpoint (or the urllib3 path) is first used.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

from .._exceptions import (
    ClientClosedError,
    Delivery,
    SmscConfigurationError,
    SmscConnectError,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscReadTimeoutError,
    SmscResponseTooLargeError,
    SmscTlsError,
    SmscTransportError,
)
from .codec import format_request_prefix
from .connection import Pool, past_deadline
from .redact import Envelope, forget_locals
from .types import (
    USER_AGENT,
    RawReply,
    TransportConfig,
    check_reply_headers,
    connect_failure,
    exception_chain,
    safe_text,
    ssl_context,
)
from .watchdog import WATCHDOG

if TYPE_CHECKING:
    import urllib3

__all__ = [
    "Direct",
    "SyncTransport",
    "direct_address",
    "map_urllib3_error",
    "past_deadline",
    "read_body",
]

# HTTP/1.1 keeps connections alive without a Connection header; identity: nothing is inflated.
_BASE_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}

#: Per thread: the deadline of the call in progress, the watchdog tokens it armed, whether a byte left.
_current = threading.local()


@functools.cache
def pool_classes() -> dict[str, Any]:
    """urllib3 pool classes (by scheme) whose connections respect the call deadline.

    Made on first use, so that importing this module does not import urllib3.
    """
    import socket

    import urllib3
    import urllib3.connection

    class DeadlineArmed:
        """Mixed into urllib3's connection classes: arms the watchdog before the reply is awaited."""

        sock: socket.socket | None

        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            deadline_at: float | None = getattr(_current, "deadline_at", None)
            if deadline_at is not None and self.sock is not None:
                _current.tokens.append(WATCHDOG.arm(self.sock, deadline_at))
            return super().getresponse(*args, **kwargs)  # type: ignore[misc]

        #: A bytes body to go out in the same write as the headers; then the body so written.
        _with_headers: bytes | None = None
        _sent_with_headers: bytes | None = None

        def request(self, method: str, url: str, body: Any = None, *args: Any, **kw: Any) -> None:
            # urllib3 (like http.client) writes the headers and then the body: two writes, and two
            # wake-ups of the server. A bytes body (our envelopes) goes out with the headers instead.
            self._with_headers = body if type(body) is bytes and body else None
            self._sent_with_headers = None
            try:
                super().request(method, url, body, *args, **kw)  # type: ignore[misc]
            finally:
                self._with_headers = self._sent_with_headers = None

        def send(self, data: Any) -> None:
            sent = self._sent_with_headers
            if sent is not None:
                self._sent_with_headers = None
                if data is sent:
                    return  # the body, already written with the headers
                raise RuntimeError("urllib3 wrote a body other than the one sent with the headers")
            body = self._with_headers
            if body is not None:
                # The first write of a request is its headers (http.client's endheaders).
                self._with_headers = None
                self._write(data + body)
                self._sent_with_headers = body
                return
            self._write(data)

        def _write(self, data: Any) -> None:
            # http.client connects lazily here; a failed connect or TLS handshake proves nothing left.
            # From the first write on, a failure may come after the service read the request.
            if self.sock is None:
                self.connect()  # type: ignore[attr-defined]
            _current.written = True
            super().send(data)  # type: ignore[misc]

    class HTTPConnection(DeadlineArmed, urllib3.connection.HTTPConnection):
        pass

    class HTTPSConnection(DeadlineArmed, urllib3.connection.HTTPSConnection):
        pass

    class HTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = HTTPConnection

    class HTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = HTTPSConnection

    return {"http": HTTPPool, "https": HTTPSPool}


_P = TypeVar("_P")


class Direct(Generic[_P]):
    """A direct endpoint: its socket pool, the request target and Host, and the request prefixes."""

    __slots__ = ("host", "pool", "prefixes", "target")

    def __init__(self, pool: _P, target: str, host: str) -> None:
        self.pool, self.target, self.host = pool, target, host
        #: Per headers mapping the SOAP layer hands in (one per namespace): the request's head but
        #: its Content-Length, formatted and checked once.
        self.prefixes: dict[int, tuple[Mapping[str, str], bytes]] = {}

    def prefix(self, headers: Mapping[str, str]) -> bytes:
        found = self.prefixes.get(id(headers))
        if found is not None and found[0] is headers:
            return found[1]
        try:
            prefix = format_request_prefix(self.target, self.host, {**_BASE_HEADERS, **headers})
        except ValueError as exc:
            raise SmscConnectError(f"invalid request ({exc})", retry_safe=False) from None
        if len(self.prefixes) < 16:  # the same few objects call after call; never grows unbounded
            self.prefixes[id(headers)] = (headers, prefix)
        return prefix


def direct_address(url: str, scheme: str) -> tuple[str, int, str, str]:
    """A direct endpoint's host, port, request target and Host header value (SmscConnectError if invalid)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise SmscConnectError(f"invalid URL ({url[:100]!r})", retry_safe=False) from None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not host.isascii():
        try:  # an internationalised name: its ASCII form, as the DNS and TLS layers use
            host_header = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise SmscConnectError(
                f"invalid host name in URL ({url[:100]!r})", retry_safe=False
            ) from None
    else:
        host_header = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != (443 if scheme == "https" else 80):
        host_header += f":{parts.port}"
    return host, port, target, host_header


class SyncTransport:
    """Posts envelopes within the configured limits; safe to share between threads.

    Direct endpoints go over keep-alive sockets (:mod:`.connection`), proxied ones over urllib3; one
    pool per endpoint (the primary and its mirrors), at most ``max_connections`` connections each. A
    process that forks gets fresh pools on its first call, so parent and child never share pooled
    sockets. ``sockets=False`` sends direct endpoints through urllib3 as well.
    """

    #: Whether direct endpoints use the socket pools (the default) rather than urllib3.
    use_sockets = True

    def __init__(self, config: TransportConfig, *, sockets: bool | None = None) -> None:
        self.config = config
        if sockets is not None:
            self.use_sockets = sockets
        self._lock = threading.Lock()
        self._managers: dict[str, Any] = {}
        self._pools: dict[str, tuple[Any, str]] = {}
        self._direct: dict[str, Direct[Pool]] = {}
        self._socket_pools: dict[tuple[str, str, int], Pool] = {}
        self._context: Any = None
        self._pid = os.getpid()
        self.closed = False
        #: The configured timeouts (urllib3.Timeout, made with the first pool), used as they are while the
        #: deadline is at least ``_timeouts_within`` away; otherwise cut to the time left.
        self._timeout: Any = None
        self._timeouts_within = float("inf")
        #: Per headers mapping the SOAP layer hands in (one per namespace): it merged with ours.
        self._headers: dict[int, tuple[Mapping[str, str], dict[str, str]]] = {}

    def _merge_headers(
        self, headers: Mapping[str, str]
    ) -> tuple[Mapping[str, str], dict[str, str]]:
        merged = (headers, {**_BASE_HEADERS, **headers})
        if len(self._headers) < 16:  # the same few objects call after call; never grows unbounded
            self._headers[id(headers)] = merged
        return merged

    def __repr__(self) -> str:
        return f"SyncTransport(deadline={self.config.deadline}s)"

    def _route(self, url: str) -> Direct[Pool] | tuple[Any, str]:
        """The socket route serving a direct ``url``, or urllib3's pool and target for it."""
        direct = self._direct.get(url)
        if direct is not None and self._pid == os.getpid():
            return direct
        found = self._pools.get(url)
        if found is not None and self._pid == os.getpid():
            return found
        if self._pid != os.getpid():
            # A forked child: a thread of the parent may have held the lock at the fork, and no
            # thread here would ever release it.
            self._lock = threading.Lock()
        with self._lock:
            if self._pid != os.getpid():
                # After a fork the parent's pooled sockets must not be used (nor closed) here.
                self._managers, self._pools = {}, {}
                self._direct, self._socket_pools = {}, {}
                self._pid = os.getpid()
            if self.closed:
                # close() raced a call past the client's own check: open nothing.
                raise ClientClosedError("the client is closed; no connection was opened")
            direct = self._direct.get(url)
            if direct is not None:
                return direct
            found = self._pools.get(url)
            if found is not None:
                return found
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in {"http", "https"} or not parts.hostname:
                raise SmscConnectError(f"invalid URL ({url[:100]!r})", retry_safe=False)
            if self.use_sockets and scheme not in self.config.proxies:
                direct = self._new_direct(url, scheme)
                self._direct[url] = direct
                return direct
            found = self._new_pool(url)
            self._pools[url] = found
            return found

    def _new_pool(self, url: str) -> tuple[Any, str]:
        import urllib3

        cfg = self.config
        if self._timeout is None:
            self._timeout = _timeout(cfg.connect_timeout, cfg.read_timeout)
            self._timeouts_within = max(cfg.connect_timeout, cfg.read_timeout)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        common: dict[str, Any] = {"maxsize": cfg.max_connections, "block": True, "retries": False}
        if scheme == "https":
            common["ssl_context"] = ssl_context(cfg.ca_bundle)
        proxy = cfg.proxies.get(scheme)
        manager = self._managers.get(scheme)
        if manager is None:
            if proxy is None:
                manager = urllib3.PoolManager(num_pools=8, **common)
                manager.pool_classes_by_scheme = pool_classes()
            else:
                manager = _proxy_manager(proxy, common)
            self._managers[scheme] = manager
        if proxy is not None:
            return manager.connection_from_url(url), url
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        return manager.connection_from_url(url), target

    def _new_direct(self, url: str, scheme: str) -> Direct[Pool]:
        host, port, target, host_header = direct_address(url, scheme)
        key = (scheme, host, port)
        pool = self._socket_pools.get(key)
        if pool is None:
            context = None
            if scheme == "https":
                if self._context is None:
                    self._context = ssl_context(self.config.ca_bundle)
                context = self._context
            pool = Pool(scheme, host, port, self.config, context)
            self._socket_pools[key] = pool
        return Direct(pool, target, host_header)

    def close(self) -> None:
        """Close pooled connections; later calls raise ClientClosedError in the client."""
        self.closed = True
        with self._lock:
            if self._pid == os.getpid():
                for manager in self._managers.values():
                    manager.clear()
                for pool in self._socket_pools.values():
                    pool.close()
            self._managers, self._pools = {}, {}
            self._direct, self._socket_pools = {}, {}

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        """POST ``body`` and return the reply, or raise a mapped SmscTransportError.

        Whatever else leaves (KeyboardInterrupt, SystemExit) leaves with the locals of the HTTP stack's
        frames cleared: they hold the envelope, password included.
        """
        envelope = Envelope(body)
        body = b""  # from here on only the redacted envelope is a local of this frame
        try:
            return self._post(url, envelope, headers, deadline_at)
        except BaseException as exc:
            forget_locals(exc)
            raise

    def _post(
        self, url: str, envelope: Envelope, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise SmscDeadlineExceededError(
                "the call's total deadline passed before the request was sent",
                delivery=Delivery.NOT_SENT,
                retry_safe=False,
            )
        route = self._route(url)
        if type(route) is Direct:
            return self._post_direct(route, url, envelope, headers, deadline_at)
        cfg = self.config
        pool, target = route  # type: ignore[misc]
        if remaining >= self._timeouts_within:
            timeout = (
                self._timeout
            )  # the configured timeouts end before the deadline (urllib3 clones it)
        else:
            timeout = _timeout(
                min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining)
            )
        all_headers = self._headers.get(id(headers))
        if all_headers is None or all_headers[0] is not headers:
            all_headers = self._merge_headers(headers)
        error: SmscTransportError | None = None
        _current.deadline_at = deadline_at
        _current.tokens = []
        _current.written = False
        try:
            try:
                response = pool.urlopen(
                    "POST",
                    target,
                    body=envelope.reveal(),
                    headers=all_headers[1],
                    retries=_no_retries(),
                    redirect=False,
                    assert_same_host=False,
                    timeout=timeout,
                    pool_timeout=remaining,
                    preload_content=False,
                    decode_content=False,
                )
            except Exception as exc:  # mapped below, outside the handler: no raw cause is chained
                mapped = map_urllib3_error(exc, after_headers=_current.written)
                error = past_deadline(mapped, deadline_at, cfg.deadline)
            if error is not None:
                raise error
            try:
                status = response.status
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
                body = read_body(response, status, reply_headers, cfg, deadline_at)
            except BaseException:
                response.close()  # a broken or refused reply: its socket is never reused
                response.release_conn()
                raise
            response.release_conn()
            return RawReply(status, reply_headers, body, url)
        finally:
            for token in _current.tokens:
                WATCHDOG.disarm(token)
            _current.deadline_at = None
            _current.tokens = []

    def _post_direct(
        self,
        route: Direct[Pool],
        url: str,
        envelope: Envelope,
        headers: Mapping[str, str],
        deadline_at: float,
    ) -> RawReply:
        cfg = self.config
        prefix = route.prefix(headers)
        pool = route.pool
        conn = pool.acquire(deadline_at)  # NOT_SENT errors only
        reusable = False
        try:
            remaining = deadline_at - time.monotonic()
            if remaining <= 0:
                reusable = True  # nothing was written on it
                raise SmscDeadlineExceededError(
                    "the call's total deadline passed before the request was sent",
                    delivery=Delivery.NOT_SENT,
                    retry_safe=False,
                )
            reply, reusable = conn.exchange(
                prefix, envelope, url, cfg, deadline_at, min(cfg.read_timeout, remaining)
            )
            return reply
        finally:
            pool.release(conn, reusable)


@functools.cache
def _no_retries() -> urllib3.Retry:
    """What ``retries=False, redirect=False`` makes on every call, made once (urllib3 never mutates it)."""
    import urllib3

    return urllib3.Retry(False, redirect=False)


def _timeout(connect: float, read: float) -> urllib3.Timeout:
    import urllib3

    return urllib3.Timeout(connect=connect, read=read)


def _proxy_manager(proxy: str, common: dict[str, Any]) -> Any:
    import urllib3

    if proxy.lower().startswith("socks"):
        try:
            from urllib3.contrib.socks import SOCKSProxyManager
        except ImportError:
            raise SmscConfigurationError(
                "a socks proxy needs the PySocks package (pip install pysocks)", field="proxies"
            ) from None
        return SOCKSProxyManager(proxy, num_pools=8, **common)
    manager = urllib3.ProxyManager(proxy, num_pools=8, **common)
    manager.pool_classes_by_scheme = pool_classes()
    return manager


def read_body(
    response: Any, status: int, headers: Mapping[str, str], cfg: TransportConfig, deadline_at: float
) -> bytes:
    """Read an urllib3 response's raw body within the size limit and the deadline, or raise mapped."""
    limit = cfg.max_response_bytes
    check_reply_headers(status, headers, limit)
    chunks: list[bytes] = []
    size = 0
    error: SmscTransportError | None = None
    declared = headers.get("content-length")
    try:
        if declared is not None and "transfer-encoding" not in headers:
            # The usual reply: a length within the limit (checked above). Read it in one go; the
            # watchdog still bounds the read, and a short body raises (urllib3 enforces the length).
            return bytes(response.read(decode_content=False))
        while True:
            if time.monotonic() > deadline_at:
                raise SmscDeadlineExceededError(
                    f"the reply was still arriving when the {cfg.deadline:g} s deadline passed",
                    http_status=status,
                )
            chunk = response.read1(16384, decode_content=False)
            if not chunk:
                if time.monotonic() >= deadline_at - 0.005:
                    # The watchdog shut the socket: a cut body, not the end of one.
                    raise SmscDeadlineExceededError(
                        f"the reply was cut off by the {cfg.deadline:g} s deadline",
                        http_status=status,
                    )
                break
            size += len(chunk)
            if size > limit:
                raise SmscResponseTooLargeError(
                    f"the reply exceeded the {limit}-byte limit and was not read further",
                    http_status=status,
                )
            chunks.append(chunk)
    except SmscTransportError:
        raise
    except Exception as exc:
        error = past_deadline(map_urllib3_error(exc, after_headers=True), deadline_at, cfg.deadline)
    if error is not None:
        raise error
    return b"".join(chunks)


def _is_timeout(chain: list[BaseException]) -> bool:
    import urllib3.exceptions as u3

    return any(
        isinstance(e, TimeoutError | u3.ConnectTimeoutError)
        and not isinstance(e, u3.NewConnectionError)
        for e in chain
    ) or any("timed out" in safe_text(e) for e in chain if isinstance(e, OSError))


def _summary(exc: BaseException) -> str:
    # urllib3's texts name the URL at most (never credentials: they travel in the body).
    text = safe_text(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}"


def map_urllib3_error(exc: BaseException, *, after_headers: bool = False) -> SmscTransportError:
    """Translate a urllib3/socket failure into our tree, deciding what it means for delivery.

    Only failures that prove nothing left the process (DNS, refused or timed-out connect, a failed TLS
    handshake, no free pooled connection) are NOT_SENT; ``after_headers`` says a request byte may have
    been written (or a reply begun), after which every failure, TLS record errors included, is UNKNOWN.
    requests' exceptions wrap urllib3's, so the requests transport maps through here as well.
    """
    import ssl

    import urllib3.exceptions as u3

    chain = exception_chain(exc)
    kinds = tuple(type(e) for e in chain)
    names = {k.__name__ for k in kinds}

    def has(*types: type[BaseException]) -> bool:
        return any(issubclass(k, types) for k in kinds)

    text = _summary(exc)
    if not after_headers:
        if has(u3.SSLError, ssl.SSLError, ssl.CertificateError) or "SSLError" in names:
            return SmscTlsError(f"TLS verification failed; nothing was sent ({text})")
        # urllib3's NewConnectionError subclasses ConnectTimeoutError, so it is tested first.
        if has(u3.NewConnectionError, u3.NameResolutionError) and not _is_timeout(chain):
            reason = connect_failure(chain) or f"could not connect ({text})"
            return SmscConnectError(f"{reason}; nothing was sent")
        if has(u3.ConnectTimeoutError) or "ConnectTimeout" in names:
            return SmscConnectTimeoutError(f"connecting timed out; nothing was sent ({text})")
        if has(u3.EmptyPoolError):
            return SmscConnectTimeoutError(
                f"no pooled connection became free in time; nothing was sent ({text})"
            )
        if has(u3.ProxyError) or "ProxyError" in names:
            return SmscConnectError(f"the proxy refused the connection ({text})")
        if has(u3.LocationValueError, u3.LocationParseError) or names & {
            "InvalidURL",
            "MissingSchema",
            "InvalidSchema",
        }:
            return SmscConnectError(f"invalid URL ({text})", retry_safe=False)
    if has(u3.ReadTimeoutError, TimeoutError) or "ReadTimeout" in names:
        return SmscReadTimeoutError(
            f"no reply within the read timeout; the request may have been processed ({text})"
        )
    return SmscTransportError(
        f"the connection failed after the request was sent; it may have been processed ({text})",
        delivery=Delivery.UNKNOWN,
    )
