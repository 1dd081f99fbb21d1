"""The suite's own guard: connections outside loopback fail."""

from __future__ import annotations

import socket

import pytest


def test_connection_to_outside_address_fails() -> None:
    """A connect to a public address is refused before any packet leaves."""
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="guard"):
        sock.connect(("192.0.2.1", 443))


def test_dns_lookup_of_outside_name_fails() -> None:
    """A DNS lookup for an outside host name fails."""
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("smsc.ru", 443)


def test_loopback_is_allowed() -> None:
    """Loopback still works, so the emulator and pytest-httpserver can run."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
