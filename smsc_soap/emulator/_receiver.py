"""A callback receiver for tests and demos: :func:`~smsc_soap.callbacks.callback_app` on 127.0.0.1.

It collects every event its handler accepted, counts the answers it gave, and can be told to fail the
next few handler calls (answer 500) to show that the sender retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ..callbacks import CallbackEvent, InboundMessage, StatusReport, callback_app
from ._serving import ServeLoop

__all__ = ["TEST_CALLBACK_SECRET", "CallbackReceiver"]

#: The secret the pytest plugin's receiver and emulator share.
TEST_CALLBACK_SECRET = "test-callback-secret"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the receiver keeps its own log of answers."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class ReceiverHandlerError(RuntimeError):
    """Raised by the receiver's handler when told to fail (``fail_next``)."""


class CallbackReceiver:
    """A real HTTP receiver of pushed callbacks on 127.0.0.1 (port 0 picks a free one), on a thread.

    ``events`` holds what the handler accepted, in order; ``answers`` every HTTP status it gave.
    ``handler``, when given, runs on each event before it is collected (raise to answer 500).
    """

    def __init__(
        self,
        *,
        secret: str | None = TEST_CALLBACK_SECRET,
        handler: Callable[[CallbackEvent], object] | None = None,
        bind: str = "127.0.0.1",
        port: int = 0,
        path: str = "/smsc/callback",
    ) -> None:
        self.secret = secret
        self.handler = handler
        self.path = path
        self.events: list[CallbackEvent] = []
        self.answers: list[int] = []
        self._fail = 0
        self._bind = bind
        self._port = port
        self._cond = threading.Condition()
        self._app = callback_app(self._handle, secret=secret)
        self._httpd: _Server | None = None
        self._loop: ServeLoop | None = None

    # ----- the app -------------------------------------------------------------------------------

    def _handle(self, event: CallbackEvent) -> None:
        with self._cond:
            if self._fail > 0:
                self._fail -= 1
                raise ReceiverHandlerError("the receiver was told to fail this call")
        if self.handler is not None:
            self.handler(event)
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            with self._cond:
                self.answers.append(int(status.split(" ", 1)[0]))
                self._cond.notify_all()
            return start_response(status, headers, exc_info)

        return self._app(environ, recording)

    # ----- lifecycle -----------------------------------------------------------------------------

    def start(self) -> CallbackReceiver:
        """Bind and serve on a daemon thread; return self."""
        if self._httpd is not None:
            raise RuntimeError("the receiver is already running")
        httpd = _Server((self._bind, self._port), _QuietHandler)
        httpd.set_app(self._wsgi)
        self._httpd = httpd
        self._loop = ServeLoop(httpd, name="smsc-callback-receiver").start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread."""
        httpd, loop = self._httpd, self._loop
        if httpd is None:
            return
        if loop is not None:
            loop.stop()
        httpd.server_close()
        self._httpd = self._loop = None

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where to push: ``http://127.0.0.1:PORT/smsc/callback``."""
        if self._httpd is None:
            raise RuntimeError("the receiver is not running; call start() first")
        return f"http://{self._bind}:{self._httpd.server_address[1]}{self.path}"

    # ----- for tests -----------------------------------------------------------------------------

    @property
    def reports(self) -> list[StatusReport]:
        """The status reports accepted so far."""
        with self._cond:
            return [event for event in self.events if isinstance(event, StatusReport)]

    @property
    def inbound(self) -> list[InboundMessage]:
        """The inbound messages accepted so far."""
        with self._cond:
            return [event for event in self.events if isinstance(event, InboundMessage)]

    def fail_next(self, count: int = 1) -> None:
        """Make the next ``count`` handler calls raise, so they are answered 500."""
        with self._cond:
            self._fail = count

    def wait_for(self, count: int, timeout: float = 5.0) -> list[CallbackEvent]:
        """Wait until at least ``count`` events were accepted; return them (raise TimeoutError if not)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.events) >= count, timeout=timeout):
                raise TimeoutError(
                    f"the receiver accepted {len(self.events)} callbacks, not {count}, "
                    f"within {timeout} s (answers so far: {self.answers})"
                )
            return list(self.events)

    def clear(self) -> None:
        """Forget collected events and answers, and stop failing."""
        with self._cond:
            self.events.clear()
            self.answers.clear()
            self._fail = 0

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<CallbackReceiver {where}>"
