"""Groups A and B of the catalogue: every hostile reply gives a typed error, bounded, with no leak."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterator

import pytest

import smsc_soap as s
from smsc_soap import SoapSmsc
from tests.helpers.fakes import FakeSleep, wait_until
from tests.helpers.raw_server import RawServer, respond, send
from tests.helpers.secrets import SENTINEL_PSW
from tests.reliability.leaks import find, run
from tests.reliability.scenarios import SCENARIOS, Scenario

# Every case runs on both paths of the sync transport (sockets, urllib3).
pytestmark = pytest.mark.usefixtures("sync_path")

CASES = [
    pytest.param(scenario, op, id=f"{scenario.id}-{op}")
    for scenario in SCENARIOS
    for op in scenario.ops
]


@pytest.fixture
def hit_server() -> Iterator[RawServer]:
    """A server that no reply may make the client contact (XXE, DTD, XInclude, redirects)."""
    with RawServer(respond(b"")) as server:
        yield server


def _call(client: SoapSmsc, op: str) -> Callable[[], object]:
    return (lambda: send(client)) if op == "send_sms" else client.get_balance


@pytest.mark.parametrize(("scenario", "op"), CASES)
def test_hostile_reply(
    scenario: Scenario,
    op: str,
    hit_server: RawServer,
    make_client: Callable[..., SoapSmsc],
    sleeper: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Typed error with the right delivery/retry flags, exact request count, in time, no sentinel anywhere."""
    caplog.set_level(logging.DEBUG)
    hit_url = f"http://127.0.0.1:{hit_server.port}"
    with RawServer(*scenario.build(op, hit_url)) as server:
        client = make_client(server.url, **scenario.client)
        started = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, error = run(_call(client, op))
        elapsed = time.monotonic() - started
        expected = 1 if op == "send_sms" else scenario.read_hits
        # The handler thread records a request before it answers; on a loaded machine it may not
        # have run yet when a timed-out call returns.
        wait_until(lambda: server.connections >= expected, timeout=10)
        hits = server.connections

    # Bounded by the call's deadline; the margin is for a loaded machine, far below what a hostile
    # server would take without one (drips run for 30 s).
    assert elapsed <= {"timeout": 5, **scenario.client}["timeout"] + 10
    assert hit_server.connections == 0, "the reply made the client fetch something"
    assert not find(
        SENTINEL_PSW, error=error, records=caplog.records, caught=caught, objects=[client]
    )
    if scenario.error is None:
        assert error is None and result is not None
        return
    assert isinstance(error, s.SmscError), repr(error)
    assert len(str(error)) <= 1200, "error messages stay bounded"
    if op == "send_sms":
        assert hits == 1, "a send that may have arrived is never repeated"
        if isinstance(error, s.SendOutcomeUnknownError):
            assert isinstance(error.reason, scenario.error), repr(error.reason)
            assert error.message_id == "101" and error.phones
            assert error.delivery is s.Delivery.UNKNOWN and not error.retry_safe
        else:
            assert isinstance(error, scenario.error), repr(error)
            assert error.delivery is s.Delivery.REJECTED and not error.retry_safe
    else:
        assert isinstance(error, scenario.error), repr(error)
        assert hits == scenario.read_hits
        assert error.retry_safe is (scenario.read_hits > 1)
        assert error.delivery is not s.Delivery.ACCEPTED
        assert len(sleeper.delays) == scenario.read_hits - 1
        if scenario.id.startswith("A28"):
            assert sleeper.delays == [2.0, 2.0], "Retry-After is honoured"
    if hits > 1:
        assert len(set(server.bodies)) == 1, "every retry is byte-identical"
