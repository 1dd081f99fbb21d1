"""What both transports share: the client's HTTP settings, a reply read within limits, and the checks
and exception helpers that do not depend on requests or httpx. The SOAP layer reads replies through these
types without importing either HTTP stack.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._exceptions import (
    Delivery,
    SmscConfigurationError,
    SmscProtocolError,
    SmscRedirectError,
    SmscResponseTooLargeError,
)
from .._version import __version__

if TYPE_CHECKING:
    import ssl

__all__ = [
    "USER_AGENT",
    "RawReply",
    "TransportConfig",
    "check_reply_headers",
    "connect_failure",
    "exception_chain",
    "safe_text",
    "ssl_context",
]

USER_AGENT = f"smsc-soap/{__version__}"


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SmscConfigurationError(
            f"{name} must be a number of seconds, not {type(value).__name__}", field=name
        )
    if not math.isfinite(value) or value <= 0:
        raise SmscConfigurationError(
            f"{name} must be a finite number of seconds greater than 0", field=name
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Timeouts, limits, TLS and proxy settings of a client; validated on construction.

    ``connect_timeout``/``read_timeout`` bound each socket operation; ``deadline`` bounds the whole call
    (retries included). ``max_response_bytes`` caps a reply (SMSC's are a few hundred bytes).
    ``ca_bundle`` adds a CA file for TLS-inspecting proxies; verification itself cannot be turned off.
    Proxies come only from ``proxies``: the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE, .netrc) is
    deliberately ignored, so that nothing outside the code can redirect the password.
    """

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    max_response_bytes: int = 64 * 1024
    max_connections: int = 10
    ca_bundle: str | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "connect_timeout", _positive("connect_timeout", self.connect_timeout)
        )
        object.__setattr__(self, "read_timeout", _positive("read_timeout", self.read_timeout))
        object.__setattr__(self, "deadline", _positive("deadline", self.deadline))
        for name in ("max_response_bytes", "max_connections"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SmscConfigurationError(f"{name} must be a positive integer", field=name)
        if self.max_connections > 14:
            raise SmscConfigurationError(
                "max_connections must be at most 14: SMSC answers error 9 to 15 or more "
                "concurrent requests under one login",
                field="max_connections",
            )
        if self.ca_bundle is not None and not os.path.exists(self.ca_bundle):
            raise SmscConfigurationError(
                "ca_bundle must name an existing CA file or directory", field="ca_bundle"
            )
        if not isinstance(self.proxies, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.proxies.items()
        ):
            raise SmscConfigurationError(
                "proxies must map 'http'/'https' to proxy URLs", field="proxies"
            )
        object.__setattr__(self, "proxies", dict(self.proxies))


@dataclass(frozen=True, slots=True)
class RawReply:
    """An HTTP reply read within the limits: status, lower-cased headers and the body bytes."""

    status: int
    # A hostile server may echo the request (password included), in the body or in a header: keep
    # both out of reprs and traceback locals.
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str = ""

    @property
    def retry_after(self) -> float | None:
        """The Retry-After header in seconds, if present and sane."""
        value = self.headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime  # rare: not imported with the package

            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
        return max(0.0, min(seconds, 3600.0)) if math.isfinite(seconds) else None


def check_reply_headers(status: int, headers: Mapping[str, str], limit: int) -> None:
    """Refuse redirects, compressed bodies and declared lengths over the cap, before reading the body."""
    if 300 <= status < 400:
        raise SmscRedirectError(
            f"the server answered HTTP {status} (redirect); redirects are never followed, "
            "so that the credentials are not sent to another address",
            http_status=status,
            delivery=Delivery.UNKNOWN,
        )
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in {"", "identity"}:
        raise SmscProtocolError(
            f"the server sent a compressed body (Content-Encoding: {encoding[:40]}) although we "
            "asked for identity; it is not inflated",
            http_status=status,
        )
    length = headers.get("content-length")
    if length is not None:
        # Repeated identical values ("120, 120": a header sent twice, joined) are one length, as the
        # codec reads them (RFC 9110 8.6); differing ones are refused.
        values = {value.strip() for value in length.split(",")}
        try:
            if len(values) != 1:
                raise ValueError(length)
            declared = int(values.pop())
        except ValueError:
            raise SmscProtocolError(
                "the reply has an invalid Content-Length", http_status=status
            ) from None
        if declared > limit:
            raise SmscResponseTooLargeError(
                f"the reply declares {declared} bytes; the limit is {limit}", http_status=status
            )


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying TLS context trusting ``ca_bundle`` (a file or a directory), else certifi's roots.

    The certifi context is made once per process and shared by every client: loading the roots costs
    about 18 ms, which a client made per request (a web handler, a task) would pay each time. Nothing
    changes a context after it is made. A ``ca_bundle`` is read anew for every client, so a rotated
    file is picked up.
    """
    import ssl

    if ca_bundle is None:
        return _certifi_context()
    if os.path.isdir(ca_bundle):
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


@functools.cache
def _certifi_context() -> ssl.SSLContext:
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception behind it (causes, contexts, wrapped args and urllib3 reasons)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        chain.append(item)
        todo.extend([item.__cause__, item.__context__])
        for arg in getattr(item, "args", ()):
            if isinstance(arg, BaseException):
                todo.append(arg)
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return chain


def safe_text(exc: BaseException) -> str:
    """``str(exc)``, or the type name when the exception cannot even describe itself."""
    try:
        return str(exc)
    except Exception:
        return "(no description)"


def connect_failure(chain: list[BaseException]) -> str | None:
    """Why a connection could not be made, in our words ("127.0.0.1:1 refused the connection").

    Read from the operating system's error under the HTTP library's wrappers (whose texts carry pool
    internals and "Max retries exceeded" even when no retry was made); None when there is none.
    """
    import socket

    where = "the server"
    for error in chain:
        conn = getattr(error, "conn", None)  # urllib3's NewConnectionError
        host, port = getattr(conn, "host", None), getattr(conn, "port", None)
        if host is None:
            try:  # httpx's ConnectError (its .request raises when unset)
                url = getattr(error, "request", None)
                url = getattr(url, "url", None)
            except RuntimeError:
                url = None
            host, port = getattr(url, "host", None), getattr(url, "port", None)
        if host:
            where = f"{host}:{port}" if port else str(host)
            break
    for error in reversed(chain):
        if isinstance(error, ConnectionRefusedError):
            return f"{where} refused the connection (is the server running on that address?)"
        if isinstance(error, socket.gaierror):
            reason = (error.strerror or "").lower() or "unknown host"
            return f"the host name of {where} could not be resolved ({reason})"
    for error in reversed(chain):
        if isinstance(error, OSError) and error.strerror:
            return f"could not connect to {where}: {error.strerror.lower()}"
    return None
