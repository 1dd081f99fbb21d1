"""Both clients against both reply contracts of the emulator: the published WSDL's, and the richer one.

With ``documented_fields=True`` the emulator writes what the SOAP page documents beyond the published
WSDL (``sms_cnt`` in a status reply, mcc/mnc/cost/error per number with ``op=1``, S:140): children our
cached WSDL does not declare. The client reads both alike; only the typed extras differ.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer
from tests.helpers.clients import MakeClient

PHONE = "79991234567"
REFUSED = "70000000022"  # the emulator refuses it at once: status 22
BOTH = pytest.mark.parametrize(
    "smsc_emulator_options", [{}, {"documented_fields": True}], ids=["published", "documented"]
)


@pytest.fixture
def client(smsc_emulator: EmulatorServer, make_client: MakeClient) -> Any:
    """A client of the parametrised kind logged in as the emulator's test account."""
    return make_client(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, read_timeout=5)


@BOTH
def test_op_1_lists_every_number(client: Any, smsc_emulator: EmulatorServer) -> None:
    """op=1 gives an entry per number; its network, cost and error only where the WSDL carries them."""
    rich = smsc_emulator.documented_fields
    sent = client.send_sms2([PHONE, REFUSED], "hi", id="op-1", query={"op": 1, "cost": 3})
    assert (sent.id, sent.cnt, sent.cost) == ("op-1", 1, Decimal("1.95"))
    accepted, refused = sent.errors
    assert (accepted.phone, accepted.status) == (PHONE, s.MessageStatus.TRANSFERRED)
    assert (refused.phone, refused.status) == (REFUSED, s.MessageStatus.WRONG_NUMBER)
    if rich:
        assert (accepted.mcc, accepted.mnc, accepted.cost, accepted.error) == (
            "250",
            "99",
            Decimal("1.95"),
            s.DeliveryError.NO_ERROR,
        )
        assert (refused.cost, refused.error) == (Decimal("0.00"), s.DeliveryError(249))
    else:
        assert (accepted.mcc, accepted.mnc, accepted.cost, accepted.error) == (None,) * 4
    assert accepted.extra == {} and refused.extra == {}
    assert [m.id for m in smsc_emulator.messages] == ["op-1"]


@BOTH
def test_err_1_lists_the_refused_numbers(client: Any, smsc_emulator: EmulatorServer) -> None:
    """err=1 lists only the refused numbers, with phone and status, in either contract."""
    sent = client.send_sms2([PHONE, REFUSED], "hi", id="err-1", query={"err": 1})
    assert [(e.phone, e.status) for e in sent.errors] == [(REFUSED, s.MessageStatus.WRONG_NUMBER)]


@BOTH
@pytest.mark.parametrize("all_", [0, 1, 2])
def test_status_in_both_contracts(client: Any, smsc_emulator: EmulatorServer, all_: int) -> None:
    """A status reply reads the same; sms_cnt comes typed (and in extra) where the service sends it."""
    client.send_sms2(PHONE, "hello", id="st-1")
    smsc_emulator.advance(3600)
    status = client.get_status("st-1", PHONE, all=all_)
    assert status.status is s.MessageStatus.DELIVERED
    rich = smsc_emulator.documented_fields and all_ >= 1
    assert status.sms_cnt == (1 if rich else None)
    assert status.extra == ({"sms_cnt": "1"} if rich else {})
    if all_ >= 1:
        assert status.message == "hello"


@BOTH
def test_cost_and_balance_in_both_contracts(client: Any, smsc_emulator: EmulatorServer) -> None:
    """Cost and balance replies carry nothing extra in either contract."""
    cost = client.get_sms_cost2(PHONE, "x" * 200, query={"translit": 1})
    assert (cost.cnt, cost.extra) == (2, {})
    balance = client.get_balance()
    assert balance.balance == Decimal("1000.00") and balance.extra == {}
