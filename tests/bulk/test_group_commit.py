"""Grouped journal commits: outcomes ride on the next commit, batches are opened several per commit.

Every commit is an fsync (synchronous=FULL): a run of 100 batches used to make 200. The promises kept:
a batch is durable as ``sending`` before its request leaves; an outcome lost in a crash leaves its batch
``sending`` and a resume reconciles it by status (nothing sent twice); the outcomes are committed when
the run ends or is interrupted, before the summary is read, and when the journal closes.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smsc_soap import SoapSmsc
from smsc_soap._bulk import journal as journal_module
from smsc_soap._bulk.async_driver import send_bulk_async
from smsc_soap._bulk.journal import FLUSH_OUTCOMES, FLUSH_SECONDS, Journal
from smsc_soap._bulk.ledger import BulkProgress, Ledger
from smsc_soap._bulk.session import BulkInterrupted, BulkSummary, journal_ahead, send_bulk
from smsc_soap._client.async_client import AsyncSoapSmsc
from smsc_soap.emulator import EmulatorServer, FaultPlan
from tests.cli.helpers import BULK_LOGIN, BULK_PSW

from .test_bulk import _exactly_once, _items


def _states(journal: Path) -> Counter[str]:
    with closing(sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return Counter(state for (state,) in db.execute("SELECT state FROM batch"))


def _sync(server: EmulatorServer, items: Any, **options: Any) -> BulkSummary:
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url, max_connections=14) as client:
        return send_bulk(client, items, **options)


def _async(server: EmulatorServer, items: Any, **options: Any) -> BulkSummary:
    async def main() -> BulkSummary:
        async with AsyncSoapSmsc(
            BULK_LOGIN, BULK_PSW, endpoint=server.url, max_connections=14
        ) as client:
            return await send_bulk_async(client, items, **options)

    return asyncio.run(main())


DRIVERS = {"sync": _sync, "async": _async}


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The COMMITs of every journal opened from now on (SQLite's own statement trace), one count."""
    count = [0]
    opened = Journal.__init__

    def counted(self: Journal, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)

        def trace(statement: str) -> None:
            if statement == "COMMIT":
                count[0] += 1

        self._db.set_trace_callback(trace)

    monkeypatch.setattr(Journal, "__init__", counted)
    return count


@pytest.fixture
def no_timed_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outcomes are committed by count, by the next commit or at the end, never by the clock."""
    monkeypatch.setattr(journal_module, "FLUSH_SECONDS", 3600.0)
    import smsc_soap._bulk.async_driver as async_driver

    monkeypatch.setattr(async_driver, "FLUSH_SECONDS", 3600.0)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _batch(message_id: str, item: int) -> dict[str, Any]:
    phone = f"7912{item:07d}"
    return {
        "message_id": message_id,
        "first_item": item,
        "end_item": item + 1,
        "messages": 1,
        "check_phone": phone,
        "request": {"query": {}, "list": f"{phone}:x", "items": [item]},
        "invalid": [],
    }


class _Book:
    """A journal with a commit counter and a second, independent reader of what is committed."""

    def __init__(self, path: Path, clock: _Clock) -> None:
        self.journal = Journal(path, clock=clock)
        self.journal.bind("key", None, resume=False)
        self.commits = 0
        self.journal._db.set_trace_callback(self._trace)
        self.path = path

    def _trace(self, statement: str) -> None:
        self.commits += statement == "COMMIT"

    def committed(self) -> dict[int, str]:
        """Each batch's state as another connection sees it: only what was committed."""
        with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return dict(db.execute("SELECT seq, state FROM batch").fetchall())

    def committed_errors(self) -> int:
        with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM item_error").fetchone()[0])


@pytest.fixture
def book(tmp_path: Path) -> Iterator[_Book]:
    opened = _Book(tmp_path / "run.db", _Clock())
    try:
        yield opened
    finally:
        opened.journal.close()


# ----- the journal ----------------------------------------------------------------------------------


