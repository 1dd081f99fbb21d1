"""Hostile fixtures on 127.0.0.1: a fake clock and sleep, and a client factory.

The raw server and its behaviours are in :mod:`tests.helpers.raw_server`, the fakes in
:mod:`tests.helpers.fakes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smsc_soap import SoapSmsc
from tests.helpers.fakes import FakeClock, FakeSleep, PinnedPolicy
from tests.helpers.secrets import SENTINEL_PSW


@pytest.fixture(params=["sockets", "urllib3"])
def sync_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on each path of the sync transport: its own sockets (the default for direct
    endpoints) and urllib3 (what proxied endpoints use)."""
    from smsc_soap._http.sync_transport import SyncTransport

    monkeypatch.setattr(SyncTransport, "use_sockets", request.param == "sockets")
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock."""
    return FakeClock()


@pytest.fixture
def sleeper(clock: FakeClock) -> FakeSleep:
    """A fake sleep that advances ``clock``."""
    return FakeSleep(clock)


@pytest.fixture
def make_client(clock: FakeClock, sleeper: FakeSleep) -> Iterator[Callable[..., SoapSmsc]]:
    """Build clients with the sentinel password, short timeouts and the fake clock and sleep."""
    made: list[SoapSmsc] = []

    def make(endpoint: str, **kwargs: Any) -> SoapSmsc:
        options: dict[str, Any] = {
            "timeout": 5,
            "connect_timeout": 1,
            "read_timeout": 2,
            "mirrors": [],
            "sleep": sleeper,
            "clock": clock,
            "retry": PinnedPolicy(),
        }
        options.update(kwargs)
        client = SoapSmsc("alex", SENTINEL_PSW, endpoint=endpoint, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
