"""Suite-wide guards: no connection may leave this machine, and SMSC_* variables never leak in."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.secrets import SENTINEL_PSW

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class OutsideNetworkError(ConnectionRefusedError):
    """A test tried to reach a host that is not this machine."""


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_local(address):
        raise OutsideNetworkError(f"test suite guard: connection to {address!r} refused")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_local(address):
        raise OutsideNetworkError(f"test suite guard: connection to {address!r} refused")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_local((name, 0)):
        raise socket.gaierror(socket.EAI_NONAME, f"test suite guard: no DNS for {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


# Installed at import time, so that session fixtures and plugins are covered too.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Remove SMSC_* and proxy/CA variables, which would otherwise steer clients under test."""
    import os

    for name in list(os.environ):
        if name.startswith("SMSC_") or name.upper() in {
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "NETRC",
        }:
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def sentinel_psw() -> str:
    """A password that must never appear anywhere a test can look."""
    return SENTINEL_PSW


@pytest.fixture(params=["sockets", "httpx"])
def async_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each path of the async transport: its own asyncio connections (the default for
    direct endpoints) and httpx (what proxied endpoints use)."""
    from smsc_soap._http.async_transport import AsyncTransport

    monkeypatch.setattr(AsyncTransport, "use_sockets", request.param == "sockets")
    return str(request.param)