def test_an_outcome_is_committed_with_the_next_batches_in_one_commit(book: _Book) -> None:
    """A deferred outcome (and its per-number failures) is invisible to other readers until the next
    opening commits it, in the same single commit as the two batches it opens."""
    journal = book.journal
    [first] = journal.add_batches([_batch("1", 0)])
    assert book.commits == 1
    journal.finish(
        first,
        "sent",
        parts=1,
        cost=Decimal("1.5"),
        phone_errors=[(0, "79120000000", "r", "")],
        defer=True,
    )
    assert journal.deferred == 1
    assert book.commits == 1 and book.committed() == {first: "sending"}
    assert book.committed_errors() == 0

    second, third = journal.add_batches([_batch("2", 1), _batch("3", 2)])
    assert book.commits == 2  # one commit: the outcome and both new batches
    assert journal.deferred == 0
    assert book.committed() == {first: "sent", second: "sending", third: "sending"}
    assert book.committed_errors() == 1


@pytest.mark.parametrize("write", ["split", "mark_attempt", "add_invalid"])
def test_every_durable_write_carries_the_deferred_outcomes(book: _Book, write: str) -> None:
    """A split, an attempt counted on resume and invalid items commit the waiting outcomes too."""
    journal = book.journal
    first, second = journal.add_batches([_batch("1", 0), _batch("2", 1)])
    journal.finish(first, "sent", defer=True)
    if write == "split":
        journal.split_batch(second, [_batch("2a", 1)])
    elif write == "mark_attempt":
        journal.mark_attempt(second)
    else:
        journal.add_invalid([(5, "invalid phones", "bad")])
    assert book.commits == 2
    assert book.committed()[first] == "sent"


def test_outcomes_are_committed_by_count_and_by_age(book: _Book) -> None:
    """FLUSH_OUTCOMES outcomes waiting, or the oldest FLUSH_SECONDS old: committed at that write."""
    journal = book.journal
    clock = journal._clock
    assert isinstance(clock, _Clock)
    seqs = journal.add_batches([_batch(str(n), n) for n in range(FLUSH_OUTCOMES + 2)])
    assert journal.flush_due_in() is None
    for seq in seqs[: FLUSH_OUTCOMES - 1]:
        journal.finish(seq, "sent", defer=True)
    assert book.commits == 1 and journal.deferred == FLUSH_OUTCOMES - 1
    assert journal.flush_due_in() == FLUSH_SECONDS
    journal.finish(seqs[FLUSH_OUTCOMES - 1], "sent", defer=True)  # the 64th
    assert book.commits == 2 and journal.deferred == 0

    journal.finish(seqs[FLUSH_OUTCOMES], "sent", defer=True)
    clock.now += FLUSH_SECONDS - 0.25
    assert journal.flush_due_in() == pytest.approx(0.25)
    assert book.commits == 2 and journal.deferred == 1
    clock.now += 0.25
    assert journal.flush_due_in() == 0.0
    journal.finish(seqs[FLUSH_OUTCOMES + 1], "sent", defer=True)  # the oldest is a second old
    assert book.commits == 3 and journal.deferred == 0
    assert set(book.committed().values()) == {"sent"}


