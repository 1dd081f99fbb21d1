"""The shared call core of both clients: one total deadline, close() during a retry, one log line per call."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

import smsc_soap as s
from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer
from tests.helpers.fakes import PinnedPolicy, wait_until
from tests.helpers.raw_server import PHONE, RawServer, free_port, hang, reset, respond

# Every case runs on both paths of the sync transport (sockets, urllib3).
pytestmark = pytest.mark.usefixtures("sync_path")

SENTINEL = "Sentinel-Psw-4821"


class OffsetClock:
    """Real monotonic time plus whatever the fake sleep skipped: real waits count, sleeps cost nothing."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.delays: list[float] = []

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.offset += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def run_call(
    kind: str,
    url: str,
    call: Callable[[Any], Any],
    *,
    on_sleep: Callable[[Any], Any] | None = None,
    **settings: Any,
) -> tuple[Any, OffsetClock]:
    """Run ``call(client)`` on a fresh client of ``kind``; return its result or error, and the clock."""
    clock = OffsetClock()
    options: dict[str, Any] = {"endpoint": url, "mirrors": [], "clock": clock, **settings}
    if kind == "sync":
        holder: list[SoapSmsc] = []

        def sleep(seconds: float) -> None:
            clock.sleep(seconds)
            if on_sleep is not None:
                on_sleep(holder[0])

        client = SoapSmsc(TEST_LOGIN, SENTINEL, sleep=sleep, **options)
        holder.append(client)
        try:
            return call(client), clock
        except s.SmscError as exc:
            return exc, clock
        finally:
            client.close()

    async def main() -> Any:
        holder: list[AsyncSoapSmsc] = []

        async def asleep(seconds: float) -> None:
            await clock.asleep(seconds)
            if on_sleep is not None:
                result = on_sleep(holder[0])
                if isinstance(result, Awaitable):
                    await result

        client = AsyncSoapSmsc(TEST_LOGIN, SENTINEL, sleep=asleep, **options)
        holder.append(client)
        try:
            return await call(client)
        except s.SmscError as exc:
            return exc
        finally:
            await client.aclose()

    return asyncio.run(main()), clock


