"""A second, independent SOAP stack (suds-community) reads the emulator's WSDL and calls every operation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from suds.client import Client

from smsc_soap.emulator import (
    TEST_LOGIN,
    TEST_PASSWORD,
    TEST_SENDER,
    Emulator,
    EmulatorServer,
    ManualClock,
    default_account,
)

CREDS = {"login": TEST_LOGIN, "psw": TEST_PASSWORD}
PHONE = "79991234567"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """An emulator of its own on a manual clock."""
    with EmulatorServer(Emulator([default_account()], clock=ManualClock())) as server:
        yield server
        server.check()


@pytest.fixture
def suds(server: EmulatorServer) -> Any:
    """A suds client built from the WSDL the emulator serves (no cache, nothing outside loopback)."""
    return Client(server.wsdl_url, cache=None)


def test_suds_sees_the_seven_operations(suds: Any) -> None:
    """The served WSDL declares the seven operations for suds."""
    methods = {method for method in suds.wsdl.services[0].ports[0].methods}
    assert methods == {
        "send_sms",
        "send_sms2",
        "get_sms_cost",
        "get_sms_cost2",
        "get_status",
        "get_status2",
        "get_balance",
    }


def test_suds_calls_all_seven_operations(suds: Any, server: EmulatorServer) -> None:
    """suds sends, prices, polls and reads the balance successfully through every operation."""
    sent = suds.service.send_sms(phones=PHONE, mes="Hello", id="1", sender=TEST_SENDER, **CREDS)
    assert (sent.id, sent.cnt) == ("1", "1")  # send_sms answers as cost=0: no cost, no balance
    assert getattr(sent, "cost", None) is None and getattr(sent, "balance", None) is None
    sent2 = suds.service.send_sms2(
        phones=f"{PHONE},70000000022", mes="Привет", id="2", query="cost=3&err=1", **CREDS
    )
    assert (sent2.id, sent2.cnt, sent2.balance) == ("2", "1", "996.10")
    assert [(e.phone, e.status) for e in sent2.errors] == [("70000000022", "22")]
    cost = suds.service.get_sms_cost(phones=PHONE, mes="x" * 161, **CREDS)
    assert (cost.cost, cost.cnt) == ("3.90", "2")
    cost2 = suds.service.get_sms_cost2(phones=PHONE, mes="x" * 400, query="maxsms=1", **CREDS)
    assert (cost2.cost, cost2.cnt) == ("1.95", "1")
    server.advance(6)
    status = suds.service.get_status(phone=PHONE, id="1", all="1", **CREDS)
    assert (status.status, status.err, status.message, status.sender_id) == (
        "1",
        "0",
        "Hello",
        TEST_SENDER,
    )
    status2 = suds.service.get_status2(phone=PHONE, id="2", all="2", query="", **CREDS)
    assert (status2.status, status2.operator) == ("1", "Emulator Mobile")
    balance = suds.service.get_balance(**CREDS)
    assert Decimal(balance.balance) == Decimal("996.10")
    assert [r.operation for r in server.requests if r.operation != "wsdl"] == [
        "send_sms",
        "send_sms2",
        "get_sms_cost",
        "get_sms_cost2",
        "get_status",
        "get_status2",
        "get_balance",
    ]


def test_suds_sees_error_codes_in_band(suds: Any) -> None:
    """An error comes back in the result's error field, as the service does it."""
    reply = suds.service.get_balance(login=TEST_LOGIN, psw="wrong")
    assert (reply.error, getattr(reply, "balance", None)) == ("2", None)
