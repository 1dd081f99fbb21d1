"""The emulator's send path does each piece of work once, with the same results as the plain rules.

The shortcuts of the send path (plain numbers recognised without the phone rule's regular
expressions, the query parsed once per request, a line copied only when the flood rule blocks one
of its numbers, a message record built by position) are checked here against the rules they stand
in for; the behaviour itself is pinned by the other emulator tests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from urllib.parse import quote_plus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smsc_soap import SoapSmsc
from smsc_soap._params.recipients import classify_recipient, phone_number
from smsc_soap.emulator import (
    MOSCOW,
    Account,
    Emulator,
    EmulatorServer,
    Limits,
    ManualClock,
    _model,
    default_account,
)
from smsc_soap.emulator._lifecycle import Message, Recipient

START = datetime(2025, 3, 10, 10, 0, tzinfo=MOSCOW).timestamp()
CREDS = {"login": "alex", "psw": "123"}

# Items near the phone rule's edges: digits of every length, a leading +, junk the rule drops,
# non-ASCII digits (str.isdigit() takes them, the rule does not), e-mail addresses, nicknames, #IDs
# and groups.
_ITEM = st.text(
    st.sampled_from(list("0123456789") * 4 + list("+ ()-.@#_GaZ") + ["٣", "１", "²", "\u00a0"]),
    max_size=18,
)


@given(_ITEM)
@example("7999123")
@example("799912345678901")
@example("7999123456789012")
@example("+79991234567")
@example("+0123456789")
@example("+123456")
@example("٣٣٣٣٣٣٣٣")
@example("+7 (999) 123-45-67")
@example(" +89991234567")
@example("89991234567")
def test_plain_numbers_are_what_the_phone_rule_says(item: str) -> None:
    """The shortcut for plain numbers gives what phone_number() gives, item by item."""
    number = phone_number(item)
    if _model._plain_number(item):
        assert number == item
    if number is not None and number.startswith("+"):
        number = number[1:]
    elif number is not None and len(number) == 11 and number.startswith("8"):
        number = "7" + number[1:]  # a Russian 8XXXXXXXXXX without +
    assert _model.normalize_phone(item) == number


@given(_ITEM, st.sampled_from([None, "mail", "tg"]))
@example("79991234567", "mail")
@example("79991234567", "tg")
@example("G12", None)
def test_list_heads_name_recipients_as_the_client_rule_says(item: str, kind: str | None) -> None:
    """Whether a list line's item names a recipient is what classify_recipient() says."""
    assert _model._names_recipient(item, kind) == (classify_recipient(item, kind) is not None)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at START."""
    return ManualClock(START)


def test_a_stored_message_carries_every_field_of_the_send(clock: ManualClock) -> None:
    """Each stored field comes from where it should: id, login, text, parts, cost, sender, times..."""
    emulator = Emulator(
        [Account("alex", "123", balance=Decimal("100"), senders=frozenset({"Shop", "Other"}))],
        clock=clock,
    )
    listing = "Other|79990000001:first\n79990000002,70000000022:" + "ж" * 71
    query = f"list={quote_plus(listing)}&sender=Shop&valid=2&tinyurl=1&subj=Topic&flash=1"
    emulator.handle(
        "send_sms2", {**CREDS, "phones": "", "mes": "", "id": "L7", "time": "+5", "query": query}
    )
    first, second = emulator.messages
    assert first == Message(
        id="L7",
        login="alex",
        recipients=(Recipient("79990000001", Decimal("1.95")),),
        text="first",
        parts=1,
        cost=Decimal("1.95"),
        sender="Other",
        created_at=START,
        send_at=START + 300,
        kind="flash",
        valid=7200.0,
        tinyurl=True,
        subject="Topic",
    )
    assert second.recipients == (
        Recipient("79990000002", Decimal("3.90")),
        Recipient("70000000022", Decimal(0), 22, 249),
    )
    assert (second.text, second.parts, second.cost, second.sender) == (
        "ж" * 71,
        2,
        Decimal("3.90"),
        "Shop",
    )


def test_the_flood_rule_blocks_numbers_in_the_middle_of_a_list_line(clock: ManualClock) -> None:
    """A blocked number is replaced where it stands; the line's other numbers keep their place."""
    emulator = Emulator(
        [Account("alex", "123", balance=Decimal("100"))],
        clock=clock,
        limits=Limits(flood_messages=1),
    )
    p, q, r, s = "79990000001", "79990000002", "79990000003", "79990000004"
    listing = f"{p}:a\n{q}:b\n{r},{p}:c\n{p},{s}:d"
    reply = emulator.handle(
        "send_sms2", {**CREDS, "phones": "", "mes": "", "query": f"list={quote_plus(listing)}"}
    )
    assert reply.fields["cnt"] == "4"
    blocked = Recipient(p, Decimal(0), 23, 251)
    price = Decimal("1.95")
    assert [m.recipients for m in emulator.messages] == [
        (Recipient(p, price),),
        (Recipient(q, price),),
        (Recipient(r, price), blocked),
        (blocked, Recipient(s, price)),
    ]
    assert [m.cost for m in emulator.messages] == [price, price, price, price]


def test_a_query_is_parsed_once_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP, the concurrency count and the request itself share one parse of ``query``."""
    calls: list[str] = []
    parse = _model.php_parse_str

    def counting(text: str) -> dict[str, str]:
        calls.append(text)
        return parse(text)

    monkeypatch.setattr(_model, "php_parse_str", counting)
    emulator = Emulator([default_account()])
    with (
        EmulatorServer(emulator) as server,
        SoapSmsc("test", "test-password", endpoint=server.url) as client,
    ):
        result = client.send_sms2(
            "", "", list="79990000001:one\n79990000002:two", query={"cost": 3}
        )
        client.get_balance()
    assert result.cnt == 2
    assert len(calls) == 2  # send_sms2 once; get_balance has no query, parsed as ""
    assert "list=" in calls[0] and calls[1] == ""
    assert len(emulator.messages) == 2


def test_a_parse_left_by_in_flight_is_not_used_for_another_query() -> None:
    """handle() with other fields than in_flight() saw parses its own query."""
    emulator = Emulator([default_account()])
    seen = {"login": "test", "psw": "test-password", "phones": "79990000001", "mes": "x"}
    with emulator.in_flight({**seen, "query": "cost=3"}) as crowded:
        reply = emulator.handle("send_sms2", {**seen, "query": "cost=2"}, crowded=crowded)
    assert set(reply.fields) == {"id", "cost", "cnt"}  # cost=2: no balance
    with emulator.in_flight({**seen, "query": "cost=3", "id": "2"}) as crowded:
        pass  # the request never reached handle()
    reply = emulator.handle("send_sms2", {**seen, "query": "cost=1", "id": "3"})
    assert set(reply.fields) == {"cost", "cnt"}  # cost=1: the price only
