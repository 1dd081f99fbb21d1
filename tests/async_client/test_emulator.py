"""The same scenarios against the emulator over real HTTP, for both clients."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer, FaultPlan
from tests.helpers.clients import MakeClient
from tests.helpers.fakes import FakeSleep

PHONE = "79991234567"


@pytest.fixture
def client(smsc_emulator: EmulatorServer, make_client: MakeClient) -> Any:
    """A client of the parametrised kind logged in as the emulator's test account."""
    return make_client(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, read_timeout=5)


def test_send_then_status_and_balance(client: Any, smsc_emulator: EmulatorServer) -> None:
    """A send is charged, its status moves on with the clock, and the balance follows."""
    sent = client.send_sms2(PHONE, "hello", id="m-1", query={"cost": 3})
    assert (sent.id, sent.cnt, sent.cost) == ("m-1", 1, Decimal("1.95"))
    assert client.get_balance().balance == Decimal("1000.00") - Decimal("1.95")
    smsc_emulator.advance(3600)
    status = client.get_status("m-1", PHONE)
    assert status.status is s.MessageStatus.DELIVERED
    assert [m.id for m in smsc_emulator.messages] == ["m-1"]


def test_cost_does_not_send(client: Any, smsc_emulator: EmulatorServer) -> None:
    """get_sms_cost answers a price and sends nothing."""
    assert client.get_sms_cost(PHONE, "x" * 200).cnt == 2
    assert smsc_emulator.messages == []


def test_duplicate_send_is_refused(client: Any) -> None:
    """The same send within a minute is DuplicateSendError (error 9)."""
    client.send_sms(PHONE, "same text", id="d-1")
    with pytest.raises(s.DuplicateSendError):
        client.send_sms(PHONE, "same text", id="d-1")


def test_wrong_password(smsc_emulator: EmulatorServer, make_client: MakeClient) -> None:
    """A wrong password is AuthenticationError, and the password is nowhere in the error."""
    client = make_client(TEST_LOGIN, "wrong-Secret-1", endpoint=smsc_emulator.url)
    with pytest.raises(s.AuthenticationError) as info:
        client.get_balance()
    assert "wrong-Secret-1" not in str(info.value) + repr(info.value)


def test_dropped_connection_after_processing_is_unknown(
    client: Any, smsc_emulator: EmulatorServer
) -> None:
    """A connection dropped after the send was stored: outcome unknown, and the message exists."""
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send_sms"]))
    with pytest.raises(s.SendOutcomeUnknownError) as info:
        client.send_sms(PHONE, "hi", id="lost-1")
    assert info.value.message_id == "lost-1"
    assert [m.id for m in smsc_emulator.messages] == ["lost-1"]


def test_truncated_reply(client: Any, smsc_emulator: EmulatorServer) -> None:
    """Half a reply to a read is an SmscProtocolError."""
    smsc_emulator.inject(FaultPlan.truncated_xml(operations=["get_balance"]))
    with pytest.raises(s.SmscProtocolError):
        client.get_balance()


def test_injected_latency_beyond_read_timeout(
    smsc_emulator: EmulatorServer, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    """Latency beyond the read timeout on every attempt is SmscReadTimeoutError for a read.

    The latency (a minute) is far beyond the timeout, so the timeout holds on a loaded machine and
    can be short; the next reset drops the waiting requests. Back-offs go to the fake sleep.
    """
    smsc_emulator.inject(FaultPlan.latency(60_000, times=None, operations=["get_balance"]))
    client = make_client(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, read_timeout=0.1)
    with pytest.raises(s.SmscReadTimeoutError):
        client.get_balance()
    assert len(smsc_emulator.requests) == 3 and len(fake_sleep.delays) == 2


def test_service_http_error(
    client: Any, smsc_emulator: EmulatorServer, fake_sleep: FakeSleep
) -> None:
    """A lasting 503 is SmscHttpError with its status and retry_safe on a read, after retries."""
    smsc_emulator.inject(FaultPlan.http_error(503, times=None, operations=["get_balance"]))
    with pytest.raises(s.SmscHttpError) as info:
        client.get_balance()
    assert info.value.http_status == 503 and info.value.retry_safe
    assert len(smsc_emulator.requests) == 3 and len(fake_sleep.delays) == 2


def test_transient_503_is_retried_for_a_read(client: Any, smsc_emulator: EmulatorServer) -> None:
    """One 503, then success: a read is retried by the shared policy and succeeds."""
    smsc_emulator.inject(FaultPlan.http_error(503, operations=["get_balance"]))
    assert client.get_balance().balance == Decimal("1000.00")
    assert len(smsc_emulator.requests) == 2


def test_reconcile_finds_a_send_whose_reply_was_lost(
    smsc_emulator: EmulatorServer, make_client: MakeClient, fake_sleep: FakeSleep
) -> None:
    """With reconcile=True a dropped reply is settled by get_status: SendConfirmedError, no resend."""
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send_sms"]))
    client = make_client(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, reconcile=True)
    with pytest.raises(s.SmscError) as info:
        client.send_sms(PHONE, "hi", id="rc-1")
    assert type(info.value).__name__ == "SendConfirmedError"
    assert [m.id for m in smsc_emulator.messages] == ["rc-1"]
    assert fake_sleep.delays == [2.0], "the status is asked after the reconcile delay"
    assert [r.operation for r in smsc_emulator.requests] == ["send_sms", "get_status"]
