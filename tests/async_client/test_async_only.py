"""What only the async client has: coroutine methods, one event loop, concurrency and cancellation."""

from __future__ import annotations

import asyncio
import copy
import inspect
import pickle

import pytest

import smsc_soap as s
from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer, FaultPlan

# Every case runs on both paths of the async transport (asyncio connections, httpx).
pytestmark = pytest.mark.usefixtures("async_path")

OPERATIONS = [
    "send_sms",
    "send_sms2",
    "get_sms_cost",
    "get_sms_cost2",
    "get_status",
    "get_status2",
    "get_balance",
]


def test_same_methods_and_signatures_as_the_sync_client() -> None:
    """Every operation is one definition shared by both clients; the async one returns a coroutine."""
    public = sorted(
        name
        for name in dir(SoapSmsc)
        if not name.startswith("_") and callable(getattr(SoapSmsc, name))
    )
    assert public == sorted([*OPERATIONS, "close", "from_env"])
    for name in OPERATIONS:
        method = getattr(AsyncSoapSmsc, name)
        assert inspect.signature(method) == inspect.signature(getattr(SoapSmsc, name)), name
        assert method.__doc__
        assert inspect.iscoroutinefunction(method), name
    assert inspect.signature(AsyncSoapSmsc.__init__) == inspect.signature(SoapSmsc.__init__)
    for name in ("endpoint", "host", "login", "max_connections"):
        assert isinstance(getattr(AsyncSoapSmsc, name), property)
    assert inspect.iscoroutinefunction(AsyncSoapSmsc.aclose)


def test_operations_return_coroutines_that_check_arguments_when_awaited(
    smsc_emulator: EmulatorServer,
) -> None:
    """Calling an operation only makes a coroutine; bad arguments raise when it is awaited."""

    async def main() -> None:
        async with AsyncSoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url) as client:
            pending = client.send_sms("not a phone", "hi")
            assert inspect.iscoroutine(pending)
            with pytest.raises(s.SmscValidationError):
                await pending
            balance = client.get_balance()
            assert inspect.iscoroutine(balance)
            assert (await balance).balance is not None

    asyncio.run(main())
    assert [r.operation for r in smsc_emulator.requests] == ["get_balance"]


def test_construction_needs_no_loop_and_validates_like_the_sync_client() -> None:
    """The constructor runs outside any event loop and refuses the same bad arguments."""
    client = AsyncSoapSmsc("alex", "123", endpoint="http://127.0.0.1:9/sys/soap.php")
    assert repr(client) == "AsyncSoapSmsc(login='alex', endpoint='http://127.0.0.1:9/sys/soap.php')"
    asyncio.run(client.aclose())
    with pytest.raises(s.SmscConfigurationError):
        AsyncSoapSmsc("alex", "123", apikey="k")
    with pytest.raises(s.SmscConfigurationError):
        AsyncSoapSmsc("alex", "123", max_connections=15)
    with pytest.raises(s.SmscConfigurationError):
        AsyncSoapSmsc("alex", "123", timeout=0)


def test_cannot_be_copied_or_pickled() -> None:
    """A client holding credentials and sockets refuses copy and pickle."""
    client = AsyncSoapSmsc(apikey="KEY-secret-1")
    assert "KEY-secret-1" not in repr(client)
    with pytest.raises(TypeError):
        copy.copy(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_many_tasks_share_the_pool_within_the_limit(smsc_emulator: EmulatorServer) -> None:
    """40 concurrent calls through 14 connections all succeed: the emulator never sees 15 in flight."""
    smsc_emulator.inject(FaultPlan.latency(20, times=None))

    async def main() -> list[s.CostResult]:
        async with AsyncSoapSmsc(
            TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, max_connections=14
        ) as client:
            return await asyncio.gather(
                *(client.get_sms_cost(f"7999000{i:04d}", f"text {i}") for i in range(40))
            )

    results = asyncio.run(main())
    assert [r.cnt for r in results] == [1] * 40
    assert len(smsc_emulator.requests) == 40


def test_client_is_bound_to_the_loop_of_its_first_call(smsc_emulator: EmulatorServer) -> None:
    """Using the client from a second event loop is refused with a clear error."""
    client = AsyncSoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url)
    with asyncio.Runner() as first:
        assert first.run(client.get_balance()).balance == 1000
        with pytest.raises(RuntimeError, match="event loop"):
            asyncio.run(client.get_balance())
        first.run(client.aclose())
        first.run(client.aclose())  # closing twice is harmless
    with pytest.raises(s.ClientClosedError):
        asyncio.run(client.get_balance())


def test_cancelled_call_leaves_the_client_usable(smsc_emulator: EmulatorServer) -> None:
    """A call cancelled in flight raises CancelledError (not an SmscError); the next call works."""
    smsc_emulator.inject(FaultPlan.hold(operations=["get_balance"]))

    async def main() -> None:
        async with AsyncSoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url) as client:
            task = asyncio.create_task(client.get_balance())
            assert await asyncio.to_thread(smsc_emulator.wait_held, 1)  # the request is in flight
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await client.get_sms_cost("79991234567", "hi")).cnt == 1

    asyncio.run(main())


def test_deadline_via_asyncio_timeout_is_unknown_for_a_send(smsc_emulator: EmulatorServer) -> None:
    """The total deadline passing mid-call makes a send's outcome unknown, with the id to check.

    The emulator holds the send (until the next reset), so only the deadline can end the call.
    """
    smsc_emulator.inject(FaultPlan.hold(operations=["send_sms"]))

    async def main() -> None:
        async with AsyncSoapSmsc(
            TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, timeout=0.5, read_timeout=5
        ) as client:
            with pytest.raises(s.SendOutcomeUnknownError) as info:
                await client.send_sms("79991234567", "hi", id="late-1")
            assert isinstance(info.value.reason, s.SmscDeadlineExceededError)
            assert info.value.message_id == "late-1"

    asyncio.run(main())
