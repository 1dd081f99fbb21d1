"""The emulator on a real socket: a small threaded HTTP/1.1 server that runs the WSGI app.

The standard library's ``http.server`` carries the runtime path (no third-party server). It is our own
WSGI runner rather than ``wsgiref`` so that a fault plan can close a connection without any reply, and so
that keep-alive connections are closed when the server stops. Open connections are capped
(``max_connections``, 256 by default, far above the 15 concurrent requests per login the service itself
refuses with error 9): past the cap a new connection gets ``503`` and is closed at once, so idle
connections cannot pile up threads.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._clock import ManualClock
from ._contract import Contract
from ._faults import ConnectionDropped, FaultPlan, Faults
from ._model import Emulator, Message
from ._serving import ServeLoop
from ._wire import PATH, RequestRecord, SoapApp

if TYPE_CHECKING:
    from .._secrets import Secret
    from ._push import CallbackAttempt, CallbackPusher

__all__ = ["EmulatorServer"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "smsc-soap-emulator"
    timeout = 60
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACK stalls each
    # keep-alive reply by ~40 ms.
    disable_nagle_algorithm = True
    server: _HttpServer

    def version_string(self) -> str:
        """Name the server without Python's version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the app keeps its own request log."""

    def do_GET(self) -> None:
        self._run()

    def do_POST(self) -> None:
        self._run()

    def do_PUT(self) -> None:
        self._run()

    def do_DELETE(self) -> None:
        self._run()

    def _run(self) -> None:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.send_error(411, "Length Required")
            return
        try:
            length = int(length_header or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        if length > self.server.app_max_body:
            self.send_error(413, "Payload Too Large")
            return
        body = self.rfile.read(length) if length > 0 else b""
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None

        try:
            chunks = self.server.app(environ, start_response)
            payload = b"".join(chunks)
        except ConnectionDropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, headers = started
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A burst of connects beyond the backlog waits out SYN retries (1 s, then 3 s); past
    # max_connections the server answers 503 at once anyway, so the backlog can be deep.
    request_queue_size = 1024
    app_max_body = 4 * 1024 * 1024

    def __init__(self, address: tuple[str, int], app: SoapApp, max_connections: int) -> None:
        self.app = app
        self.max_connections = max_connections
        self.refused_connections = 0
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.handler_errors: list[BaseException] = []
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            full = len(self.connections) >= self.max_connections
            if not full:
                self.connections.add(request)
        if full:
            self.refused_connections += 1
            try:
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError | TimeoutError | OSError):
            self.handler_errors.append(error)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """An emulated SMSC listening on 127.0.0.1 (port 0 picks a free one), run on a daemon thread."""

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        wsdl: str | None = None,
        latency_ms: int = 0,
        apikey_element: bool = False,
        documented_fields: bool = False,
        log_limit: int | None = None,
        log_body_limit: int = 1024,
        on_request: Callable[[RequestRecord], None] | None = None,
        max_connections: int = 256,
        callback_url: str | None = None,
        callback_secret: str | Secret | None = None,
        callback_allow_remote: bool = False,
    ) -> None:
        if emulator is None:
            from ._accounts import default_account

            emulator = Emulator([default_account()])
        if max_connections < 16:
            raise ValueError(
                "max_connections must be at least 16, so that the service's own limit "
                "(error 9 at 15 concurrent requests) stays observable"
            )
        self.emulator = emulator
        self.contract = Contract(apikey_element=apikey_element, documented_fields=documented_fields)
        self.app = SoapApp(
            emulator,
            wsdl=wsdl,
            latency_ms=latency_ms,
            contract=self.contract,
            log_limit=log_limit,
            log_body_limit=log_body_limit,
            on_request=on_request,
        )
        self.max_connections = max_connections
        self._bind = bind
        self._port = port
        self._httpd: _HttpServer | None = None
        self._loop: ServeLoop | None = None
        self._pusher: CallbackPusher | None = None
        if callback_url is not None:
            self.set_callback(
                callback_url, secret=callback_secret, allow_remote=callback_allow_remote
            )

    # ----- lifecycle -----------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Bind the socket and start serving on a daemon thread; return self."""
        if self._httpd is not None:
            raise RuntimeError("the emulator server is already running")
        httpd = _HttpServer((self._bind, self._port), self.app, self.max_connections)
        self._httpd = httpd
        self._loop = ServeLoop(httpd, name=f"smsc-emulator-{self.port}").start()
        if self._pusher is not None:
            self._pusher.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the socket, and join the thread."""
        httpd, loop = self._httpd, self._loop
        if self._pusher is not None:
            self._pusher.stop()
        if httpd is None:
            return
        self.app.abandon()
        if loop is not None:
            loop.stop()
        httpd.close_connections()
        httpd.server_close()
        self._httpd = self._loop = None

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- where it is ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("the emulator server is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The SOAP endpoint, ``http://127.0.0.1:PORT/sys/soap.php``."""
        host = self._bind if ":" not in self._bind else f"[{self._bind}]"
        return f"http://{host}:{self.port}{PATH}"

    @property
    def wsdl_url(self) -> str:
        """The WSDL address, the endpoint with ``?wsdl``."""
        return self.url + "?wsdl"

    # ----- state for tests -----------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """The messages sent so far, oldest first."""
        return list(self.emulator.messages)

    @property
    def requests(self) -> list[RequestRecord]:
        """The requests received so far, oldest first."""
        return list(self.app.requests)

    @property
    def faults(self) -> Faults:
        """The fault plans waiting to be applied."""
        return self.app.faults

    def inject(self, *plans: FaultPlan) -> None:
        """Queue fault plans (applied in order to the matching requests)."""
        for plan in plans:
            self.app.faults.add(plan)

    @property
    def held(self) -> int:
        """How many requests wait on a :meth:`FaultPlan.hold` plan now."""
        return self.app.held

    def wait_held(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` requests wait on a hold plan; False on timeout."""
        return self.app.wait_held(count, timeout)

    def release(self) -> int:
        """Let every request waiting on a hold plan go on; return how many there were."""
        return self.app.release()

    @property
    def apikey_element(self) -> bool:
        """Whether the served contract declares an ``apikey`` element (else it is ignored)."""
        return self.contract.apikey_element

    @property
    def documented_fields(self) -> bool:
        """Whether replies carry the documented fields the published WSDL lacks."""
        return self.contract.documented_fields

    @property
    def open_connections(self) -> int:
        """How many client connections are open now."""
        if self._httpd is None:
            return 0
        with self._httpd.connections_lock:
            return len(self._httpd.connections)

    def unblock(self, ip: str | None = None) -> list[str]:
        """Lift the error-4 block of ``ip`` (every IP when None); return the addresses freed."""
        return self.emulator.unblock(ip)

    def click_link(self, message_id: str, phone: str) -> None:
        """Follow the tracked link of a delivered ``tinyurl=1`` message (its status becomes 4)."""
        self.emulator.click_link(message_id, phone)

    def advance(self, seconds: float) -> float:
        """Move the emulator's ManualClock forward by ``seconds``; return the new time."""
        clock = self.emulator.clock
        if not isinstance(clock, ManualClock):
            raise TypeError("advance() needs an Emulator built with clock=ManualClock()")
        now = clock.advance(seconds)
        if self._pusher is not None:
            self._pusher.kick()
        return now

    def reset(self) -> None:
        """Restore accounts, forget messages, logs, limits and faults, and rewind a ManualClock.

        Requests still waiting on latency or a hold plan (a client gave up on them) are dropped
        unprocessed, and those in progress finish first: nothing from before the reset lands after it.
        """
        with self.app.paused():
            self.emulator.reset()
            if isinstance(self.emulator.clock, ManualClock):
                self.emulator.clock.reset()
            self.app.reset()
            if self._httpd is not None:
                self._httpd.handler_errors.clear()
            if self._pusher is not None:
                self._pusher.reset()

    def check(self) -> None:
        """Re-raise the first error raised inside the server thread, if any."""
        errors: Iterable[BaseException] = (
            list(self.app.errors)
            + (list(self._httpd.handler_errors) if self._httpd is not None else [])
            + (list(self._pusher.errors) if self._pusher is not None else [])
        )
        for error in errors:
            raise error

    # ----- callbacks (pushed reports, see _push) -------------------------------------------------

    def set_callback(
        self,
        url: str | None,
        *,
        secret: str | Secret | None = None,
        allow_remote: bool = False,
        **options: Any,
    ) -> CallbackPusher | None:
        """POST status changes and inbound messages to ``url`` from now on (None stops pushing).

        ``secret`` signs each request with ``sha1``; a URL whose host is not this machine needs
        ``allow_remote=True``; ``options`` go to :class:`~smsc_soap.emulator.CallbackPusher`
        (``max_attempts``, ``backoff``, ``max_backoff``, ``timeout``, ``poll_interval``).
        """
        from ._push import CallbackPusher

        pusher = (
            None
            if url is None
            else CallbackPusher(
                self.emulator, url, secret=secret, allow_remote=allow_remote, **options
            )
        )
        if self._pusher is not None:
            self._pusher.stop()
        self._pusher = pusher
        if pusher is not None and self.running:
            pusher.start()
        return pusher

    @property
    def pusher(self) -> CallbackPusher | None:
        """The callback pusher, when a callback URL is set."""
        return self._pusher

    @property
    def callbacks(self) -> list[CallbackAttempt]:
        """Every POST of a pushed callback so far (with retries), oldest first."""
        return [] if self._pusher is None else list(self._pusher.attempts)

    def receive(self, phone: str, mes: str, to: str = "") -> dict[str, str]:
        """Push an inbound message from ``phone`` to the account's number ``to``; return its fields."""
        if self._pusher is None:
            raise RuntimeError(
                "receive() needs a callback URL: pass callback_url= or set_callback()"
            )
        return self._pusher.receive(phone, mes, to)

    def wait_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every status change so far has been pushed (or given up); False on timeout."""
        return True if self._pusher is None else self._pusher.wait_idle(timeout)

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<EmulatorServer {where} host={self.emulator.host} {self.contract.describe()}>"
