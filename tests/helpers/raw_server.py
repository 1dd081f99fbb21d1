"""A tiny raw HTTP/1.1 server on 127.0.0.1 and hostile behaviours for it (resets, drips, hangs)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smsc_soap import SoapSmsc
from tests.wire import php_reply

PHONE = "79991234567"


@dataclass
class Conn:
    """One accepted connection and the request read from it."""

    sock: socket.socket
    head: bytes
    body: bytes
    stopped: threading.Event = field(default_factory=threading.Event)  # set when the server closes


Behaviour = Callable[[Conn], None]


class RawServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that reads one request per connection and runs a behaviour.

    ``behaviours`` are used in turn (the last one repeats); ``bodies`` records every request body.
    """

    def __init__(self, *behaviours: Behaviour, tls: Any = None, port: int = 0) -> None:
        self.behaviours = list(behaviours)
        self.bodies: list[bytes] = []
        self.heads: list[bytes] = []
        self.stop_event = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self._tls = tls
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.connections = 0
        #: TCP connections accepted (``connections`` counts requests read).
        self.accepted = 0
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/sys/soap.php"

    def _serve(self) -> None:
        while not self.stop_event.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            thread = threading.Thread(target=self._handle, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, sock: socket.socket) -> None:
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
            sock.settimeout(10)
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(rest) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                with self._lock:
                    index = self.connections
                    self.connections += 1
                    self.heads.append(head)
                    self.bodies.append(rest[:length])
                behaviour = self.behaviours[min(index, len(self.behaviours) - 1)]
                behaviour(Conn(sock, head, rest[:length], self.stop_event))
                if getattr(behaviour, "keep_alive", False) is False:
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def close(self) -> None:
        self.stop_event.set()
        self._listener.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ behaviours


def respond(
    body: bytes | str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    keep_alive: bool = False,
) -> Behaviour:
    """Answer with a complete response (Content-Length set unless given)."""
    data = body.encode() if isinstance(body, str) else body
    hdrs = {"Content-Type": "text/xml; charset=utf-8", "Content-Length": str(len(data))}
    hdrs.update(headers or {})
    if not keep_alive:
        hdrs["Connection"] = "close"
    lines = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items() if v is not None)
    raw = f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode() + data

    def behave(conn: Conn) -> None:
        conn.sock.sendall(raw)

    behave.keep_alive = keep_alive  # type: ignore[attr-defined]
    return behave


def reset(after: bytes = b"") -> Behaviour:
    """Send ``after`` (maybe nothing), then reset the connection (SO_LINGER 0)."""

    def behave(conn: Conn) -> None:
        if after:
            conn.sock.sendall(after)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()

    return behave


def raw(data: bytes) -> Behaviour:
    """Send these bytes and close."""

    def behave(conn: Conn) -> None:
        conn.sock.sendall(data)

    return behave


def hang(server_stop: threading.Event | None = None, seconds: float = 30) -> Behaviour:
    """Never answer (for ``seconds``, or until the server closes)."""

    def behave(conn: Conn) -> None:
        (server_stop or conn.stopped).wait(seconds)

    return behave


def drip(head: bytes, piece: bytes, every: float, limit: float = 20) -> Behaviour:
    """Send ``head``, then ``piece`` every ``every`` seconds, for up to ``limit`` seconds."""

    def behave(conn: Conn) -> None:
        conn.sock.sendall(head)
        end = time.monotonic() + limit
        while time.monotonic() < end:
            time.sleep(every)
            conn.sock.sendall(piece)

    return behave


def ok_reply(operation: str, message_id: str = "101") -> str:
    """A valid reply for ``operation``."""
    inner = {
        "send_sms": f"<id>{message_id}</id><cnt>1</cnt>",
        "get_balance": "<balance>100.50</balance>",
        "get_status": "<status>1</status>",
        "get_sms_cost": "<cost>1.95</cost><cnt>1</cnt>",
    }[operation]
    return php_reply(operation, inner)


def send(client: SoapSmsc, message_id: str = "101") -> Any:
    """The send every scenario makes: one phone, fixed id, so bodies are comparable."""
    return client.send_sms(PHONE, "hello", id=message_id)


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound and closed at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
