"""A batch refused whole with error 6: its refused rows are isolated by splitting, the rest go once.

The emulator marks a forbidden line of a ``list`` with status 23 and sends the others (R6); it refuses
a whole list with error 6 only when every line is forbidden (an unregistered sender for the whole
request, say). :class:`WholeListRefusal` is the emulator with a stricter reading of the service: one
spam-filtered line refuses the whole request with error 6, which is what the client must survive.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from smsc_soap import AsyncSoapSmsc, MessageForbiddenError, SoapSmsc
from smsc_soap._bulk.async_driver import send_bulk_async
from smsc_soap._bulk.plan import (
    MAX_SPLIT_REQUESTS,
    Batch,
    Finish,
    Outcome,
    PlanPolicy,
    Send,
    Split,
    Step,
    delivery_plan,
)
from smsc_soap._bulk.session import BulkSummary, drive, send_bulk
from smsc_soap._params.query import php_parse_str
from smsc_soap.emulator import Emulator, EmulatorServer, Forbidden, ManualClock, Reply
from tests.cli.helpers import BULK_LOGIN, BULK_PSW, bulk_account

SPAM = "spamtest"  # the emulator's default spam word
REFUSED = "MessageForbiddenError (6)"


class WholeListRefusal(Emulator):
    """The emulator, except that a ``list`` holding one spam-filtered line is refused whole (error 6)."""

    def handle(
        self,
        operation: str,
        fields: Mapping[str, str | None],
        ip: str = "127.0.0.1",
        *,
        crowded: bool = False,
    ) -> Reply:
        if operation == "send_sms2":
            listing = php_parse_str(fields.get("query") or "").get("list", "")
            bad = [line for line in listing.split("\n") if SPAM in line.lower()]
            if bad:
                raise Forbidden(f"list line {bad[0][:24]!r} is spam", id=fields.get("id") or None)
        return super().handle(operation, fields, ip, crowded=crowded)


@pytest.fixture
def strict_server() -> Iterator[EmulatorServer]:
    """A whole-list-refusing emulator (ManualClock) with the bulk account, on 127.0.0.1."""
    with EmulatorServer(WholeListRefusal([bulk_account()], clock=ManualClock())) as server:
        yield server
        server.check()


def _items(count: int, bad: tuple[int, ...]) -> list[tuple[str, str]]:
    return [
        (f"7912{i:07d}", f"Offer {i}: {SPAM}" if i in bad else f"Hello, customer {i}!")
        for i in range(count)
    ]


def _sends(server: EmulatorServer) -> list[Any]:
    return [r for r in server.requests if r.operation == "send_sms2"]


def _sent_id(body: bytes) -> str:
    from lxml import etree

    found = etree.fromstring(body).xpath("//*[local-name()='id']/text()")
    assert len(found) == 1
    return str(found[0])


def _check_isolated(
    server: EmulatorServer,
    items: list[tuple[str, str]],
    bad: tuple[int, ...],
    summary: BulkSummary,
    *,
    resumed: bool = False,
) -> None:
    """Every good row delivered exactly once, every bad row refused and reported with code 6."""
    delivered = Counter((m.phones[0], m.text) for m in server.messages)
    good = [item for i, item in enumerate(items) if i not in bad]
    assert delivered == Counter(good)
    assert summary.sent == len(good) and summary.failed == {REFUSED: len(bad)}
    assert summary.complete and summary.stopped_by is None and summary.split > 0
    if not resumed:  # a resume resends, with its own id, a part that status did not find
        ids = [_sent_id(r.body) for r in _sends(server)]
        assert len(ids) == len(set(ids)), "every part is sent with a new id"


@pytest.mark.parametrize(
    "bad",
    [(37, 211), (10, 80)],
    ids=["two-batches", "same-batch-both-halves"],
)
def test_two_refused_rows_of_300_are_isolated(
    strict_server: EmulatorServer, bad: tuple[int, ...]
) -> None:
    """2 bad rows of 300: 298 delivered once, the 2 reported with code 6, within the split budget."""
    items = _items(300, bad)
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
        summary = send_bulk(client, items, batch_size=100, concurrency=2)
    _check_isolated(strict_server, items, bad, summary)
    assert len(_sends(strict_server)) <= 3 + 2 * MAX_SPLIT_REQUESTS


def test_two_refused_rows_of_300_are_isolated_async(strict_server: EmulatorServer) -> None:
    """The asyncio driver isolates the refused rows alike."""
    bad = (10, 80)
    items = _items(300, bad)

    async def run() -> BulkSummary:
        async with AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
            return await send_bulk_async(client, items, batch_size=100, concurrency=2)

    _check_isolated(strict_server, items, bad, asyncio.run(run()))


def _forget_parts(journal: Path) -> int:
    """Make the journal look as if the process died after journaling the parts, before any outcome."""
    with closing(sqlite3.connect(journal)) as db, db:
        db.execute("UPDATE batch SET state = 'sending' WHERE state != 'split'")
        return int(db.execute("SELECT COUNT(*) FROM batch WHERE state = 'split'").fetchone()[0])


def test_split_parts_are_journaled_and_resume_sends_nothing_twice(
    strict_server: EmulatorServer, tmp_path: Path
) -> None:
    """Parts are journaled with their own ids; after a crash, resume reconciles them: once each."""
    journal = tmp_path / "run.db"
    bad = (5, 170)
    items = _items(200, bad)
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
        send_bulk(client, items, journal=journal, batch_size=100)
    assert _forget_parts(journal) > 0
    strict_server.advance(61)  # past the duplicate window: only status can tell what was sent
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=100)
    _check_isolated(strict_server, items, bad, summary, resumed=True)
    assert summary.reconciled > 0


def test_refusal_for_the_whole_account_stops_the_run(tmp_path: Path) -> None:
    """An unregistered sender refuses every part alike: 5 requests, the run stops, rows held."""
    emulator = Emulator([bulk_account()], clock=ManualClock())
    journal = tmp_path / "run.db"
    items = _items(40, ())
    with EmulatorServer(emulator) as server:
        with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client:
            summary = send_bulk(
                client, items, journal=journal, batch_size=20, concurrency=1, sender="NoSuchName"
            )
        assert isinstance(summary.stopped_by, MessageForbiddenError)
        assert len(_sends(server)) == 5  # the batch, its halves, the first half's halves
        assert not summary.complete and summary.held == 20 and summary.sent == 0
        assert server.messages == []
        emulator.account(BULK_LOGIN).senders |= {"NoSuchName"}
        server.advance(61)
        with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client:
            summary = send_bulk(
                client, items, journal=journal, resume=True, batch_size=20, sender="NoSuchName"
            )
        assert summary.complete and summary.sent == 40
        assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(items)


def test_other_refusal_codes_are_not_split(bulk_server: EmulatorServer) -> None:
    """A list refused whole with another code (7: no valid number) is one failed batch, no split."""
    items = [("70000000022", f"hello {i}") for i in range(6)]  # a number the emulator calls wrong
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=bulk_server.url) as client:
        summary = send_bulk(client, items, batch_size=100)
    assert len(_sends(bulk_server)) == 1 and summary.split == 0
    assert summary.failed == {"InvalidPhoneError (7)": 6}


# ---------------------------------------------------------------------------- the plan on its own


def _isolate(size: int, bad: set[int], policy: PlanPolicy) -> tuple[Outcome, int]:
    """Run the plan of one ``size``-line batch against a service refusing any part holding ``bad``."""
    import threading

    sends = 0

    def perform(step: Step) -> object:
        nonlocal sends
        if isinstance(step, Send):
            sends += 1
            if any(item in bad for item, _ in step.batch.lines):
                raise MessageForbiddenError(6, operation="send_sms2")
            return _Accepted()
        if isinstance(step, Split):
            return [
                Batch(
                    0, f"part{sends}-{n}", {}, "79120000000", [step.batch.lines[i] for i in group]
                )
                for n, group in enumerate(step.groups)
            ]
        assert isinstance(step, Finish)
        return 0

    lines = [(i, (f"7912{i:07d}",)) for i in range(size)]
    batch = Batch(1, "whole", {}, "79120000000", lines)
    return drive(delivery_plan(batch, policy, threading.Event()), perform), sends


class _Accepted:
    cnt = 1
    cost = None
    balance = None
    errors: tuple[Any, ...] = ()


def test_every_pair_of_bad_rows_in_100_is_isolated_within_the_budget() -> None:
    """For each of the 4,950 placements of 2 bad rows in a batch of 100: both isolated, 98 sent."""
    worst = 0
    for first in range(100):
        for second in range(first + 1, 100):
            outcome, sends = _isolate(100, {first, second}, PlanPolicy(retry_delay=0))
            worst = max(worst, sends - 1)
            by_state: Counter[str] = Counter()
            for part, part_outcome, _ in outcome.results:
                by_state[part_outcome.state] += len(part.lines)
            assert by_state == {"sent": 98, "failed": 2}, (first, second)
    assert worst <= MAX_SPLIT_REQUESTS


def test_the_budget_bounds_extra_requests() -> None:
    """Many bad rows: at most MAX_SPLIT_REQUESTS extra requests; unresolved rows fail with code 6."""
    bad = set(range(50, 100, 3))  # 17 bad rows, all in the second half
    outcome, sends = _isolate(100, bad, PlanPolicy(retry_delay=0))
    assert sends - 1 <= MAX_SPLIT_REQUESTS
    states: Counter[str] = Counter()
    for part, part_outcome, _ in outcome.results:
        states[part_outcome.state] += len(part.lines)
        if part_outcome.state == "sent":
            assert not bad & {item for item, _ in part.lines}
    assert states["sent"] + states["failed"] == 100 and states["failed"] >= len(bad)


def test_bad_rows_in_every_quarter_look_account_wide() -> None:
    """Both halves and both quarters of the first half refused: held, no further requests."""
    outcome, sends = _isolate(100, set(range(0, 100, 7)), PlanPolicy(retry_delay=0))
    assert sends == 5
    assert {part_outcome.state for _, part_outcome, _ in outcome.results} == {"held"}
    assert sum(len(part.lines) for part, _, _ in outcome.results) == 100


def test_settle_lists_each_row_of_a_split_batch_once(
    strict_server: EmulatorServer, tmp_path: Path
) -> None:
    """Settling a run with split batches: one CSV line per row, the refused ones not sent, code 6."""
    import csv

    from smsc_soap._bulk.settle import settle_bulk

    journal, out = tmp_path / "run.db", tmp_path / "settled.csv"
    bad = (3, 40)
    items = _items(60, bad)
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
        send_bulk(client, items, journal=journal, batch_size=60)
        settle_bulk(client, journal, out, poll=False)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(row["item"]) - 1 for row in rows) == list(range(60))
    refused = {int(row["item"]) - 1: row for row in rows if not row["id"]}
    assert set(refused) == set(bad)
    assert all("error 6" in row["error"] for row in refused.values())
    assert len({row["id"] for row in rows if row["id"]}) > 1  # the parts' own ids


def test_interrupted_right_after_a_split_is_journaled(
    strict_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C just after the parts are committed, before any is sent: resume sends each part once."""
    from smsc_soap._bulk.ledger import Ledger

    split = Ledger.split

    def split_then_interrupt(self: Ledger, *args: Any, **kwargs: Any) -> list[Batch]:
        split(self, *args, **kwargs)  # committed: the parts exist in the journal, none sent
        raise KeyboardInterrupt

    journal = tmp_path / "run.db"
    bad = (7,)
    items = _items(50, bad)
    monkeypatch.setattr(Ledger, "split", split_then_interrupt)
    with (
        SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        send_bulk(client, items, journal=journal, batch_size=50, concurrency=1)
    monkeypatch.setattr(Ledger, "split", split)
    assert strict_server.messages == []
    with closing(sqlite3.connect(journal)) as db:
        states = Counter(state for (state,) in db.execute("SELECT state FROM batch"))
    assert states == {"split": 1, "sending": 2}
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=strict_server.url) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=50)
    _check_isolated(strict_server, items, bad, summary, resumed=True)


def test_refusal_for_the_whole_account_stops_the_async_run() -> None:
    """The asyncio driver stops alike on an account-wide refusal: 5 requests, rows held."""
    emulator = Emulator([bulk_account()], clock=ManualClock())
    items = _items(40, ())

    async def run(url: str) -> BulkSummary:
        async with AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=url) as client:
            return await send_bulk_async(
                client, items, batch_size=20, concurrency=1, sender="NoSuchName"
            )

    with EmulatorServer(emulator) as server:
        summary = asyncio.run(run(server.url))
        assert isinstance(summary.stopped_by, MessageForbiddenError)
        assert len(_sends(server)) == 5 and server.messages == []
        assert summary.held == 20 and summary.sent == 0 and not summary.complete
