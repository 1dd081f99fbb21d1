"""The asynchronous HTTP layer: the same limits and error mapping as the sync transport, on asyncio.

It posts the envelope :class:`~smsc_soap._soap.protocol.Protocol` serialised and returns a
:class:`~smsc_soap._http.types.RawReply`: no redirects, identity encoding only, the body read raw under
the size cap, the whole call bounded by the deadline, and every failure mapped to our exception tree
with what it means for the message. The environment (proxies, CA bundles, .netrc) is ignored, as in the
sync transport. Two paths sit behind the one :class:`AsyncTransport`:

* **direct endpoints** (no proxy): keep-alive asyncio connections of :mod:`.async_connection` (one pool
  per scheme, host and port) driving the sans-I/O HTTP/1.1 codec of :mod:`.codec`, as the sync
  transport's sockets do;
* **proxied endpoints**: an ``httpx.AsyncClient`` (imported only then).
  ``AsyncTransport(config, sockets=False)`` sends direct endpoints through httpx too (for comparison).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
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
from .async_connection import AsyncPool, Slots
from .redact import Envelope, forget_locals
from .sync_transport import Direct, direct_address
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

if TYPE_CHECKING:
    import httpx

__all__ = ["AsyncTransport", "map_httpx_error"]

_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Connection": "keep-alive"}


class AsyncTransport:
    """Posts envelopes within the configured limits, from the tasks of one event loop.

    Direct endpoints go over keep-alive asyncio connections (:mod:`.async_connection`), proxied ones
    over an ``httpx.AsyncClient``; at most ``max_connections`` connections per endpoint. Nothing is
    opened (and no TLS context made) before the first call, so building an async client is cheap and
    may happen outside any event loop. Pooled connections belong to the event loop of that first call;
    using the transport from another loop is refused. ``sockets=False`` sends direct endpoints
    through httpx as well.
    """

    #: Whether direct endpoints use the asyncio connection pools (the default) rather than httpx.
    use_sockets = True

    def __init__(self, config: TransportConfig, *, sockets: bool | None = None) -> None:
        self.config = config
        if sockets is not None:
            self.use_sockets = sockets
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._direct: dict[str, Direct[AsyncPool] | None] = {}
        self._socket_pools: dict[tuple[str, str, int], AsyncPool] = {}
        self._context: ssl.SSLContext | None = None
        self._slots: Slots | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"AsyncTransport(deadline={self.config.deadline}s)"

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "this AsyncSoapSmsc made its connections in another event loop; "
                "create one client per event loop"
            )
        return loop

    def _get_client(self) -> httpx.AsyncClient:
        self._check_loop()
        client = self._client
        if client is None:
            client = self._client = self._new_client()
        return client

    def _route(self, url: str, loop: asyncio.AbstractEventLoop) -> Direct[AsyncPool] | None:
        """The direct route of ``url``, or None when httpx posts it (a proxy, or ``sockets=False``)."""
        try:
            return self._direct[url]
        except KeyError:
            pass
        if self.closed:
            # aclose() raced a call past the client's own check: open nothing.
            raise ClientClosedError("the client is closed; no connection was opened")
        scheme = url.partition(":")[0].lower()
        if not self.use_sockets or scheme not in {"http", "https"} or scheme in self.config.proxies:
            route = None
        else:
            host, port, target, host_header = direct_address(url, scheme)
            if not host:
                raise SmscConnectError(f"invalid URL ({url[:100]!r})", retry_safe=False)
            key = (scheme, host, port)
            pool = self._socket_pools.get(key)
            if pool is None:
                context = None
                if scheme == "https":
                    if self._context is None:
                        self._context = ssl_context(self.config.ca_bundle)
                    context = self._context
                pool = AsyncPool(scheme, host, port, self.config, context, loop)
                self._socket_pools[key] = pool
            route = Direct(pool, target, host_header)
        if len(self._direct) < 64:  # the primary and its mirrors; never grows unbounded
            self._direct[url] = route
        return route

    def _new_client(self) -> httpx.AsyncClient:
        import httpx

        cfg = self.config
        size = cfg.max_connections
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        verify: ssl.SSLContext | bool = ssl_context(cfg.ca_bundle)
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        for scheme in ("http", "https"):
            proxy = cfg.proxies.get(scheme)
            if proxy is not None:
                mounts[f"{scheme}://"] = httpx.AsyncHTTPTransport(
                    verify=verify, trust_env=False, limits=limits, proxy=proxy
                )
        return httpx.AsyncClient(
            headers=_HEADERS,
            verify=verify,
            trust_env=False,
            follow_redirects=False,
            limits=limits,
            mounts=mounts or None,
            timeout=httpx.Timeout(cfg.read_timeout, connect=cfg.connect_timeout),
        )

    async def aclose(self) -> None:
        """Close pooled connections; later calls raise ClientClosedError in the client."""
        self.closed = True
        client, self._client = self._client, None
        pools, self._socket_pools = list(self._socket_pools.values()), {}
        self._direct = {}
        for pool in pools:
            pool.close()
        if pools:
            await asyncio.sleep(0)  # let the aborted transports close their sockets
        if client is not None:
            await client.aclose()

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        """POST ``body`` and return the reply, or raise a mapped SmscTransportError.

        Whatever else leaves (CancelledError from ``task.cancel()`` or ``asyncio.wait_for``,
        KeyboardInterrupt) leaves with the locals of httpx's and httpcore's frames cleared: they hold
        the envelope, password included.
        """
        envelope = Envelope(body)
        body = b""  # from here on only the redacted envelope is a local of this frame
        try:
            return await self._post(url, envelope, headers, deadline_at)
        except BaseException as exc:
            forget_locals(exc)
            raise

    async def _post(
        self, url: str, envelope: Envelope, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise SmscDeadlineExceededError(
                "the call's total deadline passed before the request was sent",
                delivery=Delivery.NOT_SENT,
                retry_safe=False,
            )
        loop = self._check_loop()
        route = self._route(url, loop)
        slots = self._slots
        if slots is None:
            slots = self._slots = Slots(self.config.max_connections, loop)
        await slots.take(deadline_at)  # NOT_SENT if none frees in time
        try:
            if route is not None:
                return await self._post_direct(route, url, envelope, headers, deadline_at)
            return await self._post_httpx(url, envelope, headers, deadline_at)
        finally:
            slots.give()

    async def _post_httpx(
        self, url: str, envelope: Envelope, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise SmscDeadlineExceededError(
                "the call's total deadline passed before the request was sent",
                delivery=Delivery.NOT_SENT,
                retry_safe=False,
            )
        cfg = self.config
        import httpx

        timeout = httpx.Timeout(
            min(cfg.read_timeout, remaining),
            connect=min(cfg.connect_timeout, remaining),
            pool=remaining,
        )
        if self.closed:
            raise ClientClosedError("the client is closed; no connection was opened")
        client = self._get_client()
        stage = _Stage()
        error: SmscTransportError | None = None
        try:
            async with asyncio.timeout(remaining):
                return await self._exchange(client, url, envelope, headers, timeout, stage)
        except SmscError:
            raise
        except TimeoutError:
            error = SmscDeadlineExceededError(
                f"no complete reply within the {cfg.deadline:g} s deadline; "
                "the request may have been processed",
                http_status=stage.status,
            )
        except Exception as exc:  # mapped below, outside the handler, so no raw cause is chained
            error = map_httpx_error(exc, after_headers=stage.status is not None)
        raise error

    async def _post_direct(
        self,
        route: Direct[AsyncPool],
        url: str,
        envelope: Envelope,
        headers: Mapping[str, str],
        deadline_at: float,
    ) -> RawReply:
        prefix = route.prefix(headers)
        pool = route.pool
        conn = await pool.acquire(deadline_at)  # NOT_SENT errors only
        reusable = False
        try:
            if deadline_at - time.monotonic() <= 0:
                reusable = True  # nothing was written on it
                raise SmscDeadlineExceededError(
                    "the call's total deadline passed before the request was sent",
                    delivery=Delivery.NOT_SENT,
                    retry_safe=False,
                )
            reply = await conn.exchange(prefix, envelope, url, self.config, deadline_at)
            reusable = conn.keep_alive
            return reply
        finally:
            pool.release(conn, reusable)  # closed unless its reply was read whole (or cancelled)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        url: str,
        envelope: Envelope,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        stage: _Stage,
    ) -> RawReply:
        limit = self.config.max_response_bytes
        request = client.build_request(
            "POST", url, content=envelope.reveal(), headers=headers, timeout=timeout
        )
        response = await client.send(request, stream=True)
        try:
            stage.status = status = response.status_code
            reply_headers = {k.lower(): v for k, v in response.headers.items()}
            check_reply_headers(status, reply_headers, limit)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > limit:
                    raise SmscResponseTooLargeError(
                        f"the reply exceeded the {limit}-byte limit and was not read further",
                        http_status=status,
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        return RawReply(status, reply_headers, b"".join(chunks), url)


class _Stage:
    """How far one exchange got: the HTTP status once the reply's headers arrived."""

    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status: int | None = None


