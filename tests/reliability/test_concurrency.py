"""Group D: one client shared by many threads, its budgets and breaker, and os.fork()."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap import SoapSmsc
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer
from tests.helpers.fakes import FakeClock
from tests.helpers.raw_server import PHONE, RawServer, ok_reply, respond
from tests.wire import php_reply


def _emulator_client(server: EmulatorServer, **kwargs: Any) -> SoapSmsc:
    return SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url, mirrors=[], **kwargs)


def test_shared_client_under_load(
    smsc_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """100 threads, 500 sends with distinct ids (the test account pays for 512): every reply names its own id, no pool-full warning.

    Each send goes to its own number: 500 messages to one number at once would trip the service's
    flood rule (more than 50 messages less than 2 minutes apart).
    """
    caplog.set_level(logging.WARNING)
    with _emulator_client(smsc_emulator) as client:

        def one(n: int) -> str:
            return client.send_sms(f"7999{n:07d}", f"load {n}", id=f"load-{n}").id

        with ThreadPoolExecutor(100) as pool:
            ids = list(pool.map(one, range(500)))
    assert ids == [f"load-{n}" for n in range(500)]
    assert len(smsc_emulator.messages) == 500
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_parallel_identical_sends_leave_once(smsc_emulator: EmulatorServer) -> None:
    """100 threads send the same message (same id and body): one message; the rest are duplicates."""
    barrier = threading.Barrier(100)
    with _emulator_client(smsc_emulator) as client:

        def one(_: int) -> object:
            barrier.wait()
            try:
                return client.send_sms(PHONE, "same", id="same-1")
            except s.DuplicateSendError as exc:
                return exc

        with ThreadPoolExecutor(100) as pool:
            outcomes = list(pool.map(one, range(100)))
    successes = [o for o in outcomes if isinstance(o, s.SendResult)]
    assert len(successes) == 1
    assert all(isinstance(o, s.DuplicateSendError | s.SendResult) for o in outcomes)
    assert len(smsc_emulator.messages) == 1


def test_lazy_initialisation_race(smsc_emulator: EmulatorServer) -> None:
    """50 threads make the very first call of a fresh client at once: all succeed, one Protocol."""
    barrier = threading.Barrier(50)
    with _emulator_client(smsc_emulator) as client:

        def one(n: int) -> object:
            barrier.wait()
            return client.get_sms_cost(PHONE, f"race {n}")

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
        assert all(isinstance(r, s.CostResult) for r in results)
        assert client._protocol_obj is not None


def test_error_4_opens_the_breaker_for_every_thread() -> None:
    """After an error 4 in one thread, calls in all threads fail fast locally until the cool-down."""
    clock = FakeClock()
    with RawServer(
        respond(php_reply("get_sms_cost", "<error>4</error>")),
        respond(ok_reply("get_sms_cost")),
    ) as server:
        client = SoapSmsc(
            "alex", "pw", endpoint=server.url, mirrors=[], clock=clock, breaker_cooldown=600
        )
        with pytest.raises(s.IpBlockedError):
            client.get_sms_cost(PHONE, "first")

        def one(n: int) -> object:
            try:
                return client.get_sms_cost(PHONE, f"blocked {n}")
            except s.SmscError as exc:
                return exc

        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(one, range(20)))
        assert all(isinstance(o, s.CircuitOpenError) for o in outcomes)
        assert all(o.delivery is s.Delivery.NOT_SENT for o in outcomes)  # type: ignore[union-attr]
        assert server.connections == 1
        clock.now += 600
        assert client.get_sms_cost(PHONE, "after").cost
        assert server.connections == 2
        client.close()


def test_retry_storm_is_bounded_by_the_budget() -> None:
    """100 threads hit 503: total requests stay within N x (1 + budgeted retries), not N x 3."""
    with RawServer(respond(b"", 503)) as server:
        client = SoapSmsc(
            "alex", "pw", endpoint=server.url, mirrors=[], sleep=lambda _: None, max_connections=14
        )

        def one(n: int) -> object:
            try:
                return client.get_sms_cost(PHONE, f"storm {n}")
            except s.SmscError as exc:
                return exc

        with ThreadPoolExecutor(100) as pool:
            outcomes = list(pool.map(one, range(100)))
        client.close()
    assert all(isinstance(o, s.SmscHttpError) for o in outcomes)
    assert 100 <= server.connections <= 100 + 10 + 20


def test_balance_rate_limit_under_concurrency(smsc_emulator: EmulatorServer) -> None:
    """20 threads ask the balance at once: at most 10 requests reach the service, the rest are refused locally."""
    with _emulator_client(smsc_emulator) as client:

        def one(_: int) -> object:
            try:
                return client.get_balance()
            except s.SmscError as exc:
                return exc

        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(one, range(20)))
    balances = [r for r in smsc_emulator.requests if r.operation == "get_balance"]
    assert len(balances) <= 10
    refused = [o for o in outcomes if isinstance(o, s.RateLimitedError)]
    assert len(refused) == 10 and all(o.retry_after > 0 for o in refused)
    assert not any(isinstance(o, s.TooManyRequestsError) for o in outcomes)


def test_close_while_calls_are_in_flight() -> None:
    """Closing a client with calls in flight: they finish or fail typed, nothing hangs, later calls refused."""
    from tests.helpers.raw_server import drip

    slow = drip(b"", b"", 0.3, limit=0.3)
    answer = respond(ok_reply("get_sms_cost"))

    def slow_answer(conn: Any) -> None:
        slow(conn)
        answer(conn)

    with RawServer(slow_answer) as server:
        client = SoapSmsc("alex", "pw", endpoint=server.url, mirrors=[], timeout=3)
        with ThreadPoolExecutor(5) as pool:
            futures = [pool.submit(client.get_sms_cost, PHONE, f"c{n}") for n in range(5)]
            threading.Event().wait(0.1)
            client.close()
            outcomes = []
            for future in futures:
                try:
                    outcomes.append(future.result(timeout=5))
                except s.SmscError as exc:
                    outcomes.append(exc)
    assert all(isinstance(o, s.CostResult | s.SmscError) for o in outcomes)
    with pytest.raises(s.ClientClosedError):
        client.get_balance()


def test_after_fork_the_child_uses_a_fresh_pool(smsc_emulator: EmulatorServer) -> None:
    """Call, fork, call in parent and child at once: both get their own replies."""
    with _emulator_client(smsc_emulator) as client:
        assert client.send_sms(PHONE, "before fork", id="fork-0").id == "fork-0"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # child: report through the exit code, never return into pytest
            code = 1
            try:
                ids = [client.send_sms(PHONE, f"child {n}", id=f"child-{n}").id for n in range(5)]
                code = 0 if ids == [f"child-{n}" for n in range(5)] else 2
            finally:
                os._exit(code)
        ids = [client.send_sms(PHONE, f"parent {n}", id=f"parent-{n}").id for n in range(5)]
        _, status = os.waitpid(pid, 0)
    assert ids == [f"parent-{n}" for n in range(5)]
    assert os.waitstatus_to_exitcode(status) == 0


def test_budget_and_transport_are_shared_not_copied(make_client: Callable[..., SoapSmsc]) -> None:
    """The concurrency semaphore is sized by max_connections."""
    client = make_client("http://127.0.0.1:9/x", max_connections=3)
    assert client._budget.max_connections == 3
    assert all(client._budget.acquire_slot(0) for _ in range(3))
    assert not client._budget.acquire_slot(0)
