"""Fixtures that run each scenario against SoapSmsc and AsyncSoapSmsc (see :mod:`tests.helpers.clients`)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap.pytest_plugin import smsc_emulator, smsc_emulator_server
from tests.helpers.clients import Blocking, MakeClient
from tests.helpers.fakes import FakeSleep

__all__ = ["fake_sleep", "kind", "make_client", "smsc_emulator", "smsc_emulator_server"]


def _awaitable(sleep: Callable[[float], None]) -> Callable[[float], Awaitable[None]]:
    """The async client awaits its sleep: give it a coroutine function around a plain fake sleep."""

    async def asleep(seconds: float) -> None:
        sleep(seconds)

    return asleep


@pytest.fixture
def fake_sleep() -> FakeSleep:
    """A sleep that returns at once, records each delay and advances its own clock (``.clock``)."""
    return FakeSleep()


@pytest.fixture(params=["sync", "async", "async-httpx"])
def kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which client the scenario runs against: "sync" or "async"; the async client runs on both
    paths of its transport (its own asyncio connections, and httpx as for proxied endpoints)."""
    if request.param == "async-httpx":
        from smsc_soap._http.async_transport import AsyncTransport

        monkeypatch.setattr(AsyncTransport, "use_sockets", False)
        return "async"
    return str(request.param)


@pytest.fixture
def make_client(kind: str, fake_sleep: FakeSleep) -> Iterator[MakeClient]:
    """Build a SoapSmsc, or a Blocking-wrapped AsyncSoapSmsc, with SoapSmsc's arguments; closed after.

    Retry back-offs and the reconcile delay go to ``fake_sleep`` (which records them) unless the
    test passes its own ``sleep``; the clock stays real, as the timeouts under test are real.
    """
    made: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        client: Any
        kwargs.setdefault("sleep", fake_sleep)
        if kind == "sync":
            client = SoapSmsc(*args, **kwargs)
        else:
            sleep = kwargs.get("sleep")
            if sleep is not None and not inspect.iscoroutinefunction(sleep):
                kwargs["sleep"] = _awaitable(sleep)
            client = Blocking(AsyncSoapSmsc(*args, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, Blocking):
            client.dispose()
        else:
            client.close()
