"""The hardened HTTP layer under zeep: bounded in time and size, never redirected, never decompressing.

zeep's own transport has no call timeout, no size limit, follows redirects with the password in the
body, inflates any Content-Encoding and logs whole envelopes at DEBUG. This module posts the envelope
that zeep serialised and hands back the raw reply, mapping every requests/urllib3 failure to our
exception tree with what it means for the message.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter

from .._exceptions import (
    Delivery,
    SmscConnectError,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscReadTimeoutError,
    SmscResponseTooLargeError,
    SmscTlsError,
    SmscTransportError,
)
from .types import (
    USER_AGENT,
    RawReply,
    TransportConfig,
    check_reply_headers,
    connect_failure,
    exception_chain,
    safe_text,
)

__all__ = ["SyncTransport", "map_requests_error"]


class _Watchdog:
    """One daemon thread per process that shuts down the socket of a call whose deadline passed.

    Socket timeouts bound each ``recv``, not a whole reply: a server that drips one header byte per
    second would hold a call forever. Arming the socket here bounds the call by its deadline however
    the server paces its bytes.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, socket.socket] = {}
        self._tokens = itertools.count(1)
        self._pid = -1

    def arm(self, sock: socket.socket, deadline_at: float) -> int:
        """Shut ``sock`` down at ``deadline_at`` (monotonic) unless disarmed first; returns a token."""
        with self._cond:
            if self._pid != os.getpid():
                # After a fork the thread is gone and the heap holds the parent's sockets.
                self._pid = os.getpid()
                self._heap, self._armed = [], {}
                threading.Thread(target=self._run, name="smsc-soap-deadline", daemon=True).start()
            token = next(self._tokens)
            self._armed[token] = sock
            heapq.heappush(self._heap, (deadline_at, token))
            self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        """Forget ``token``; its socket is left alone."""
        with self._cond:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline_at, token = self._heap[0]
                if token not in self._armed:
                    heapq.heappop(self._heap)
                    continue
                wait = deadline_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 60.0))
                    continue
                heapq.heappop(self._heap)
                sock = self._armed.pop(token)
            try:
                # The plain socket's shutdown (not SSLSocket's): it wakes the blocked reader at once.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


_WATCHDOG = _Watchdog()
_current = threading.local()


class _DeadlineArmed:
    """Mixed into urllib3's connection classes: arms the watchdog before the reply is awaited."""

    sock: socket.socket | None

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline_at: float | None = getattr(_current, "deadline_at", None)
        if deadline_at is not None and self.sock is not None:
            _current.tokens.append(_WATCHDOG.arm(self.sock, deadline_at))
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        # http.client connects lazily here; a failed connect or TLS handshake proves nothing left. From
        # the first write on, a failure may come after the service read the request.
        if self.sock is None:
            self.connect()  # type: ignore[attr-defined]
        _current.written = True
        super().send(data)  # type: ignore[misc]


