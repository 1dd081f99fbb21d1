"""API-key clients against both contracts the emulator serves, over real HTTP.

By default the emulator speaks the published WSDL, which declares no ``apikey`` element (a server built
from it drops the element): the key must travel inside ``query``. With ``apikey_element=True`` it
simulates a live WSDL that declares the element. Every operation that has a ``query`` (directly or
through its ``*2`` twin) must work against both; ``get_balance`` has none, so against the published
contract it gets error 2, explained, and the client then refuses further API-key balance calls locally.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

from smsc_soap import (
    AsyncSoapSmsc,
    AuthenticationError,
    Delivery,
    SmscValidationError,
    SoapSmsc,
)
from smsc_soap.emulator import TEST_APIKEY, TEST_LOGIN, EmulatorServer

PHONE = "79991234567"
BOTH = pytest.mark.parametrize(
    "smsc_emulator_options", [{}, {"apikey_element": True}], ids=["published", "element"]
)


def _calls(server: EmulatorServer) -> list[tuple[str | None, int | None]]:
    return [(r.operation, r.error) for r in server.requests if r.operation is not None]


@BOTH
def test_every_operation_with_a_query_works(
    smsc_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """send_sms, send_sms2, cost, cost2, status and status2 authenticate by the key in both modes."""
    caplog.set_level(logging.DEBUG)
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
        sent = client.send_sms(PHONE, "via key", id="k-1")
        # Routed through send_sms2 with its cost default: the reply carries cost and balance.
        assert (sent.id, sent.cnt, sent.cost, sent.balance) == (
            "k-1",
            1,
            Decimal("1.95"),
            Decimal("998.05"),
        )
        sent2 = client.send_sms2(PHONE, "via key 2", id="k-2", translit=1)
        assert sent2.balance == Decimal("996.10")
        assert client.get_sms_cost(PHONE, "hello").cost == Decimal("1.95")
        assert client.get_sms_cost2(PHONE, "hello", translit=1).cnt == 1
        assert client.get_status("k-1", PHONE).status is not None
        assert client.get_status2("k-2", PHONE, all=1).status is not None
        assert TEST_APIKEY not in repr(client)
    assert _calls(smsc_emulator) == [
        ("send_sms2", None),
        ("send_sms2", None),
        ("get_sms_cost2", None),
        ("get_sms_cost2", None),
        ("get_status2", None),
        ("get_status2", None),
    ]
    assert [m.text for m in smsc_emulator.messages] == ["via key", "via key 2"]
    assert TEST_APIKEY not in caplog.text


@BOTH
def test_async_client_routes_alike(smsc_emulator: EmulatorServer) -> None:
    """AsyncSoapSmsc routes and carries the key exactly like SoapSmsc."""

    async def run() -> tuple[Any, Any, Any]:
        async with AsyncSoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
            sent = await client.send_sms(PHONE, "async key", id="a-1")
            cost = await client.get_sms_cost(PHONE, "x")
            status = await client.get_status("a-1", PHONE)
            return sent, cost, status

    sent, cost, status = asyncio.run(run())
    assert sent.balance == Decimal("998.05") and cost.cnt == 1 and status.status is not None
    assert [op for op, _ in _calls(smsc_emulator)] == ["send_sms2", "get_sms_cost2", "get_status2"]


def test_balance_works_where_the_wsdl_declares_apikey(
    smsc_emulator_factory: Any,
) -> None:
    """With a live WSDL that declares <apikey>, the element alone authenticates get_balance."""
    server = smsc_emulator_factory(apikey_element=True)
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=server.url) as client:
        assert client.get_balance().balance == Decimal("1000.00")
        assert client.get_balance().balance == Decimal("1000.00")
    assert _calls(server) == [("get_balance", None), ("get_balance", None)]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_balance_error_2_is_explained_and_not_repeated(
    smsc_emulator: EmulatorServer, kind: str
) -> None:
    """Against the published WSDL an API-key balance gets error 2 once; the next call is refused locally.

    Five failed logins in 30 minutes block the IP, so the client does not keep trying.
    """
    errors: list[AuthenticationError] = []

    def sync() -> None:
        with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
            for _ in range(3):
                with pytest.raises(AuthenticationError) as info:
                    client.get_balance()
                errors.append(info.value)
            # Operations with a query still work: only the balance is refused.
            assert client.send_sms(PHONE, "still works").cnt == 1

    async def run_async() -> None:
        async with AsyncSoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
            for _ in range(3):
                with pytest.raises(AuthenticationError) as info:
                    await client.get_balance()
                errors.append(info.value)
            assert (await client.send_sms(PHONE, "still works")).cnt == 1

    if kind == "sync":
        sync()
    else:
        asyncio.run(run_async())
    first, *later = errors
    assert first.code == 2 and first.delivery is Delivery.REJECTED
    text = str(first)
    assert "smsc-soap wsdl check" in text and "login and password" in text
    assert "<apikey>" in text
    for error in later:
        assert error.code == 2 and error.delivery is Delivery.NOT_SENT
        assert "refused locally" in str(error) and "wsdl check" in str(error)
    for error in errors:
        assert TEST_APIKEY not in str(error) and TEST_APIKEY not in repr(error)
    assert _calls(smsc_emulator) == [("get_balance", 2), ("send_sms2", None)]


def test_login_clients_are_not_affected(smsc_emulator: EmulatorServer) -> None:
    """A wrong password's error 2 is not the API-key balance case: later calls still go out."""
    with SoapSmsc(TEST_LOGIN, "wrong", endpoint=smsc_emulator.url) as client:
        for _ in range(2):
            with pytest.raises(AuthenticationError) as info:
                client.get_balance()
            assert info.value.delivery is Delivery.REJECTED
            assert "wsdl check" not in str(info.value)
    assert _calls(smsc_emulator) == [("get_balance", 2), ("get_balance", 2)]


