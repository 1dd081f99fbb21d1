"""The emulator's state model without any HTTP: rules, lifecycle, time formats, limits."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from smsc_soap.emulator import (
    MOSCOW,
    Account,
    BadDate,
    BadParameters,
    Emulator,
    Limits,
    ManualClock,
    NumberReport,
    RequestError,
    Tariff,
    TooManyRequests,
    format_moscow,
    parse_send_time,
)

# 2025-03-10 10:00:00 Moscow time.
START = datetime(2025, 3, 10, 10, 0, tzinfo=MOSCOW).timestamp()
CREDS = {"login": "alex", "psw": "123"}


@pytest.fixture
def emulator() -> Emulator:
    """An emulator with one account on a manual clock at START."""
    return Emulator(
        [Account("alex", "123", balance=Decimal("10.00"), senders=frozenset({"Shop"}))],
        clock=ManualClock(START),
    )


def send(emulator: Emulator, **fields: str) -> dict[str, str]:
    """Run send_sms2 with the account's credentials and return the reply fields."""
    return emulator.handle("send_sms2", {**CREDS, **fields}).fields


def test_send_charges_and_stores(emulator: Emulator) -> None:
    """A send charges parts × price and stores the message with its recipients."""
    reply = send(emulator, phones="79991234567", mes="hi", query="cost=3")
    assert reply == {"id": "1", "balance": "8.05", "cost": "1.95", "cnt": "1"}
    [message] = emulator.messages
    assert (message.phones, message.parts, message.cost) == (("79991234567",), 1, Decimal("1.95"))


def test_assigned_ids_count_up_and_reset(emulator: Emulator) -> None:
    """Ids the server assigns count from 1 and start again after reset()."""
    assert send(emulator, phones="79991234567", mes="a")["id"] == "1"
    assert send(emulator, phones="79991234567", mes="b")["id"] == "2"
    emulator.reset()
    assert send(emulator, phones="79991234567", mes="a")["id"] == "1"
    assert emulator.account("alex").balance == Decimal("8.05")


def test_cost_1_prices_without_sending(emulator: Emulator) -> None:
    """cost=1 in a send answers cost and cnt and sends nothing."""
    assert send(emulator, phones="79991234567", mes="hi", query="cost=1") == {
        "cost": "1.95",
        "cnt": "1",
    }
    assert emulator.messages == []


def test_lifecycle_dates_follow_the_clock(emulator: Emulator) -> None:
    """Status -1, then 0 after queue_delay, then 1 after delivery_delay, with matching dates."""
    send(emulator, phones="79991234567", mes="hi")
    message = emulator.messages[0]
    assert emulator.status_of(message, "79991234567") == (-1, 0, START)
    assert isinstance(emulator.clock, ManualClock)
    emulator.clock.advance(1)
    assert emulator.status_of(message, "79991234567") == (0, 0, START + 1)
    emulator.clock.advance(5)
    assert emulator.status_of(message, "79991234567") == (1, 0, START + 6)
    reply = emulator.handle("get_status", {**CREDS, "phone": "+7 (999) 123-45-67", "id": "1"})
    assert reply.fields["last_date"] == "10.03.2025 10:00:06"


def test_status_of_duplicate_ids_is_the_latest(emulator: Emulator) -> None:
    """With a reused id, a status request answers for the latest message."""
    send(emulator, phones="70000000020", mes="first", id="x")
    send(emulator, phones="70000000020", mes="second", id="x")
    reply = emulator.handle("get_status", {**CREDS, "phone": "70000000020", "id": "x", "all": "1"})
    assert reply.fields["message"] == "second"


def test_russian_8_prefix_is_corrected(emulator: Emulator) -> None:
    """A Russian 8XXXXXXXXXX number is read as 7XXXXXXXXXX."""
    send(emulator, phones="89991234567", mes="hi")
    assert emulator.messages[0].phones == ("79991234567",)


def test_md5_password_and_apikey_accounts() -> None:
    """The lowercase MD5 of the password is accepted, and an API-key-only account has no password."""
    emulator = Emulator([Account("a", "pw"), Account("k", apikey="KEY")], clock=ManualClock(START))
    digest = hashlib.md5(b"pw").hexdigest()
    assert emulator.handle("get_balance", {"login": "a", "psw": digest}).fields["balance"]
    assert emulator.handle("get_balance", {"apikey": "KEY"}).fields["balance"] == "100.00"
    with pytest.raises(RequestError) as info:
        emulator.handle("get_balance", {"login": "k", "psw": ""})
    assert info.value.code == 2


def test_tariff_by_prefix() -> None:
    """The longest matching prefix sets the price per part."""
    tariff = Tariff(Decimal("2"), {"380": Decimal("1.10"), "38050": Decimal("0.90")})
    assert tariff.price("380501234567") == Decimal("0.90")
    assert tariff.price("380671234567") == Decimal("1.10")
    assert tariff.price("79991234567") == Decimal("2")


