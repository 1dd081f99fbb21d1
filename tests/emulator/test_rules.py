"""The documented rules the emulator follows (issue 12 items 2 and 3), at the model level."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from smsc_soap._params import recipients as _recipients
from smsc_soap.emulator import (
    MOSCOW,
    Account,
    Emulator,
    Limits,
    ManualClock,
    NumberReport,
    RequestError,
    _model,
)

START = datetime(2025, 3, 10, 10, 0, tzinfo=MOSCOW).timestamp()
CREDS = {"login": "alex", "psw": "123"}
PHONE = "79991234567"


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at START."""
    return ManualClock(START)


@pytest.fixture
def emulator(clock: ManualClock) -> Emulator:
    """An emulator with one rich account, a group G1 and a registered sender."""
    return Emulator(
        [
            Account(
                "alex",
                "123",
                apikey="KEY",
                balance=Decimal("1000.00"),
                senders=frozenset({"Shop"}),
                groups={"G1": ("79990000001", "79990000002")},
            )
        ],
        clock=clock,
    )


def send(emulator: Emulator, operation: str = "send_sms2", **fields: str) -> dict[str, str]:
    """Run a send with the account's credentials and return the reply fields."""
    return emulator.handle(operation, {**CREDS, **fields}).fields


def error_of(
    emulator: Emulator, operation: str, fields: dict[str, str], ip: str = "10.0.0.1"
) -> int:
    """Return the error code a request gets."""
    with pytest.raises(RequestError) as info:
        emulator.handle(operation, fields, ip)
    return info.value.code


def status(emulator: Emulator, message_id: str, phone: str = PHONE) -> tuple[str, str]:
    """Return (status, err) of a message."""
    fields = emulator.handle(
        "get_status2", {**CREDS, "id": message_id, "phone": phone, "query": ""}
    ).fields
    return fields["status"], fields["err"]


# ----- item 1: apikey inside query -----------------------------------------------------------------


def test_apikey_inside_query_authenticates(emulator: Emulator) -> None:
    """apikey= inside query authenticates send_sms2, get_sms_cost2 and get_status2 (S:49-50)."""
    reply = emulator.handle(
        "send_sms2", {"phones": PHONE, "mes": "hi", "query": "apikey=KEY&cost=2"}
    )
    assert reply.fields["cost"] == "1.95"
    cost = emulator.handle("get_sms_cost2", {"phones": PHONE, "mes": "x", "query": "apikey=KEY"})
    assert cost.fields["cnt"] == "1"
    found = emulator.handle(
        "get_status2", {"phone": PHONE, "id": reply.fields["id"], "query": "apikey=KEY"}
    )
    assert found.fields["status"] == "-1"


def test_query_is_not_read_where_the_operation_has_none(emulator: Emulator) -> None:
    """send_sms has no query in the WSDL, so an apikey there authenticates nothing."""
    assert error_of(emulator, "send_sms", {"phones": PHONE, "mes": "x", "query": "apikey=KEY"}) == 2


# ----- item 2: documented rules --------------------------------------------------------------------


def test_translit_prices_as_latin(emulator: Emulator) -> None:
    """75 Cyrillic characters cost 2 parts; with translit=1 (or 2) one part."""
    text = "Привет" * 12 + "при"
    assert len(text) == 75
    assert send(emulator, phones=PHONE, mes=text, query="cost=1")["cnt"] == "2"
    assert send(emulator, phones=PHONE, mes=text, query="cost=1&translit=1")["cnt"] == "1"
    assert send(emulator, phones=PHONE, mes=text, query="cost=1&translit=2")["cnt"] == "1"
    send(emulator, phones=PHONE, mes="Щука", query="translit=1")
    assert emulator.messages[-1].text == "Schuka"


def test_translit_must_be_0_1_or_2(emulator: Emulator) -> None:
    """Another translit value is error 1."""
    assert (
        error_of(
            emulator, "send_sms2", {**CREDS, "phones": PHONE, "mes": "x", "query": "translit=5"}
        )
        == 1
    )


def test_flood_rule_blocks_the_51st_message_within_2_minute_gaps(
    emulator: Emulator, clock: ManualClock
) -> None:
    """More than 50 messages to one number, each < 2 min after the last: status 23, err 251, free."""
    for index in range(50):
        send(emulator, phones=PHONE, mes=f"m{index}")
        clock.advance(119)
    balance = emulator.account("alex").balance
    with pytest.raises(RequestError) as info:
        send(emulator, phones=PHONE, mes="one too many", id="f51")
    assert (info.value.code, info.value.id) == (6, "f51")
    assert emulator.account("alex").balance == balance
    reply = emulator.handle(
        "send_sms2", {**CREDS, "phones": f"{PHONE},79990000009", "mes": "x", "query": "err=1"}
    )
    assert reply.errors == (NumberReport(PHONE, "23"),)
    assert status(emulator, reply.fields["id"]) == ("23", "251")
    clock.advance(120)  # a pause of 2 minutes starts a new run
    assert send(emulator, phones=PHONE, mes="after a pause")["cnt"] == "1"


