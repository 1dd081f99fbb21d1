"""Bulk CPU: each line is checked once, each batch's query is encoded once and never decoded again."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc_soap import SoapSmsc
from smsc_soap._bulk import batcher
from smsc_soap._bulk.session import send_bulk
from smsc_soap._params import arguments, listmsg, options, query
from smsc_soap._params.arguments import recipients_of, send_fields
from smsc_soap._params.query import PreparedQuery, prepare_list_query, prepare_query
from smsc_soap.emulator import EmulatorServer, FaultPlan
from tests.cli.helpers import BULK_LOGIN, BULK_PSW, TEST_SENDER


def _items(count: int) -> list[tuple[str, ...]]:
    """Plain (phone, mes) pairs; every fifth item has its own sender (the full check's case)."""
    return [
        (f"7912{i:07d}", f"Здравствуйте, Имя{i}! A&B=100%", *((TEST_SENDER,) if i % 5 == 0 else ()))
        for i in range(count)
    ]


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: Counter[str]) -> None:
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        if name == "encode_value" and args[0] == "list" and "7912" in str(args[1]):
            calls["list encoded"] += 1  # a batch's list (not the run's up-front check of options)
        if name == "php_parse_str" and "list=" in args[0] and "7912" in args[0]:
            calls["list decoded"] += 1
        if name == "form_quote" and "7912" in str(args[0]):
            calls["list encoded"] += 1
        if name == "_list" and "7912" in str(args[0]):
            calls["list checked whole"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_each_line_checked_once_and_each_query_encoded_once(
    bulk_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """250 items in 5 batches, one batch retried: 250 line checks, 5 list encodings, no list checked
    again whole, no decoding, no envelope serialised by zeep."""
    calls: Counter[str] = Counter()
    _counting(monkeypatch, batcher, "line_for", calls)
    _counting(monkeypatch, listmsg, "_checked_line", calls)
    _counting(monkeypatch, listmsg, "normalise_recipients", calls)
    _counting(monkeypatch, query, "encode_value", calls)
    _counting(monkeypatch, query, "form_quote", calls)
    _counting(monkeypatch, options, "_list", calls)
    _counting(monkeypatch, arguments, "php_parse_str", calls)
    from smsc_soap._soap.protocol import Protocol

    _counting(monkeypatch, Protocol, "_zeep_build", calls)
    # The first send is lost before the service sees it: reconciled by status, then sent again.
    bulk_server.inject(FaultPlan("drop_connection", operations={"send_sms2"}))
    items = _items(250)
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=bulk_server.url) as client:
        summary = send_bulk(client, items, batch_size=50, concurrency=1, retry_delay=0)
    assert summary.complete and summary.sent == 250
    sends = [r for r in bulk_server.requests if r.operation == "send_sms2"]
    assert len(sends) == 6  # five batches, one of them twice
    assert calls["line_for"] == 250  # each item checked once...
    assert calls["_checked_line"] == calls["normalise_recipients"] == 50  # fully when not plain
    assert calls["list encoded"] == 5  # once per batch, not per attempt
    assert calls["list checked whole"] == 0  # its lines were checked one by one, once
    assert calls["list decoded"] == 0
    assert (
        calls["_zeep_build"] == 0
    )  # every batch (a prepared query) goes through the compiled writer
    delivered = Counter((m.phones[0], m.text) for m in bulk_server.messages)
    assert delivered == Counter((item[0], item[1]) for item in items)


def test_a_prepared_query_sends_what_the_mapping_would() -> None:
    """Fields and recipients from a prepared query equal those from the same mapping."""
    values = {"cost": "3", "err": "1", "list": "79120000001:a&b=1%\n79120000002,79120000003:я +"}
    prepared = prepare_query(values, "send_sms2")
    assert isinstance(prepared, PreparedQuery)
    plain, _ = send_fields("send_sms2", "", "", "id1", None, None, values)
    fast, _ = send_fields("send_sms2", "", "", "id1", None, None, prepared)
    assert fast == plain and isinstance(fast["query"], PreparedQuery)
    assert recipients_of(fast) == recipients_of(plain) == "79120000001,79120000002,79120000003"
    known = prepare_query(values, "send_sms2", recipients="79120000001")
    fields, _ = send_fields("send_sms2", "", "", "id1", None, None, known)
    assert recipients_of(fields) == "79120000001"


def test_a_prepared_query_is_still_checked() -> None:
    """Preparing checks keys and values like any query; options still merge with it."""
    from smsc_soap import SmscValidationError

    with pytest.raises(SmscValidationError, match="psw"):
        prepare_query({"psw": "x"}, "send_sms2")
    with pytest.raises(SmscValidationError, match="control character"):
        prepare_query({"list": "79120000001:a\x00"}, "send_sms2")
    prepared = prepare_query({"list": "79120000001:hi"}, "send_sms2")
    from smsc_soap import SendOptions

    fields, _ = send_fields(
        "send_sms2", "", "", "id1", None, None, prepared, SendOptions(translit=1)
    )
    assert fields["query"].startswith("translit=1&list=79120000001%3Ahi")
    with pytest.raises(SmscValidationError, match="must not set 'phones'"):
        send_fields(
            "send_sms2", "", "", "id1", None, None, prepare_query({"phones": "1"}, "get_sms_cost2")
        )


_PHONE_CHARS = st.sampled_from(list("0123456789+ -()G,;a"))
_MES_CHARS = st.sampled_from(list("aZ 09,.!&=%+<>яЁ👋\\\t\n\r\x00\x1f\x7f\u00a0\ud800\ufffe"))


@settings(max_examples=400, deadline=None)
@given(
    phones=st.one_of(
        st.text(_PHONE_CHARS, max_size=18), st.from_regex(r"\+?[0-9]{5,17}", fullmatch=True)
    ),
    mes=st.one_of(st.text(_MES_CHARS, max_size=12), st.text(max_size=30)),
    kind=st.sampled_from([None, "tg", "any", "mail"]),
    nl=st.booleans(),
)
def test_the_plain_line_fast_path_agrees_with_the_full_check(
    phones: str, mes: str, kind: str | None, nl: bool
) -> None:
    """Where the fast path answers, the full check gives the same line; elsewhere it decides alone."""
    from smsc_soap import SmscValidationError

    for item in ((phones, mes), listmsg.ListMessage(phones, mes)):
        plain = listmsg.plain_line(item, kind)
        try:
            full: str | None = listmsg._checked_line(0, item, kind, nl)
        except SmscValidationError:
            full = None
        if plain is not None:
            assert full == f"{plain[0]}:{plain[1]}"
        if full is not None:
            assert listmsg.encode_line(0, item, kind, nl) == full
        else:
            with pytest.raises(SmscValidationError):
                listmsg.encode_line(0, item, kind, nl)
        if kind is None and not nl and full is not None:  # bulk lines: nl off
            line = batcher.line_for(7, item)
            assert (line.text, line.mes) == (full, mes)
            assert ",".join(line.phones) == full.split(":", 1)[0]


def test_the_plain_line_fast_path_takes_the_common_case() -> None:
    """The common shapes are plain; a sender, a tz, a group, several numbers or a newline are not."""
    assert listmsg.plain_line(("79120000001", "Привет, Имя! 100% & <ok>")) == (
        "79120000001",
        "Привет, Имя! 100% & <ok>",
    )
    assert listmsg.plain_line(listmsg.ListMessage("+79120000001", "a")) == ("+79120000001", "a")
    for item in (
        ("79120000001", "a", "Shop"),
        listmsg.ListMessage("79120000001", "a", sender="Shop"),
        ("79120000001,79120000002", "a"),
        ("G12", "a"),
        ("+0912000000", "a"),
        ("79120000001", "a\nb"),
        ("79120000001", "a\\nb"),
        ("79120000001", " "),
        ("79120000001", "x" * 1001),
        (79120000001, "a"),
    ):
        assert listmsg.plain_line(item) is None, item
    assert listmsg.plain_line(("79120000001", "a"), "mail") is None


@settings(max_examples=200, deadline=None)
@given(
    base=st.dictionaries(
        st.sampled_from(["cost", "err", "subj", "param", "tinyurl", "charset_x"]),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
        max_size=4,
    ),
    lines=st.lists(
        st.tuples(
            st.from_regex(r"7[0-9]{10}", fullmatch=True),
            st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_a_batch_query_is_what_prepare_query_makes(
    base: dict[str, str], lines: list[tuple[str, str]]
) -> None:
    """A batch's query (base checked once, list only encoded) equals the fully checked one."""
    from smsc_soap import SmscValidationError

    base = {k: v for k, v in base.items() if not (k in ("cost", "err") and v not in ("0", "1"))}
    items = [(phone, mes) for phone, mes in lines if listmsg.plain_line((phone, mes))]
    if not items:
        return
    text = "\n".join(f"{phone}:{mes}" for phone, mes in items)
    numbers = ",".join(phone for phone, _ in items)
    try:
        full = prepare_query({**base, "list": text}, "send_sms2", recipients=numbers)
    except SmscValidationError:
        with pytest.raises(SmscValidationError):
            prepare_list_query(base, text, recipients=numbers)
        return
    fast = prepare_list_query(base, text, recipients=numbers)
    assert str(fast) == str(full)
    assert (fast.values, fast.recipients, fast.operation) == (full.values, numbers, "send_sms2")


def test_a_batch_query_base_is_checked_and_never_holds_a_list() -> None:
    """The base is checked like any query (once); a list in it is refused."""
    from smsc_soap import SmscValidationError

    with pytest.raises(SmscValidationError, match="psw"):
        prepare_list_query({"psw": "x"}, "79120000001:a", recipients="79120000001")
    with pytest.raises(SmscValidationError, match="cost"):
        prepare_list_query({"cost": "1"}, "79120000001:a", recipients="79120000001")
    with pytest.raises(SmscValidationError, match="list"):
        prepare_list_query({"LIST": "x"}, "79120000001:a", recipients="79120000001")