def _summary(exc: BaseException) -> str:
    # httpx's texts name the URL at most (never credentials: they travel in the body).
    text = safe_text(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:200]}"


def map_httpx_error(exc: BaseException, *, after_headers: bool = False) -> SmscTransportError:
    """Translate an httpx/socket failure into our tree, deciding what it means for delivery.

    As in the sync transport, only failures that prove nothing left the process (refused or timed-out
    connect, no free pooled connection, TLS) are NOT_SENT; anything after the connection was made is
    UNKNOWN.
    """
    import httpx

    chain = exception_chain(exc)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    text = _summary(exc)
    # httpx reports a failed connect or TLS handshake as ConnectError/ConnectTimeout. An ssl error under
    # a read or write error (SSLWantReadError under a ReadTimeout, a bad record mid-response) comes after
    # the request may have been written: that is never "nothing was sent".
    connecting = has(httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
    if not after_headers and connecting:
        if has(ssl.SSLError, ssl.CertificateError):
            return SmscTlsError(f"TLS verification failed; nothing was sent ({text})")
        if has(httpx.ConnectTimeout):
            return SmscConnectTimeoutError(f"connecting timed out; nothing was sent ({text})")
        if has(httpx.PoolTimeout):
            return SmscConnectTimeoutError(
                f"no pooled connection became free in time; nothing was sent ({text})"
            )
        if has(httpx.ProxyError):
            return SmscConnectError(f"the proxy refused the connection ({text})")
        if has(httpx.ConnectError):
            reason = connect_failure(chain) or f"could not connect ({text})"
            return SmscConnectError(f"{reason}; nothing was sent")
        if has(httpx.UnsupportedProtocol, httpx.InvalidURL):
            return SmscConnectError(f"invalid URL ({text})", retry_safe=False)
    if has(httpx.ReadTimeout, httpx.WriteTimeout, TimeoutError):
        return SmscReadTimeoutError(
            f"no reply within the read timeout; the request may have been processed ({text})"
        )
    return SmscTransportError(
        f"the connection failed after the request was sent; it may have been processed ({text})",
        delivery=Delivery.UNKNOWN,
    )
