"""The client against the emulator over real HTTP: all seven operations, the happy paths."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from smsc_soap import AuthenticationError, DeliveryError, MessageStatus, SmscFaultError, SoapSmsc
from smsc_soap.emulator import TEST_APIKEY, TEST_SENDER, EmulatorServer

PHONE = "79991234567"
MSK = timezone(timedelta(hours=3))


def test_send_sms_returns_id_cnt_cost_and_balance(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """send_sms sends one part and reports the id it was given and cnt (cost=0, the default)."""
    result = smsc_client.send_sms(PHONE, "Hello world!", id=42, sender=TEST_SENDER)
    assert (result.id, result.cnt) == ("42", 1)
    assert (result.cost, result.balance) == (None, None)
    assert smsc_emulator.emulator.account("test").balance == Decimal("998.05")
    [message] = smsc_emulator.messages
    assert (message.id, message.phones, message.text, message.sender) == (
        "42",
        (PHONE,),
        "Hello world!",
        TEST_SENDER,
    )


def test_send_sms2_cyrillic_two_parts_with_cost_and_balance(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A 71-character Cyrillic text takes two UCS-2 parts, billed per part with cost=3."""
    mes = "Привет" * 11 + "мир!!"
    result = smsc_client.send_sms2([PHONE, "79990000001"], mes, query={"cost": 3})
    assert result.cnt == 4
    assert result.cost == Decimal("7.80")
    assert result.balance == Decimal("992.20")
    assert smsc_emulator.emulator.account("test").balance == Decimal("992.20")


