"""The status budget counts per message: (id, phone), across get_status/get_status2 and all=0/1/2.

The service answers error 9 to a sixth status request of one message within a minute (S:244), whatever
the variant asked; the client refuses that request itself (RateLimitedError, NOT_SENT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from smsc_soap import Delivery, RateLimitedError, SoapSmsc
from smsc_soap.emulator import TEST_APIKEY, TEST_LOGIN, TEST_PASSWORD, EmulatorServer

PHONE = "79991234567"


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def _statuses(server: EmulatorServer) -> list[tuple[str | None, int | None]]:
    return [(r.operation, r.error) for r in server.requests if r.operation in STATUS_OPERATIONS]


STATUS_OPERATIONS = ("get_status", "get_status2")

#: Five different ways to ask about the same message (and the same number, spelled differently).
VARIANTS: list[Callable[[SoapSmsc, str], Any]] = [
    lambda c, i: c.get_status(i, PHONE),
    lambda c, i: c.get_status2(i, PHONE, all=1),
    lambda c, i: c.get_status(i, "+" + PHONE, all=2),
    lambda c, i: c.get_status2(i, "+7 (999) 123-45-67"),
    lambda c, i: c.get_status(i, PHONE, all=1),
]


@pytest.mark.parametrize("sixth", range(len(VARIANTS)))
def test_sixth_status_of_a_message_is_refused_locally_whatever_the_variant(
    smsc_emulator: EmulatorServer, sixth: int
) -> None:
    clock = Clock()
    with SoapSmsc(
        TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, mirrors=[], clock=clock
    ) as client:
        sent = client.send_sms(PHONE, "poll me")
        for ask in VARIANTS:
            ask(client, sent.id)
        with pytest.raises(RateLimitedError) as info:
            VARIANTS[sixth](client, sent.id)
        assert info.value.delivery is Delivery.NOT_SENT
        assert 0 < info.value.retry_after <= 60
        # Another message, or the same id to another number, has its own budget.
        other = client.send_sms("79991234568", "other")
        client.get_status(other.id, "79991234568")
        clock.now += 60.5
        smsc_emulator.advance(61)
        client.get_status2(sent.id, PHONE, all=2)  # the window has moved on
    statuses = _statuses(smsc_emulator)
    assert len(statuses) == 7 and all(error is None for _, error in statuses)


def test_api_key_status_goes_as_status2_and_shares_the_budget(
    smsc_emulator: EmulatorServer,
) -> None:
    """An API-key get_status travels as get_status2; both count against the one message budget."""
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url, mirrors=[]) as client:
        sent = client.send_sms(PHONE, "keyed poll")
        for n in range(5):
            (client.get_status if n % 2 else client.get_status2)(sent.id, PHONE, all=n % 3)
        with pytest.raises(RateLimitedError):
            client.get_status(sent.id, PHONE)
    assert _statuses(smsc_emulator) == [("get_status2", None)] * 5