def test_reads_and_close_commit_the_deferred_outcomes(tmp_path: Path) -> None:
    """Totals, unfinished batches and close() see (and commit) the outcomes still waiting."""
    path = tmp_path / "run.db"
    book = _Book(path, _Clock())
    journal = book.journal
    try:
        first, second, third = journal.add_batches([_batch(str(n), n) for n in range(3)])
        journal.finish(first, "sent", parts=1, cost=Decimal("2"), defer=True)
        assert journal.totals()["by_state"] == {"sent": (1, 1), "sending": (2, 2)}
        assert book.committed()[first] == "sent"
        journal.finish(second, "failed", error_class="X", error_code=7, defer=True)
        assert [r.seq for r in journal.unfinished()] == [third]
        journal.finish(third, "held", defer=True)
        assert journal.deferred == 1
    finally:
        journal.close()
    assert _states(path) == Counter({"sent": 1, "failed": 1, "held": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.db"]  # closed: one file


def test_a_failed_commit_keeps_the_outcomes_for_the_next(book: _Book) -> None:
    """A transaction that fails (a duplicate message id) rolls back; the outcome stays deferred."""
    journal = book.journal
    [first] = journal.add_batches([_batch("1", 0)])
    journal.finish(first, "sent", defer=True)
    with pytest.raises(sqlite3.IntegrityError):
        journal.add_batches([_batch("1", 1)])
    assert journal.deferred == 1 and book.committed() == {first: "sending"}
    journal.flush()
    assert journal.deferred == 0 and book.committed() == {first: "sent"}


def test_batches_are_journaled_a_group_of_slots_ahead() -> None:
    """As many batches as slots are kept journaled ahead (at most OPEN_AT_ONCE); more are journaled
    when half are used up."""
    assert journal_ahead(14) == (14, 7)
    assert journal_ahead(4) == (4, 2)
    assert journal_ahead(1) == (1, 0)
    assert journal_ahead(40) == (16, 8)


# ----- runs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["sync", "async"])
@pytest.mark.usefixtures("no_timed_flush")
def test_10000_messages_need_no_commit_for_their_outcomes(
    bulk_server: EmulatorServer, tmp_path: Path, commits: list[int], driver: str
) -> None:
    """100 batches used to take 200 commits (open + outcome each). Now outcomes add none and batches
    are journaled 14, then about 7 at a time: one commit for the first group, at most one per 7
    batches after it (fewer groups when several fill at once), plus bind, the last outcomes and
    close; the journal matches the service."""
    items = _items(10_000)
    summary = DRIVERS[driver](bulk_server, items, journal=tmp_path / "run.db", concurrency=14)
    assert summary.sent == 10_000 and summary.batches == 100 and summary.complete
    assert commits[0] <= 1 + -(-86 // 7) + 1 + 3  # 17, where it took 200
    assert _states(tmp_path / "run.db") == Counter({"sent": 100})
    assert len(bulk_server.messages) == 10_000


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_batches_opened_together_share_one_commit(
    bulk_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    driver: str,
) -> None:
    """With every send held by the service, 28 batches: the first 14 fill the 14 slots from one commit,
    made before any request leaves; the next 14 are journaled in one or two more commits while the
    slots are busy, and sent as slots free up."""
    groups: list[int] = []
    sending_at_open: list[int] = []
    requests_at_open: list[int] = []
    opened = Ledger.open_batches

    def open_batches(self: Ledger, chunks: Any) -> Any:
        requests_at_open.append(
            len([r for r in bulk_server.requests if r.operation == "send_sms2"])
        )
        batches = opened(self, chunks)
        groups.append(len(batches))
        sending_at_open.append(_states(self.journal.path)["sending"])  # durable before they leave
        return batches

    monkeypatch.setattr(Ledger, "open_batches", open_batches)
    bulk_server.inject(FaultPlan.hold(times=14, operations=["send_sms2"]))
    items = _items(280)
    result: list[BulkSummary] = []
    run = threading.Thread(
        target=lambda: result.append(
            DRIVERS[driver](
                bulk_server, items, journal=tmp_path / "run.db", batch_size=10, concurrency=14
            )
        )
    )
    run.start()
    try:
        assert bulk_server.wait_held(14, timeout=60)
    finally:
        bulk_server.release()
        run.join(timeout=60)
    assert groups[0] == 14 and sum(groups) == 28 and len(groups) <= 3  # not one commit each
    assert sending_at_open[0] == 14
    assert requests_at_open[0] == 0  # nothing had left before the first group was durable
    assert result[0].sent == 280 and result[0].complete
    _exactly_once(bulk_server, items)


def _copy_journal(journal: Path, into: Path) -> Path:
    """What a SIGKILL at this instant leaves on disk: the database file and its write-ahead log."""
    into.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{journal}{suffix}").exists():
            shutil.copy(f"{journal}{suffix}", into / f"{journal.name}{suffix}")
    return into / journal.name


@pytest.mark.parametrize("driver", ["sync", "async"])
@pytest.mark.usefixtures("no_timed_flush")
def test_a_crash_before_the_outcomes_are_committed_is_reconciled_on_resume(
    bulk_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    commits: list[int],
    driver: str,
) -> None:
    """The journal as a crash leaves it just before the final flush: the last outcomes are lost, their
    batches are 'sending'. Resumed after the service's duplicate window, they are found by status:
    nothing is sent twice. The resume takes them up in one commit."""
    journal = tmp_path / "run.db"
    crashed: list[Path] = []
    flush = Ledger.flush

    def copy_then_flush(self: Ledger) -> None:
        if not crashed:
            crashed.append(_copy_journal(journal, tmp_path / "crashed"))
        flush(self)

    monkeypatch.setattr(Ledger, "flush", copy_then_flush)
    items = _items(300)
    DRIVERS[driver](bulk_server, items, journal=journal, batch_size=10, concurrency=6)
    monkeypatch.setattr(Ledger, "flush", flush)
    _exactly_once(bulk_server, items)
    lost = _states(crashed[0])["sending"]
    assert lost >= 1  # the outcomes of the last replies were still waiting
    assert _states(crashed[0])["sent"] + lost == 30

    bulk_server.advance(61)  # the duplicate check no longer protects: only reconciling does
    sends = sum(r.operation == "send_sms2" for r in bulk_server.requests)
    before = commits[0]
    summary = DRIVERS[driver](
        bulk_server, items, journal=crashed[0], resume=True, batch_size=10, concurrency=14
    )
    assert summary.complete and summary.sent == 300 and summary.reconciled == lost
    assert sum(r.operation == "send_sms2" for r in bulk_server.requests) == sends
    assert sum(r.operation == "get_status" for r in bulk_server.requests) == lost
    # At most 6 lost (6 in flight after the last commit): bind, the lost batches marked as attempted again (one commit), their outcomes, close
    assert commits[0] - before == 4
    _exactly_once(bulk_server, items)


@pytest.mark.usefixtures("no_timed_flush")
def test_ctrl_c_commits_the_outcomes_of_the_requests_in_flight(
    bulk_server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C on the driver's thread: the requests in flight finish, and every outcome is committed
    by the run itself, before the summary is read or the journal closed."""
    journal = tmp_path / "run.db"
    at_interrupt: list[Counter[str]] = []
    totals = Ledger.totals

    def totals_seen_committed(self: Ledger) -> Any:
        at_interrupt.append(_states(journal))  # what another reader sees before the summary
        return totals(self)

    monkeypatch.setattr(Ledger, "totals", totals_seen_committed)

    def progress(p: BulkProgress) -> None:
        if p.batches_done == 3:
            raise KeyboardInterrupt

    items = _items(400)
    with pytest.raises(BulkInterrupted) as info:
        _sync(
            bulk_server, items, journal=journal, batch_size=10, concurrency=4, on_progress=progress
        )
    summary = info.value.summary
    assert at_interrupt[0] == Counter({"sent": summary.batches})
    assert summary.sent == len(bulk_server.messages) == summary.batches * 10
    assert summary.interrupted and not summary.complete
    monkeypatch.setattr(Ledger, "totals", totals)
    resumed = _sync(bulk_server, items, journal=journal, resume=True, batch_size=10)
    assert resumed.complete and resumed.reconciled == 0
    _exactly_once(bulk_server, items)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_the_summary_equals_the_journal_totals(
    bulk_server: EmulatorServer, tmp_path: Path, driver: str
) -> None:
    """Sent, invalid, refused numbers and batches in the summary are what the closed journal holds."""
    journal = tmp_path / "run.db"
    items: list[Any] = _items(250)
    items[17] = ("not-a-phone", "x")
    items[120] = ("79120000120", "")
    summary = DRIVERS[driver](bulk_server, items, journal=journal, batch_size=20)
    with closing(sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)) as db:
        batches, in_sent = db.execute(
            "SELECT COUNT(*), SUM(messages) FROM batch WHERE state = 'sent'"
        ).fetchone()
        invalid = db.execute("SELECT COUNT(*) FROM item_error WHERE seq IS NULL").fetchone()[0]
        refused = db.execute(
            "SELECT COUNT(DISTINCT item) FROM item_error WHERE seq IS NOT NULL"
        ).fetchone()[0]
        total_batches = db.execute("SELECT COUNT(*) FROM batch").fetchone()[0]
    assert summary.batches == total_batches == batches
    assert summary.invalid == invalid == 2
    assert summary.sent == in_sent - refused == len(bulk_server.messages) == 248
    assert summary.complete and summary.failed_total == invalid + refused


_KILLED_AT_FLUSH = """
import os, signal, sys
from smsc_soap import SoapSmsc
from smsc_soap._bulk.ledger import Ledger
from smsc_soap._bulk.session import send_bulk

def killed(self):  # the run is over, its last outcomes still wait: the process dies here
    os.kill(os.getpid(), signal.SIGKILL)

Ledger.flush = killed
url, journal, login, password = sys.argv[1:]
items = [(f"7912{i:07d}", f"Здравствуйте, Имя{i}!") for i in range(300)]
with SoapSmsc(login, password, endpoint=url) as client:
    send_bulk(client, items, journal=journal, batch_size=10, concurrency=6)
"""


@pytest.mark.slow
def test_a_process_killed_before_its_last_outcomes_are_committed_resumes_exactly_once(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """SIGKILL in a real process at the final flush: its last outcomes never reached the disk, and
    the resume (after the duplicate window) reconciles them by status, sending nothing twice."""
    import signal
    import subprocess
    import sys

    from tests.cli.helpers import cli_env

    journal = tmp_path / "run.db"
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_AT_FLUSH, encoding="utf-8")
    killed = subprocess.run(
        [sys.executable, str(script), bulk_server.url, str(journal), BULK_LOGIN, BULK_PSW],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    items = _items(300)
    _exactly_once(bulk_server, items)
    lost = _states(journal)["sending"]
    assert lost >= 1 and _states(journal)["sent"] + lost == 30

    bulk_server.advance(61)
    sends = sum(r.operation == "send_sms2" for r in bulk_server.requests)
    summary = _sync(bulk_server, items, journal=journal, resume=True, batch_size=10)
    assert summary.complete and summary.sent == 300 and summary.reconciled == lost
    assert sum(r.operation == "send_sms2" for r in bulk_server.requests) == sends
    _exactly_once(bulk_server, items)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_outcomes_are_committed_while_a_slow_request_is_still_in_flight(
    bulk_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    driver: str,
) -> None:
    """A long tail (one request held by the service) does not keep the other outcomes uncommitted:
    they are committed within FLUSH_SECONDS (shortened here) while it waits."""
    import smsc_soap._bulk.async_driver as async_driver
    from tests.helpers.fakes import wait_until

    monkeypatch.setattr(journal_module, "FLUSH_SECONDS", 0.05)
    monkeypatch.setattr(async_driver, "FLUSH_SECONDS", 0.05)
    journal = tmp_path / "run.db"
    bulk_server.inject(FaultPlan.hold(times=1, operations=["send_sms2"]))  # the first batch's
    items = _items(50)
    result: list[BulkSummary] = []
    run = threading.Thread(
        target=lambda: result.append(
            DRIVERS[driver](bulk_server, items, journal=journal, batch_size=10, concurrency=5)
        )
    )
    run.start()
    try:
        assert bulk_server.wait_held(1, timeout=60)
        wait_until(
            lambda: _states(journal) == Counter({"sent": 4, "sending": 1}),
            what="the outcomes of the four other batches to be committed",
        )
    finally:
        bulk_server.release()
        run.join(timeout=60)
    assert result[0].complete and result[0].sent == 50
    assert _states(journal) == Counter({"sent": 5})


# ----- journaled ahead ------------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_crash_after_batches_were_journaled_ahead_sends_each_once_on_resume(
    bulk_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    driver: str,
) -> None:
    """The journal as a crash leaves it right after a group was journaled ahead of the busy slots:
    14 batches in flight (held by the service), more 'sending' that never left. Resumed after the
    duplicate window, the first are found by status and the others, not found, are sent: once each."""
    journal = tmp_path / "run.db"
    crashed: list[Path] = []
    groups: list[int] = []
    opened = Ledger.open_batches

    def crash_after_the_second_group(self: Ledger, chunks: Any) -> Any:
        batches = opened(self, chunks)
        groups.append(len(batches))
        if len(groups) == 2:
            crashed.append(_copy_journal(journal, tmp_path / "crashed"))
            raise KeyboardInterrupt  # the run stops here; the copy is what a crash would leave
        return batches

    monkeypatch.setattr(Ledger, "open_batches", crash_after_the_second_group)
    bulk_server.inject(FaultPlan.hold(times=14, operations=["send_sms2"]))
    items = _items(280)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            DRIVERS[driver](bulk_server, items, journal=journal, batch_size=10, concurrency=14)
        except BaseException as exc:  # the interrupt, as BulkInterrupted
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert bulk_server.wait_held(14, timeout=60)
    finally:
        bulk_server.release()
        thread.join(timeout=60)
    assert crashed and isinstance(errors[0], KeyboardInterrupt)
    assert groups[0] == 14 and groups[1] >= 1  # in flight, and journaled ahead
    assert _states(crashed[0]) == Counter({"sending": 14 + groups[1]})
    monkeypatch.setattr(Ledger, "open_batches", opened)
    assert len(bulk_server.messages) == 140  # the first 14 batches only

    bulk_server.advance(61)  # the duplicate check no longer protects: only reconciling does
    summary = DRIVERS[driver](
        bulk_server, items, journal=crashed[0], resume=True, batch_size=10, concurrency=14
    )
    assert summary.complete and summary.sent == 280 and summary.reconciled == 14
    assert sum(r.operation == "get_status" for r in bulk_server.requests) == 14 + groups[1]
    _exactly_once(bulk_server, items)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_stopped_run_deletes_the_batches_it_journaled_ahead(tmp_path: Path, driver: str) -> None:
    """Money runs out after a few batches: the run stops, the batches journaled ahead that never left
    are deleted (nothing is left 'sending', nothing is counted unknown), and resume sends the rest
    once, with no status lookups for batches that never left."""
    from smsc_soap.emulator import Emulator
    from tests.cli.helpers import bulk_account

    emulator = Emulator([bulk_account("200.00")])
    journal = tmp_path / "run.db"
    items = _items(400)
    with EmulatorServer(emulator) as server:
        summary = DRIVERS[driver](server, items, journal=journal, batch_size=10, concurrency=4)
        assert type(summary.stopped_by).__name__ == "InsufficientFundsError"
        assert not summary.complete and summary.unknown == 0
        states = _states(journal)
        assert "sending" not in states and states["held"] >= 1
        assert sum(states.values()) < 40  # what was journaled ahead and not sent is gone
        # What the journal accounts for (the item that closed the last batch is read again).
        assert summary.items == sum(states.values()) * 10
        emulator.account(BULK_LOGIN).balance += Decimal("100000")
        statuses = sum(r.operation == "get_status" for r in server.requests)
        summary = DRIVERS[driver](server, items, journal=journal, resume=True, batch_size=10)
        assert summary.complete and summary.sent == 400
        # Only the held batches were looked up: never-sent batches left no row to reconcile.
        assert (
            sum(r.operation == "get_status" for r in server.requests) - statuses <= states["held"]
        )
        _exactly_once(server, items)
