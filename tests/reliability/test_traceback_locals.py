"""No frame that an interrupted send unwinds keeps the password as a local.

A send cut short by ``task.cancel()``, an ``asyncio.wait_for`` timeout or Ctrl-C raises something that is
not an :class:`SmscError`, straight through the HTTP stack. Sentry, rich and ``pytest -l`` render every
frame's locals; requests, urllib3, http.client, httpx and httpcore keep the envelope (``<psw>...``) in
theirs. Each case renders the traceback with ``capture_locals=True`` (every frame but this file's) and
looks for the sentinel password. The server accepts the request and never answers.
"""

from __future__ import annotations

import asyncio
import http.client
import signal
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from smsc_soap import AsyncSoapSmsc, SoapSmsc
from tests.helpers.fakes import PinnedPolicy
from tests.helpers.raw_server import Conn, RawServer
from tests.helpers.secrets import SENTINEL_PSW

PHONE = "79991234567"
HERE = str(Path(__file__).resolve())


def rendered(error: BaseException, *, min_frames: int = 4) -> str:
    """The whole traceback, causes and contexts included, with every frame's locals but this file's."""
    summary = traceback.TracebackException(
        type(error), error, error.__traceback__, capture_locals=True
    )
    todo: list[traceback.TracebackException | None] = [summary]
    frames = 0
    while todo:
        item = todo.pop()
        if item is None:
            continue
        for frame in item.stack:
            frames += 1
            if frame.filename == HERE:
                frame.locals = None
        todo.extend([item.__cause__, item.__context__])
    text = "".join(summary.format())
    assert frames >= min_frames, "the traceback reaches into the library"
    return text


def assert_clean(error: BaseException, server: RawServer) -> None:
    behaviour = server.behaviours[0]
    assert isinstance(behaviour, Silent) and behaviour.received.wait(10), "the request was sent"
    assert SENTINEL_PSW.encode() in server.bodies[0]
    text = rendered(error)
    assert SENTINEL_PSW not in text, text[text.find(SENTINEL_PSW) - 400 :][:800]


class Silent:
    """A behaviour that reads the request, runs ``then`` (from the server thread) and never answers."""

    keep_alive = False

    def __init__(self, then: Callable[[], None] | None = None) -> None:
        self.then = then
        self.received = threading.Event()
        self.stop = threading.Event()

    def __call__(self, conn: Conn) -> None:
        self.received.set()
        if self.then is not None:
            self.then()
        self.stop.wait(20)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(params=["http", "https"])
def serve(
    request: pytest.FixtureRequest, ca: trustme.CA, tmp_path: Path
) -> Iterator[Callable[[Silent], tuple[RawServer, dict[str, Any]]]]:
    """Start a silent server over HTTP or HTTPS; return it and the client options that trust it."""
    started: list[tuple[RawServer, Silent]] = []

    def start(behaviour: Silent) -> tuple[RawServer, dict[str, Any]]:
        options: dict[str, Any] = {
            "timeout": 30,
            "read_timeout": 30,
            "mirrors": [],
            "retry": PinnedPolicy(),
        }
        tls = None
        if request.param == "https":
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1").configure_cert(tls)
            path = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(path))
            options["ca_bundle"] = str(path)
        server = RawServer(behaviour, tls=tls)
        started.append((server, behaviour))
        return server, options

    yield start
    for server, behaviour in started:
        behaviour.stop.set()
        server.close()


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in the main thread for the test (as in a plain script)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_main() -> None:
    main = threading.main_thread().ident
    assert main is not None
    signal.pthread_kill(main, signal.SIGINT)


def _sync_send(server: RawServer, options: dict[str, Any]) -> BaseException:
    client = SoapSmsc("alex", SENTINEL_PSW, endpoint=server.url, sleep=lambda s: None, **options)
    try:
        with client:
            client.send_sms(PHONE, "hello", id="t1")
    except BaseException as exc:  # the interruption under test
        return exc
    raise AssertionError("the send must be interrupted")


# ------------------------------------------------------------------ sync


@pytest.mark.usefixtures("sigint_raises")
def test_sync_ctrl_c_while_awaiting_the_reply(serve: Any) -> None:
    """SIGINT arrives while the client waits for the reply: KeyboardInterrupt, no password in locals."""
    server, options = serve(Silent(then=_interrupt_main))
    error = _sync_send(server, options)
    assert isinstance(error, KeyboardInterrupt)
    assert_clean(error, server)