def test_valid_expires_an_undelivered_message(emulator: Emulator, clock: ManualClock) -> None:
    """A subscriber out of the network (...006) stays 0 until valid runs out, then 3 / err 6."""
    reply = send(emulator, phones="70000000006", mes="x", query="valid=00:30")
    clock.advance(29 * 60)
    assert status(emulator, reply["id"], "70000000006") == ("0", "0")
    clock.advance(60)
    assert status(emulator, reply["id"], "70000000006") == ("3", "6")


@pytest.mark.parametrize("valid", ["0", "25", "24:01", "00:00", "1:60", "abc"])
def test_bad_valid_is_error_1(emulator: Emulator, valid: str) -> None:
    """valid is 1..24 hours or hh:mm from 00:01 to 24:00 (S:128)."""
    fields = {**CREDS, "phones": PHONE, "mes": "x", "query": f"valid={valid}"}
    assert error_of(emulator, "send_sms2", fields) == 1


def test_tinyurl_click_gives_status_4(emulator: Emulator, clock: ManualClock) -> None:
    """A delivered tinyurl=1 message whose link is followed is status 4; not before delivery."""
    reply = send(emulator, phones=PHONE, mes="see https://example.com/x", query="tinyurl=1")
    with pytest.raises(ValueError, match="delivered"):
        emulator.click_link(reply["id"], PHONE)
    clock.advance(10)
    assert status(emulator, reply["id"]) == ("1", "0")
    emulator.click_link(reply["id"], PHONE)
    assert status(emulator, reply["id"]) == ("4", "0")
    plain = send(emulator, phones=PHONE, mes="see https://example.com/y")
    clock.advance(10)
    with pytest.raises(ValueError, match="tinyurl"):
        emulator.click_link(plain["id"], PHONE)


def test_100_erroneous_requests_in_a_row_block_the_ip(
    emulator: Emulator, clock: ManualClock
) -> None:
    """100 erroneous requests in a row within 10 minutes block the IP for 10 minutes (R5)."""
    bad = {**CREDS, "phones": "", "mes": "x"}
    for _ in range(99):
        assert error_of(emulator, "send_sms2", bad) == 1
    emulator.handle("get_balance", CREDS, "10.0.0.1")  # a success ends the streak
    for _ in range(100):
        assert error_of(emulator, "send_sms2", bad) == 1
    assert error_of(emulator, "get_balance", CREDS) == 4
    assert emulator.handle("get_balance", CREDS, "10.0.0.2").fields["balance"]
    clock.advance(600)
    assert emulator.handle("get_balance", CREDS, "10.0.0.1").fields["balance"]


def test_error_streak_older_than_10_minutes_does_not_block(
    emulator: Emulator, clock: ManualClock
) -> None:
    """Errors spread over more than 10 minutes do not block."""
    bad = {**CREDS, "phones": "", "mes": "x"}
    for _ in range(100):
        error_of(emulator, "send_sms2", bad)
        clock.advance(7)
    assert emulator.handle("get_balance", CREDS, "10.0.0.1").fields["balance"]


def test_unblock_lifts_the_auth_block(emulator: Emulator) -> None:
    """Five failed logins block the IP for 30 minutes; unblock() lifts it at once."""
    for _ in range(5):
        assert error_of(emulator, "get_balance", {"login": "alex", "psw": "no"}) == 2
    assert error_of(emulator, "get_balance", CREDS) == 4
    assert list(emulator.blocked()) == ["10.0.0.1"]
    assert emulator.unblock("10.0.0.1") == ["10.0.0.1"]
    assert emulator.handle("get_balance", CREDS, "10.0.0.1").fields["balance"]
    assert emulator.unblock() == []


def test_list_lines_take_a_semicolon(emulator: Emulator) -> None:
    """A list line may separate numbers and text with ';' (S:117)."""
    reply = send(emulator, phones="", mes="", query="list=79990000001;first%0A79990000002:second")
    assert reply["cnt"] == "2"
    assert [m.text for m in emulator.messages] == ["first", "second"]


def test_groups_fan_out(emulator: Emulator) -> None:
    """G1 sends to every number of the account's group; an unknown group is a wrong number."""
    reply = send(emulator, phones="G1", mes="hi", query="cost=2")
    assert (reply["cnt"], reply["cost"]) == ("2", "3.90")
    assert emulator.messages[-1].phones == ("79990000001", "79990000002")
    assert error_of(emulator, "send_sms2", {**CREDS, "phones": "G9", "mes": "hi"}) == 7


def test_email_recipients_need_mail_and_a_from_address(emulator: Emulator) -> None:
    """mail=1 sends to addresses with a subject and a From address that needs no registration."""
    query = "mail=1&subj=Order"
    reply = send(emulator, phones="a@example.com", mes="hi", sender="shop@example.com", query=query)
    assert reply["cnt"] == "1"
    assert emulator.messages[-1].phones == ("a@example.com",)
    assert error_of(emulator, "send_sms2", {**CREDS, "phones": "a@example.com", "mes": "hi"}) == 7
    missing_subj = {**CREDS, "phones": "a@example.com", "mes": "hi", "sender": "s@example.com"}
    assert error_of(emulator, "send_sms2", {**missing_subj, "query": "mail=1"}) == 1
    no_from = {**CREDS, "phones": "a@example.com", "mes": "hi", "query": query}
    assert error_of(emulator, "send_sms2", no_from) == 1