def close_client(client: Any) -> Any:
    return client.close() if isinstance(client, SoapSmsc) else client.aclose()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority for the HTTPS runs."""
    return trustme.CA()


@pytest.fixture(params=["http", "https"])
def serve(
    request: pytest.FixtureRequest, ca: trustme.CA, tmp_path: Path
) -> Iterator[Callable[..., tuple[RawServer, dict[str, Any]]]]:
    """Start a raw server over HTTP or HTTPS (users run HTTPS); return it and the options that trust it."""
    servers: list[RawServer] = []

    def start(*behaviours: Any) -> tuple[RawServer, dict[str, Any]]:
        options: dict[str, Any] = {}
        tls = None
        if request.param == "https":
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1").configure_cert(tls)
            ca_path = tmp_path / "ca.pem"
            ca.cert_pem.write_to_path(str(ca_path))
            options["ca_bundle"] = str(ca_path)
        server = RawServer(*behaviours, tls=tls)
        servers.append(server)
        return server, options

    yield start
    for server in servers:
        server.close()


# ------------------------------------------------------------------ the total deadline


def test_timeout_bounds_the_whole_call_with_reconcile(
    kind: str, serve: Callable[..., tuple[RawServer, dict[str, Any]]]
) -> None:
    """Against a silent server, reconcile cannot stretch the call past ``timeout`` (once 2.67x)."""
    silent, options = serve(hang(seconds=10))
    started = time.monotonic()
    error, clock = run_call(
        kind,
        silent.url,
        lambda c: c.send_sms(PHONE, "pay once", id="deadline-1"),
        timeout=1.0,
        read_timeout=5.0,
        reconcile=True,
        **options,
    )
    assert isinstance(error, s.SendOutcomeUnknownError)
    assert error.message_id == "deadline-1"
    # The send used the whole deadline: no reconcile pause, no status request, no resend.
    assert clock.delays == []
    wait_until(lambda: silent.bodies, timeout=10)  # its handler may lag on a loaded machine
    assert len(silent.bodies) == 1
    # A status request after the deadline would wait its 5 s read timeout; the margin below that is
    # for a loaded machine.
    assert clock() - started - clock.offset < 1.0 + 3.0


def test_reconcile_pause_and_status_share_the_deadline(
    kind: str, serve: Callable[..., tuple[RawServer, dict[str, Any]]]
) -> None:
    """A reply lost early leaves room: the pause is cut to the deadline, the status request fits in it."""
    server, options = serve(reset(), hang(seconds=10))
    error, clock = run_call(
        kind,
        server.url,
        lambda c: c.send_sms(PHONE, "pay once", id="deadline-2"),
        timeout=1.5,
        read_timeout=5.0,
        reconcile=True,
        retry=PinnedPolicy(reconcile_delay=5.0),
        **options,
    )
    assert isinstance(error, s.SendOutcomeUnknownError)
    assert error.reconciled
    assert len(clock.delays) == 1 and 0 < clock.delays[0] < 1.5
    # The pause used up the deadline: the status request is refused before it leaves.
    assert len(server.bodies) == 1


# ------------------------------------------------------------------ close() while retrying


def test_close_during_a_read_retry_opens_nothing(
    kind: str, serve: Callable[..., tuple[RawServer, dict[str, Any]]]
) -> None:
    """A 503 schedules a retry; close() during the pause ends the call with ClientClosedError."""
    server, options = serve(respond(b"", 503))
    error, clock = run_call(
        kind,
        server.url,
        lambda c: c.get_balance(),
        on_sleep=close_client,
        retry=PinnedPolicy(base_delay=0.2),
        **options,
    )
    assert isinstance(error, s.ClientClosedError)
    assert clock.delays == [0.2]
    assert len(server.bodies) == 1


def test_close_during_reconcile_keeps_the_message_id(
    kind: str, serve: Callable[..., tuple[RawServer, dict[str, Any]]]
) -> None:
    """A send that may have left, then close() during the reconcile pause: unknown, with its id."""
    server, options = serve(reset())
    error, _ = run_call(
        kind,
        server.url,
        lambda c: c.send_sms(PHONE, "pay once", id="closed-1"),
        on_sleep=close_client,
        reconcile=True,
        retry=PinnedPolicy(),
        **options,
    )
    assert isinstance(error, s.SendOutcomeUnknownError)
    assert error.message_id == "closed-1"
    assert len(server.bodies) == 1, "no status request and no resend after close()"


def test_close_during_a_pre_send_retry_is_client_closed(kind: str) -> None:
    """Nothing left (connection refused), retry pending, close(): ClientClosedError, NOT_SENT."""
    url = f"http://127.0.0.1:{free_port()}/sys/soap.php"
    error, _clock = run_call(
        kind,
        url,
        lambda c: c.send_sms(PHONE, "pay once", id="closed-2"),
        on_sleep=close_client,
        retry=PinnedPolicy(base_delay=0.1),
    )
    assert isinstance(error, s.ClientClosedError)
    assert error.delivery is s.Delivery.NOT_SENT


# ------------------------------------------------------------------ one INFO record per call


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "smsc_soap" and r.levelno == logging.INFO]


def test_one_info_record_per_call_with_structured_extra(
    kind: str, smsc_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A back office gets operation, id, parts, cost, attempts, duration and delivery; never a secret."""
    caplog.set_level(logging.INFO, logger="smsc_soap")

    def calls(client: Any) -> Any:
        if isinstance(client, SoapSmsc):
            client.send_sms2(PHONE, "hello", id="log-1", cost=3)
            with pytest.raises(s.MessageNotFoundError):
                client.get_status("missing-1", PHONE)
            return None

        async def both() -> None:
            await client.send_sms2(PHONE, "hello", id="log-1", cost=3)
            with pytest.raises(s.MessageNotFoundError):
                await client.get_status("missing-1", PHONE)

        return both()

    clock = OffsetClock()
    options = {"endpoint": smsc_emulator.url, "mirrors": [], "clock": clock}
    if kind == "sync":
        with SoapSmsc(TEST_LOGIN, TEST_PASSWORD, **options) as client:
            calls(client)
    else:

        async def main() -> None:
            async with AsyncSoapSmsc(TEST_LOGIN, TEST_PASSWORD, **options) as client:
                await calls(client)

        asyncio.run(main())
    sent, status = _records(caplog)
    assert sent.operation == "send_sms2"  # type: ignore[attr-defined]
    assert sent.message_id == "log-1"  # type: ignore[attr-defined]
    assert sent.parts == 1 and sent.cost == "1.95"  # type: ignore[attr-defined]
    assert sent.attempts == 1 and sent.delivery == "accepted"  # type: ignore[attr-defined]
    assert sent.duration >= 0  # type: ignore[attr-defined]
    assert status.operation == "get_status"  # type: ignore[attr-defined]
    assert status.error == "MessageNotFoundError" and status.delivery == "rejected"  # type: ignore[attr-defined]
    for record in caplog.records:
        assert TEST_PASSWORD not in record.getMessage()
        assert TEST_PASSWORD not in repr(vars(record))


def test_retries_are_logged_at_debug_with_their_reason(
    kind: str,
    serve: Callable[..., tuple[RawServer, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A retried read: DEBUG says why and what comes next; INFO says how many attempts it took."""
    caplog.set_level(logging.DEBUG)
    server, options = serve(respond(b"", 503))
    error, _ = run_call(
        kind,
        server.url,
        lambda c: c.get_balance(),
        retry=PinnedPolicy(max_attempts=2),
        **options,
    )
    assert isinstance(error, s.SmscHttpError)
    debug = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.DEBUG and r.name == "smsc_soap"
    ]
    assert any("get_balance failed (SmscHttpError (HTTP 503)); retry" in m for m in debug)
    (info,) = _records(caplog)
    assert info.attempts == 2 and info.error == "SmscHttpError"  # type: ignore[attr-defined]
    assert SENTINEL not in "".join(r.getMessage() + repr(vars(r)) for r in caplog.records)
