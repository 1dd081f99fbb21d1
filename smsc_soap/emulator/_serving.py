"""A serving loop for the emulator's socket servers that stops at once, without polling.

``socketserver``'s ``serve_forever`` notices ``shutdown()`` only at its next poll (the emulator used
50 ms), so every stop waited up to a poll interval and an idle server woke 20 times a second. Here the
loop waits on the listening socket and on one end of a socket pair; :meth:`ServeLoop.stop` writes to
the other end, so the loop ends as soon as it is asked to and sleeps while nothing happens.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
import threading

__all__ = ["ServeLoop"]


class ServeLoop:
    """Serve ``server`` on a daemon thread until :meth:`stop`."""

    def __init__(self, server: socketserver.TCPServer, name: str) -> None:
        self._server = server
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ServeLoop:
        """Start serving; return self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        server = self._server
        with selectors.DefaultSelector() as selector:
            selector.register(server.fileno(), selectors.EVENT_READ, data=True)
            selector.register(self._wake_read, selectors.EVENT_READ, data=False)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.data and not self._stopping.is_set():
                        self._accept()
                server.service_actions()

    def _accept(self) -> None:
        """Accept one connection and hand it over, as ``serve_forever`` does."""
        server = self._server
        try:
            request, client_address = server.get_request()
        except OSError:
            return
        if not server.verify_request(request, client_address):
            server.shutdown_request(request)
            return
        try:
            server.process_request(request, client_address)
        except Exception:
            server.handle_error(request, client_address)
            server.shutdown_request(request)
        except BaseException:
            server.shutdown_request(request)
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop (a request being accepted is finished first) and join its thread."""
        self._stopping.set()
        try:
            self._wake_write.send(b"\0")
        except OSError:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._wake_read.close()
        self._wake_write.close()