def test_send_sms2_asks_cost_3_by_default(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """Without ``cost`` send_sms2 asks for cost=3: the reply fills the cost and the new balance."""
    result = smsc_client.send_sms2(PHONE, "hi")
    assert result.cnt == 1
    assert result.cost == Decimal("1.95") and result.balance == Decimal("998.05")
    assert b"cost=3" in smsc_emulator.requests[-1].body


def test_send_sms2_cost_0_reports_only_id_and_cnt(smsc_client: SoapSmsc) -> None:
    """With cost=0 (the service's own default) the reply carries the id and cnt only."""
    result = smsc_client.send_sms2(PHONE, "hi", cost=0)
    assert result.cnt == 1
    assert result.cost is None and result.balance is None


def test_send_sms2_cost_2_adds_the_cost_only(smsc_client: SoapSmsc) -> None:
    """With cost=2 the reply adds the cost but not the balance."""
    result = smsc_client.send_sms2(PHONE, "hi", query={"cost": 2})
    assert result.cost == Decimal("1.95") and result.balance is None


def test_send_sms2_err_1_lists_rejected_numbers(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """err=1 lists the numbers refused at once with their statuses; the rest is sent and billed."""
    result = smsc_client.send_sms2(
        [PHONE, "70000000022", "70000000023", "70000000025", "1234567"],  # 7 digits: valid
        "hi",
        query={"err": 1, "cost": 3},
    )
    assert result.cnt == 2
    assert result.cost == Decimal("3.90")
    assert [(e.phone, e.status) for e in result.errors] == [
        ("70000000022", MessageStatus.WRONG_NUMBER),
        ("70000000023", MessageStatus.FORBIDDEN),
        ("70000000025", MessageStatus.UNAVAILABLE_NUMBER),
    ]


def test_send_sms2_list_sends_a_message_per_line_under_one_id(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """``list`` sends different texts to different numbers, with per-line senders, under one id."""
    listing = f"{PHONE}:first\\nline\n{TEST_SENDER},0|79990000001,79990000002:second"
    result = smsc_client.send_sms2("", "", query={"list": listing})
    assert result.cnt == 3
    first, second = smsc_emulator.messages
    assert first.id == second.id == result.id
    assert first.text == "first\nline" and first.phones == (PHONE,)
    assert second.sender == TEST_SENDER and second.phones == ("79990000001", "79990000002")


def test_send_sms2_maxsms_truncates_the_text(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """maxsms=1 cuts a 200-character Latin text down to the 160 that fit one part."""
    result = smsc_client.send_sms2(PHONE, "a" * 200, query={"maxsms": 1})
    assert result.cnt == 1
    assert smsc_emulator.messages[0].text == "a" * 160


def test_get_sms_cost_does_not_send(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """get_sms_cost prices a send without sending or charging anything."""
    result = smsc_client.get_sms_cost([PHONE, "79990000001"], "x" * 161)
    assert (result.cost, result.cnt) == (Decimal("7.80"), 4)
    assert smsc_emulator.messages == []
    assert smsc_client.get_balance().balance == Decimal("1000.00")


def test_get_sms_cost2_reads_query(smsc_client: SoapSmsc) -> None:
    """get_sms_cost2 applies query parameters such as maxsms."""
    result = smsc_client.get_sms_cost2(PHONE, "x" * 400, query={"maxsms": 2})
    assert (result.cost, result.cnt) == (Decimal("3.90"), 2)


def test_get_status_moves_from_waiting_to_delivered(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A message waits (-1), is transferred (0) after 1 s and delivered (1) 5 s later."""
    sent = smsc_client.send_sms2(PHONE, "status please")
    start = smsc_emulator.emulator.clock.now()
    assert smsc_client.get_status(sent.id, PHONE).status is MessageStatus.WAITING
    smsc_emulator.advance(1)
    assert smsc_client.get_status(sent.id, PHONE).status is MessageStatus.TRANSFERRED
    smsc_emulator.advance(5)
    status = smsc_client.get_status(sent.id, PHONE)
    assert status.status is MessageStatus.DELIVERED
    assert status.err is DeliveryError.NO_ERROR
    assert status.last_timestamp == int(start) + 6
    assert status.last_date == datetime.fromtimestamp(int(start) + 6, MSK)


def test_get_status_all_1_and_all_2_add_details(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """all=1 adds send date, phone, cost, sender, status name and text; all=2 adds operator, region."""
    sent = smsc_client.send_sms2(PHONE, "Детали", sender=TEST_SENDER)
    smsc_emulator.advance(10)
    full = smsc_client.get_status(sent.id, PHONE, all=1)
    assert (full.phone, full.cost, full.sender_id, full.message) == (
        PHONE,
        Decimal("1.95"),
        TEST_SENDER,
        "Детали",
    )
    assert full.status_name == "Доставлено"
    assert full.send_timestamp is not None and full.send_date is not None
    assert full.operator is None and full.region is None
    more = smsc_client.get_status2(sent.id, PHONE, all=2)
    assert more.operator == "Emulator Mobile" and more.region == "Россия"


def test_test_numbers_fail_after_the_delivery_delay(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """70000000020 ends as 20/err 1 and 70000000003 as 3/err 6, both billed."""
    sent = smsc_client.send_sms2(["70000000020", "70000000003"], "x", query={"cost": 3})
    assert sent.cnt == 2 and sent.cost == Decimal("3.90")
    smsc_emulator.advance(6)
    undelivered = smsc_client.get_status(sent.id, "70000000020")
    expired = smsc_client.get_status(sent.id, "70000000003")
    assert (undelivered.status, undelivered.err) == (
        MessageStatus.UNDELIVERABLE,
        DeliveryError.SUBSCRIBER_NOT_EXISTS,
    )
    assert (expired.status, expired.err) == (
        MessageStatus.EXPIRED,
        DeliveryError.SUBSCRIBER_NOT_IN_NETWORK,
    )


def test_scheduled_send_waits_until_its_time(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """time=+10 keeps the message waiting for ten minutes, then it goes."""
    sent = smsc_client.send_sms2(PHONE, "later", time="+10")
    smsc_emulator.advance(599)
    assert smsc_client.get_status(sent.id, PHONE).status is MessageStatus.WAITING
    smsc_emulator.advance(7)
    assert smsc_client.get_status(sent.id, PHONE).status is MessageStatus.DELIVERED


def test_absolute_time_in_another_tz(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """An absolute DD.MM.YY hh:mm time is read in the tz zone (hours from Moscow)."""
    now = smsc_emulator.emulator.clock.now()
    local = datetime.fromtimestamp(now, timezone(timedelta(hours=5))) + timedelta(hours=2)
    sent = smsc_client.send_sms2(
        PHONE, "tz", time=local.strftime("%d.%m.%y %H:%M"), query={"tz": 2}
    )
    [message] = smsc_emulator.messages
    assert message.send_at == int(local.replace(second=0).timestamp())
    assert smsc_client.get_status(sent.id, PHONE).status is MessageStatus.WAITING


@pytest.mark.parametrize(
    "smsc_emulator_options", [{}, {"apikey_element": True}], ids=["published", "element"]
)
def test_get_balance_and_apikey_login(
    smsc_emulator: EmulatorServer, smsc_emulator_options: dict[str, bool]
) -> None:
    """The API key alone authenticates a send in both contracts (it travels in query); the balance
    only where the live WSDL declares <apikey> (elsewhere: error 2, explained)."""
    with SoapSmsc(apikey=TEST_APIKEY, endpoint=smsc_emulator.url) as client:
        sent = client.send_sms(PHONE, "via key")
        assert sent.balance == Decimal("998.05")
        if smsc_emulator_options.get("apikey_element"):
            assert client.get_balance().balance == Decimal("998.05")
        else:
            with pytest.raises(AuthenticationError, match="wsdl check"):
                client.get_balance()
    assert not smsc_emulator.requests[-1].login


def test_host_preset_smsc_ua_namespace() -> None:
    """An emulator mimicking smsc.ua serves a client configured for smsc.ua."""
    from smsc_soap.emulator import Emulator, default_account

    with (
        EmulatorServer(Emulator([default_account()], host="smsc.ua")) as server,
        SoapSmsc("test", "test-password", host="smsc.ua", endpoint=server.url) as client,
    ):
        assert client.get_balance().balance == Decimal("1000.00")
        assert b"http://smsc.ua/sys/soap.php" in server.requests[-1].body
        with (
            SoapSmsc("test", "test-password", endpoint=server.url) as ru_client,
            pytest.raises(SmscFaultError, match="Procedure 'balance' not present"),
        ):
            ru_client.get_balance()
        server.check()