@pytest.mark.parametrize("path", ["sockets", "urllib3"])
def test_sync_ctrl_c_while_writing(serve: Any, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Ctrl-C inside the write, where headers and body are one plain ``bytes`` local: the socket
    connection's one write, or http.client's on the urllib3 path."""
    from smsc_soap._http.connection import Connection
    from smsc_soap._http.sync_transport import SyncTransport

    calls: list[int] = []
    if path == "sockets":
        real_write = Connection._write

        def write(self: Connection, data: bytes) -> None:
            real_write(self, data)
            calls.append(len(data))
            if SENTINEL_PSW.encode() in bytes(data):
                raise KeyboardInterrupt

        monkeypatch.setattr(Connection, "_write", write)
    else:
        monkeypatch.setattr(SyncTransport, "use_sockets", False)
        real_send = http.client.HTTPConnection.send

        def send(self: http.client.HTTPConnection, data: Any) -> None:
            real_send(self, data)
            calls.append(len(data))
            if SENTINEL_PSW.encode() in bytes(data):
                raise KeyboardInterrupt

        monkeypatch.setattr(http.client.HTTPConnection, "send", send)
    server, options = serve(Silent())
    error = _sync_send(server, options)
    assert isinstance(error, KeyboardInterrupt) and calls
    assert_clean(error, server)


# ------------------------------------------------------------------ async


def _async_client(server: RawServer, options: dict[str, Any]) -> AsyncSoapSmsc:
    async def no_sleep(seconds: float) -> None:
        return None

    return AsyncSoapSmsc("alex", SENTINEL_PSW, endpoint=server.url, sleep=no_sleep, **options)


def test_async_task_cancel(serve: Any) -> None:
    """``task.cancel()`` once the server holds the request: CancelledError, no password in locals."""
    behaviour = Silent()
    server, options = serve(behaviour)

    async def scenario() -> BaseException:
        async with _async_client(server, options) as client:
            task = asyncio.create_task(client.send_sms(PHONE, "hello", id="t2"))
            assert await asyncio.to_thread(behaviour.received.wait, 10)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError as exc:
                return exc
        raise AssertionError("the send must be cancelled")

    error = asyncio.run(scenario())
    assert_clean(error, server)


def test_async_wait_for_timeout(serve: Any) -> None:
    """``asyncio.wait_for`` times the send out: TimeoutError, no password in locals or its chain."""
    server, options = serve(Silent())

    async def scenario() -> BaseException:
        async with _async_client(server, options) as client:
            try:
                await asyncio.wait_for(client.send_sms(PHONE, "hello", id="t3"), 2)
            except TimeoutError as exc:
                return exc
        raise AssertionError("the send must time out")

    error = asyncio.run(scenario())
    assert isinstance(error, TimeoutError)
    assert error.__cause__ is not None or error.__context__ is not None
    assert_clean(error, server)


@pytest.mark.usefixtures("sigint_raises")
def test_async_ctrl_c(serve: Any) -> None:
    """Ctrl-C under ``asyncio.run``: the runner cancels the send and raises KeyboardInterrupt."""
    server, options = serve(Silent(then=_interrupt_main))

    async def scenario() -> None:
        async with _async_client(server, options) as client:
            await client.send_sms(PHONE, "hello", id="t4")

    try:
        asyncio.run(scenario())
    except KeyboardInterrupt as exc:
        error: BaseException = exc
    else:
        raise AssertionError("the send must be interrupted")
    assert error.__context__ is not None, "the cancelled send is chained"
    assert_clean(error, server)


def test_rendering_finds_a_leak() -> None:
    """The check itself: a library-like frame that holds the envelope as bytes is found."""
    namespace: dict[str, Any] = {}
    code = "def holder(envelope):\n    raise KeyboardInterrupt\n"
    exec(compile(code, "<library>", "exec"), namespace)
    try:
        namespace["holder"](b"<psw>" + SENTINEL_PSW.encode() + b"</psw>")
    except KeyboardInterrupt as exc:
        error: BaseException = exc
    assert SENTINEL_PSW in rendered(error, min_frames=2)


def test_forget_locals_leaves_suspended_generators_alone() -> None:
    """A chained exception may carry a frame of a generator suspended elsewhere: it is not closed."""
    from collections.abc import Generator

    from smsc_soap._http.redact import forget_locals

    def elsewhere() -> Generator[BaseException, None, None]:
        try:
            raise ValueError("raised in a generator that then waits")
        except ValueError as exc:
            yield exc

    waiting = elsewhere()
    earlier = next(waiting)

    def below(envelope: bytes) -> None:
        raise KeyboardInterrupt from earlier

    def boundary() -> BaseException:
        try:
            below(b"<psw>" + SENTINEL_PSW.encode() + b"</psw>")
        except KeyboardInterrupt as exc:
            forget_locals(exc)
            return exc
        raise AssertionError

    error = boundary()
    assert waiting.gi_frame is not None, "the suspended generator was not closed"
    below_frame = error.__traceback__.tb_next  # type: ignore[union-attr]
    assert below_frame is not None and below_frame.tb_frame.f_locals == {}, "below was cleared"
    with pytest.raises(StopIteration):
        next(waiting)