def test_op_1_lists_every_number(emulator: Emulator) -> None:
    """op=1 lists every recipient: 0 with its network and cost if accepted, else status and err."""
    reply = emulator.handle(
        "send_sms2",
        {**CREDS, "phones": "79991234567,70000000023", "mes": "m", "query": "op=1"},
    )
    assert reply.errors == (
        NumberReport("79991234567", "0", mcc="250", mnc="99", cost="1.95", error="0"),
        NumberReport("70000000023", "23", mcc="0", mnc="0", cost="0.00", error="253"),
    )


def test_rejected_numbers_keep_their_status(emulator: Emulator) -> None:
    """A number refused at once can still be queried, with its status and err."""
    send(emulator, phones="79991234567,70000000023", mes="m", id="r")
    reply = emulator.handle("get_status", {**CREDS, "phone": "70000000023", "id": "r"})
    assert (reply.fields["status"], reply.fields["err"]) == ("23", "253")


@pytest.mark.parametrize(
    "fields",
    [
        {"phones": "", "mes": "x"},
        {"phones": "79991234567", "mes": ""},
        {"phones": "79991234567", "mes": "x" * 1001},
        {"phones": "79991234567", "mes": "x", "id": "bad id!"},
        {"phones": "79991234567", "mes": "x", "id": "2147483648"},
        {"phones": "79991234567", "mes": "x", "query": "cost=5"},
        {"phones": "79991234567", "mes": "x", "query": "list=no-colon"},
    ],
)
def test_bad_parameters_are_error_1(emulator: Emulator, fields: dict[str, str]) -> None:
    """Missing, oversized or malformed parameters are error 1."""
    with pytest.raises(BadParameters):
        send(emulator, **fields)


def test_concurrency_flag_refuses_after_auth(emulator: Emulator) -> None:
    """A request counted as the 15th in flight is error 9; the count drops when requests finish."""
    small = Emulator(
        [Account("alex", "123")], clock=ManualClock(START), limits=Limits(concurrent=2)
    )
    with small.in_flight(CREDS) as first, small.in_flight(CREDS) as second:
        assert (first, second) == (False, True)
        with pytest.raises(TooManyRequests):
            small.handle("get_balance", CREDS, crowded=second)
    with small.in_flight(CREDS) as again:
        assert again is False


def test_reset_during_a_request_does_not_break_the_count(emulator: Emulator) -> None:
    """reset() while a request is in flight leaves the counter consistent."""
    with emulator.in_flight(CREDS):
        emulator.reset()
    with emulator.in_flight(CREDS) as crowded:
        assert crowded is False


NOW = datetime(2025, 3, 10, 10, 30, tzinfo=MOSCOW).timestamp()


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        (None, 0, NOW),
        ("0", 0, NOW),
        ("1003251200", 0, datetime(2025, 3, 10, 12, 0, tzinfo=MOSCOW).timestamp()),
        ("10.03.25 13:00", 2, datetime(2025, 3, 10, 11, 0, tzinfo=MOSCOW).timestamp()),
        ("01.01.20 12:00", 0, NOW),
        ("12-18", 0, datetime(2025, 3, 10, 12, 0, tzinfo=MOSCOW).timestamp()),
        ("9-18", 0, NOW),
        ("6-9", 0, datetime(2025, 3, 11, 6, 0, tzinfo=MOSCOW).timestamp()),
        (f"0{int(NOW) + 600}", 0, NOW + 600),
        ("+15", 0, NOW + 900),
    ],
)
def test_send_time_formats(text: str | None, tz: int, expected: float) -> None:
    """Every documented time format gives the moment the message goes (past means now)."""
    assert parse_send_time(text, now=NOW, tz=tz) == expected


@pytest.mark.parametrize(
    "text", ["3102251200", "tomorrow", "25-30", "12:00", "+", "10.03.2025 12:00"]
)
def test_bad_send_times_are_error_5(text: str) -> None:
    """Times in no documented format, or not real dates, are error 5."""
    with pytest.raises(BadDate):
        parse_send_time(text, now=NOW, tz=0)


def test_moscow_dates() -> None:
    """Dates are written DD.MM.YYYY hh:mm:ss in Moscow time (UTC+3)."""
    utc_noon = datetime(2025, 1, 2, 12, 0, 5, tzinfo=UTC).timestamp()
    assert format_moscow(utc_noon) == "02.01.2025 15:00:05"
    assert MOSCOW.utcoffset(None) == timedelta(hours=3)


def test_unknown_host_is_refused() -> None:
    """Only the host presets can be mimicked."""
    with pytest.raises(ValueError, match="host must be one of"):
        Emulator(host="example.com")