class _HTTPConnection(_DeadlineArmed, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineArmed, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with connection classes that respect the call deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Session(requests.Session):
    """A session that never looks at a redirect target.

    Even with ``allow_redirects=False``, requests prepares the next hop of a 3xx (``Response.next``) and
    first reads, and inflates, the whole redirect body, without any size limit. With no target there
    is no next hop: the 3xx comes back unread and is refused by :func:`check_reply_headers`.
    """

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


class SyncTransport:
    """Posts envelopes with requests, within the configured limits; safe to share between threads.

    A process that forks gets a fresh session on its first call, so parent and child never share
    pooled sockets.
    """

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._pid = os.getpid()
        self.closed = False

    def __repr__(self) -> str:
        return f"SyncTransport(deadline={self.config.deadline}s)"

    def _get_session(self) -> requests.Session:
        session = self._session
        if session is not None and self._pid == os.getpid():
            return session
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                # After a fork the parent's pooled sockets must not be used (nor closed) here.
                self._session = self._new_session()
                self._pid = os.getpid()
            return self._session

    def _new_session(self) -> requests.Session:
        session = _Session()
        session.trust_env = False
        session.max_redirects = 0
        session.headers.clear()
        session.headers.update(
            {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "keep-alive"}
        )
        session.proxies = dict(self.config.proxies)
        session.verify = self.config.ca_bundle or True
        size = self.config.max_connections
        adapter = _Adapter(
            # One pool per host: the primary and its mirrors.
            pool_connections=4,
            pool_maxsize=size,
            pool_block=True,
            max_retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0),
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        """Close pooled connections; later calls raise ClientClosedError in the client."""
        self.closed = True
        with self._lock:
            if self._session is not None and self._pid == os.getpid():
                self._session.close()
            self._session = None

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        """POST ``body`` and return the reply, or raise a mapped SmscTransportError."""
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise SmscDeadlineExceededError(
                "the call's total deadline passed before the request was sent",
                delivery=Delivery.NOT_SENT,
                retry_safe=False,
            )
        cfg = self.config
        timeout = (min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining))
        session = self._get_session()
        error: SmscTransportError | None = None
        _current.deadline_at = deadline_at
        _current.tokens = []
        _current.written = False
        try:
            try:
                response = session.post(
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except (
                Exception
            ) as exc:  # mapped below, outside the handler, so no raw cause is chained
                mapped = map_requests_error(exc, after_headers=_current.written)
                error = _past_deadline(mapped, deadline_at, cfg.deadline)
            if error is not None:
                raise error
            try:
                return self._read(response, url, deadline_at)
            finally:
                response.close()
        finally:
            for token in _current.tokens:
                _WATCHDOG.disarm(token)
            _current.deadline_at = None
            _current.tokens = []

    def _read(self, response: requests.Response, url: str, deadline_at: float) -> RawReply:
        headers = {k.lower(): v for k, v in response.headers.items()}
        limit = self.config.max_response_bytes
        check_reply_headers(response.status_code, headers, limit)
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        error: SmscTransportError | None = None
        try:
            while True:
                if time.monotonic() > deadline_at:
                    raise SmscDeadlineExceededError(
                        f"the reply was still arriving when the {self.config.deadline:g} s "
                        "deadline passed",
                        http_status=response.status_code,
                    )
                chunk = raw.read1(16384, decode_content=False)
                if not chunk:
                    if time.monotonic() >= deadline_at - 0.005:
                        # The watchdog shut the socket: a cut body, not the end of one.
                        raise SmscDeadlineExceededError(
                            f"the reply was cut off by the {self.config.deadline:g} s deadline",
                            http_status=response.status_code,
                        )
                    break
                size += len(chunk)
                if size > limit:
                    raise SmscResponseTooLargeError(
                        f"the reply exceeded the {limit}-byte limit and was not read further",
                        http_status=response.status_code,
                    )
                chunks.append(chunk)
        except SmscTransportError:
            raise
        except Exception as exc:
            error = _past_deadline(
                map_requests_error(exc, after_headers=True), deadline_at, self.config.deadline
            )
        if error is not None:
            raise error
        return RawReply(response.status_code, headers, b"".join(chunks), url)


def _past_deadline(
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


def _is_timeout(chain: list[BaseException]) -> bool:
    return any(
        isinstance(e, TimeoutError | urllib3.exceptions.ConnectTimeoutError)
        and not isinstance(e, urllib3.exceptions.NewConnectionError)
        for e in chain
    ) or any("timed out" in safe_text(e) for e in chain if isinstance(e, OSError))


def _summary(exc: BaseException) -> str:
    # Exception texts from requests/urllib3 name the URL (never credentials: they travel in the body).
    text = safe_text(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}"


def map_requests_error(exc: BaseException, *, after_headers: bool = False) -> SmscTransportError:
    """Translate a requests/urllib3/socket failure into our tree, deciding what it means for delivery.

    Only failures that prove nothing left the process (DNS, refused or timed-out connect, a failed TLS
    handshake) are NOT_SENT; ``after_headers`` says a request byte may have been written (or a reply
    begun), after which every failure, TLS record errors included, is UNKNOWN.
    """
    chain = exception_chain(exc)
    kinds = tuple(type(e) for e in chain)

    def has(*types: type[BaseException]) -> bool:
        return any(issubclass(k, types) for k in kinds)

    text = _summary(exc)
    if not after_headers:
        if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError):
            return SmscTlsError(f"TLS verification failed; nothing was sent ({text})")
        # urllib3's NewConnectionError subclasses ConnectTimeoutError, so it is tested first.
        if has(urllib3.exceptions.NewConnectionError) and not _is_timeout(chain):
            reason = connect_failure(chain) or f"could not connect ({text})"
            return SmscConnectError(f"{reason}; nothing was sent")
        if has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
            return SmscConnectTimeoutError(f"connecting timed out; nothing was sent ({text})")
        if has(requests.exceptions.ProxyError):
            return SmscConnectError(f"the proxy refused the connection ({text})")
        if has(requests.exceptions.InvalidURL, requests.exceptions.MissingSchema):
            return SmscConnectError(f"invalid URL ({text})", retry_safe=False)
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return SmscReadTimeoutError(
            f"no reply within the read timeout; the request may have been processed ({text})"
        )
    return SmscTransportError(
        f"the connection failed after the request was sent; it may have been processed ({text})",
        delivery=Delivery.UNKNOWN,
    )