def test_telegram_takes_nicknames_ids_and_phones(emulator: Emulator) -> None:
    """tg=1 sends to a nickname, a #ID and a phone number."""
    reply = send(emulator, phones="@alex_nick,#123456,79990000003", mes="1234", query="tg=1")
    assert reply["cnt"] == "3"
    assert error_of(emulator, "send_sms2", {**CREDS, "phones": "@alex_nick", "mes": "1"}) == 7


def test_mms_with_subject_and_no_text(emulator: Emulator) -> None:
    """An MMS needs a subject or a text (S:111); neither is error 1."""
    assert send(emulator, phones=PHONE, mes="", query="mms=1&subj=Photo")["cnt"] == "1"
    assert emulator.messages[-1].subject == "Photo"
    assert (
        error_of(emulator, "send_sms2", {**CREDS, "phones": PHONE, "mes": "", "query": "mms=1"})
        == 1
    )


def test_phone_rule_is_the_clients() -> None:
    """The emulator accepts numbers by the client's own 7-15 digit rule (the same function)."""
    assert _model.phone_number is _recipients.phone_number
    assert _model.normalize_phone("1234567") == "1234567"
    assert _model.normalize_phone("123456") is None
    assert _model.normalize_phone("+" + "1" * 15) == "1" * 15
    assert _model.normalize_phone("1" * 16) is None


def test_forbidden_line_in_a_list_is_status_23_and_the_rest_goes(emulator: Emulator) -> None:
    """A list line with an unregistered sender or a spam word gets status 23; other lines are sent."""
    listing = "Nobody|79990000001:hi%0A79990000002:spamtest%0AShop|79990000003:fine"
    reply = emulator.handle(
        "send_sms2", {**CREDS, "phones": "", "mes": "", "query": f"list={listing}&err=1&cost=2"}
    )
    assert (reply.fields["cnt"], reply.fields["cost"]) == ("1", "1.95")
    assert reply.errors == (NumberReport("79990000001", "23"), NumberReport("79990000002", "23"))
    assert status(emulator, reply.fields["id"], "79990000001") == ("23", "254")
    assert status(emulator, reply.fields["id"], "79990000002") == ("23", "253")


def test_unregistered_sender_of_a_single_message_is_error_6(emulator: Emulator) -> None:
    """Without list, an unregistered sender refuses the whole request with error 6 and the id."""
    with pytest.raises(RequestError) as info:
        send(emulator, phones=PHONE, mes="hi", sender="Nobody", id="s1")
    assert (info.value.code, info.value.id) == (6, "s1")
    assert "sender 'Nobody' is not registered" in info.value.reason


# ----- item 3: no invented behaviour ---------------------------------------------------------------


def test_send_sms_and_send_sms2_both_default_to_cost_0(emulator: Emulator) -> None:
    """Both send operations answer id and cnt only unless cost asks for more (S:113)."""
    assert send(emulator, "send_sms", phones=PHONE, mes="a") == {"id": "1", "cnt": "1"}
    assert send(emulator, "send_sms2", phones=PHONE, mes="b") == {"id": "2", "cnt": "1"}


def test_op_1_reports_accepted_numbers_as_0(emulator: Emulator) -> None:
    """op=1 gives an accepted number status 0, not -1."""
    reply = emulator.handle("send_sms2", {**CREDS, "phones": PHONE, "mes": "m", "query": "op=1"})
    assert [report.status for report in reply.errors] == ["0"]


def test_sizes_stay_bounded_under_sustained_sends(clock: ManualClock) -> None:
    """Ten simulated minutes at 100 sends/s: every table holds about a minute's worth, no more."""
    emulator = Emulator(
        [Account("alex", "123", balance=Decimal(10**9))],
        clock=clock,
        limits=Limits(),
        max_messages=5_000,
    )
    for index in range(60_000):
        emulator.handle(
            "send_sms2", {**CREDS, "phones": f"7999{index:07d}", "mes": "x", "query": "cost=0"}
        )
        if index % 10 == 9:
            clock.advance(0.1)
    sizes = emulator.sizes()
    assert sizes["recent_sends"] <= 6_100  # 60 s of sends at 100/s
    assert sizes["flood"] <= 12_100  # 120 s of distinct numbers
    assert sizes["messages"] == 5_000 and sizes["ids"] == 5_000


def test_flood_runs_are_counted_per_account(emulator: Emulator) -> None:
    """Another account's messages to the same number do not count towards this account's run."""
    emulator.add_account(Account("bob", "pw", balance=Decimal("100.00")))
    for index in range(50):
        send(emulator, phones=PHONE, mes=f"m{index}")
    other = emulator.handle("send_sms2", {"login": "bob", "psw": "pw", "phones": PHONE, "mes": "x"})
    assert other.fields["cnt"] == "1"
    assert error_of(emulator, "send_sms2", {**CREDS, "phones": PHONE, "mes": "51st"}) == 6