@pytest.mark.parametrize("query", [{"apikey": "other"}, "apikey=other", {"APIKEY": "x"}])
def test_callers_query_cannot_set_the_key(smsc_emulator: EmulatorServer, query: Any) -> None:
    """``apikey`` in a caller's query is refused, naming the key; nothing is sent."""
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
        for call in (
            lambda: client.send_sms2(PHONE, "x", query=query),
            lambda: client.get_sms_cost2(PHONE, "x", query=query),
            lambda: client.get_status2(1, PHONE, query=query),
        ):
            with pytest.raises(SmscValidationError, match=r"'apikey'|'APIKEY'") as info:
                call()
            assert info.value.field == "query"
    assert smsc_emulator.requests == []


@BOTH
def test_key_goes_in_query_and_element_but_never_login(smsc_emulator: EmulatorServer) -> None:
    """The request carries empty login/psw, the element and apikey= in query; the log shows no login."""
    from lxml import etree

    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
        client.send_sms(PHONE, "x")
    [record] = smsc_emulator.requests
    root = etree.fromstring(record.body)
    assert root.findtext(".//login") == "" and root.findtext(".//psw") == ""
    assert root.findtext(".//apikey") == TEST_APIKEY
    assert root.findtext(".//query").endswith(f"apikey={TEST_APIKEY}")
    assert not record.login


@pytest.mark.parametrize(
    "smsc_emulator_options",
    [{}, {"documented_fields": True}, {"apikey_element": True, "documented_fields": True}],
    ids=["published", "documented", "richest"],
)
def test_client_reads_both_reply_contracts(
    smsc_emulator: EmulatorServer, smsc_emulator_options: dict[str, bool]
) -> None:
    """Documented reply fields the published WSDL lacks (sms_cnt with all=1, per-number op=1 data) are
    read when a richer live WSDL sends them and absent otherwise; err=1 reads the same either way."""
    documented = smsc_emulator_options.get("documented_fields", False)
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
        sent = client.send_sms2(f"{PHONE},79990000000", "both ways", err=True)
        assert (sent.cnt, sent.cost) == (2, Decimal("3.90"))
        per_number = client.send_sms2(PHONE, "op data", op=True)
        [entry] = per_number.errors
        assert entry.phone == PHONE
        assert entry.cost == (Decimal("1.95") if documented else None)
        assert (entry.mcc is not None) is documented
        status = client.get_status(sent.id, PHONE, all=1)
    assert status.message == "both ways" and status.cost == Decimal("1.95")
    assert status.sms_cnt == (1 if documented else None)
    assert ("sms_cnt" in status.extra) is documented


def test_prepared_request_never_shows_the_key() -> None:
    """What a call prepares (route, fields, credentials) shows neither the key nor the id key."""
    with SoapSmsc(apikey=TEST_APIKEY, endpoint="http://127.0.0.1:9/sys/soap.php") as client:
        settings = client._plans._settings
        prepared = settings.prepare("send_sms", {"phones": PHONE, "mes": "x"}, now=0.0)
        assert prepared.operation == "send_sms2"
        assert prepared.credentials["query"] == f"cost=3&apikey={TEST_APIKEY}"
        assert "apikey" not in prepared.fields["query"]
        for text in (repr(prepared), repr(settings), str(prepared.fields)):
            assert TEST_APIKEY not in text
