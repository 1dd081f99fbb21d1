"""Bulk runs that stop or are interrupted, and the resumes after them: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import pytest

from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap._bulk.async_driver import send_bulk_async
from smsc_soap._bulk.session import BulkProgress, BulkSummary, send_bulk
from smsc_soap.emulator import Emulator, EmulatorServer, FaultPlan
from tests.cli.helpers import BULK_LOGIN, BULK_PSW, bulk_account


def _sync(server: EmulatorServer, items: Any, **options: Any) -> BulkSummary:
    with SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client:
        return send_bulk(client, items, **options)


def _async(server: EmulatorServer, items: Any, **options: Any) -> BulkSummary:
    async def main() -> BulkSummary:
        async with AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client:
            return await send_bulk_async(client, items, **options)

    return asyncio.run(main())


Driver = Callable[..., BulkSummary]
drivers = pytest.mark.parametrize("run", [_sync, _async], ids=["sync", "async"])


def _items(count: int) -> list[tuple[str, str]]:
    return [(f"7912{i:07d}", f"Здравствуйте, Имя{i}!") for i in range(count)]


def _states(journal: Path) -> Counter[str]:
    with closing(sqlite3.connect(journal)) as db:
        return Counter(str(row[0]) for row in db.execute("SELECT state FROM batch"))


def _unsettle(journal: Path, state: str = "sending") -> None:
    """Make every batch of the journal look as if the process died right after journaling it
    (``sending``), or as if the run had stopped before sending any (``held``)."""
    with closing(sqlite3.connect(journal)) as db, db:
        db.execute("UPDATE batch SET state = ?, cost = NULL, parts = NULL", (state,))


@drivers
@pytest.mark.parametrize("left", ["sending", "held"])
def test_a_resume_that_stops_keeps_the_unfinished_batches_it_did_not_send(
    run: Driver, left: str, tmp_path: Path
) -> None:
    """A resume stopped (no money) while a previous session's batches wait for a sender keeps them:
    they are in the journal, not read again, so deleting them would lose their items. Those that
    were held are held again (not counted as unknown)."""
    emulator = Emulator([bulk_account()])
    journal = tmp_path / "run.db"
    items = _items(12)
    with EmulatorServer(emulator) as server:
        run(server, items, journal=journal, batch_size=1, concurrency=1)
        _unsettle(journal, left)  # 12 batches journaled, none known to have left (or none sent)
        server.reset()  # ...and the service never saw them
        account = emulator.account(BULK_LOGIN)
        account.balance = Decimal("0")
        stopped = run(server, items, journal=journal, resume=True, batch_size=1, concurrency=4)
        assert type(stopped.stopped_by).__name__ == "InsufficientFundsError"
        assert sum(_states(journal).values()) == 12, "every journaled batch is still there"
        assert stopped.items == 12 == _accounted(stopped)
        if left == "held":
            assert stopped.held == 12 and stopped.unknown == 0
        account.balance += Decimal("1000")
        summary = run(server, items, journal=journal, resume=True, batch_size=1, concurrency=4)
        assert summary.complete and summary.sent == 12
        assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(items)


def _interrupted_at(items: list[tuple[str, str]], index: int) -> Any:
    for position, item in enumerate(items):
        if position == index:
            raise KeyboardInterrupt
        yield item


@drivers
@pytest.mark.parametrize("index", [1, 7, 12, 29])
def test_an_interrupted_run_counts_the_items_its_journal_accounts_for(
    run: Driver, index: int, tmp_path: Path
) -> None:
    """Ctrl-C from the input: the summary's items are those the journal holds (sent, failed,
    invalid, unknown, held), not those read after the last journaled batch, which resume reads again."""
    emulator = Emulator([bulk_account()])
    journal = tmp_path / "run.db"
    items = [("12ab", t) if i % 3 == 0 else (p, t) for i, (p, t) in enumerate(_items(30))]
    options: dict[str, Any] = {"journal": journal, "batch_size": 5, "concurrency": 2}
    with EmulatorServer(emulator) as server:
        with pytest.raises(KeyboardInterrupt) as info:
            run(server, _interrupted_at(items, index), **options)
        stopped: BulkSummary = info.value.summary  # type: ignore[attr-defined]
        assert stopped.interrupted and not stopped.complete
        journaled = sum(_states(journal).values())
        accounted = stopped.sent + stopped.failed_total + stopped.unknown + stopped.held
        assert stopped.items == accounted
        assert stopped.sent + stopped.unknown + stopped.held == 5 * journaled
        summary = run(server, items, resume=True, **options)
        assert summary.complete and summary.items == 30
        assert summary.sent == 20 and summary.invalid == 10
        good = [item for item in items if item[0] != "12ab"]
        assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(good)


class _Outcomes(SimpleQueue[Any]):
    """The sync driver's queue of outcomes, telling a test how many senders handed one back."""

    def __init__(self) -> None:
        self.handed = 0
        self.cond = threading.Condition()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        if item is not None:
            with self.cond:
                self.handed += 1
                self.cond.notify_all()

    def wait_for(self, count: int) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.handed >= count, timeout=10)


def test_progress_never_reports_more_in_flight_than_the_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Senders that hand back outcomes and take the next batches while the driver commits: the
    outcomes waiting to be recorded are not requests in flight."""
    from smsc_soap._bulk import session as session_module

    emulator = Emulator([bulk_account()])
    offers: list[int] = []
    original = session_module._Runner._offer

    with EmulatorServer(emulator) as server:

        def offer(self: Any, batches: list[Any]) -> None:
            offers.append(len(batches))
            if len(offers) == 1:
                self.done = _Outcomes()
            elif len(offers) == 2:
                # The first three requests are out; their outcomes come back while this group is
                # being committed, and the senders take its batches before any is recorded.
                assert server.wait_held(3)
                server.release()
                assert self.done.wait_for(3)
                server.inject(FaultPlan.hold(times=len(batches), operations=["send_sms2"]))
                original(self, batches)
                assert server.wait_held(len(batches))
                return
            original(self, batches)

        monkeypatch.setattr(session_module._Runner, "_offer", offer)
        seen: list[int] = []

        def progress(report: BulkProgress) -> None:
            seen.append(report.in_flight)
            server.release()

        server.inject(FaultPlan.hold(times=3, operations=["send_sms2"]))
        summary = _sync(server, _items(12), batch_size=1, concurrency=3, on_progress=progress)
    assert summary.complete and summary.sent == 12
    assert len(offers) >= 2 and len(seen) == 12
    assert min(seen) >= 0 and max(seen) <= 3, seen


def _resumed_exactly_once(
    server: EmulatorServer, items: list[tuple[str, str]], **options: Any
) -> None:
    summary = _sync(server, items, resume=True, **options)
    assert summary.complete and summary.sent == len(items) == summary.items
    assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(items)


def _accounted(summary: BulkSummary) -> int:
    return summary.sent + summary.failed_total + summary.unknown + summary.held


def test_ctrl_c_after_a_commit_before_the_senders_see_its_batches_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C lands right after a group is committed, before all of it is handed to the senders:
    the batches waiting for a sender are not deleted from under the ones committed after them (a
    resume reads only the items after the last batch, so they would never be sent)."""
    from smsc_soap._bulk import session as session_module

    original = session_module._Runner._offer
    fired: list[int] = []

    def offer(self: Any, batches: list[Any]) -> None:
        if fired or len(batches) < 2:
            original(self, batches)
            return
        with self.cond:  # the first batch waits for a sender; the signal lands before the rest
            fired.append(len(batches))
            self.ready.append(batches[0])
            self.session.stop.set()  # (under the lock: no sender takes it first)
            raise KeyboardInterrupt

    monkeypatch.setattr(session_module._Runner, "_offer", offer)
    journal = tmp_path / "run.db"
    items = _items(40)
    options: dict[str, Any] = {"journal": journal, "batch_size": 1, "concurrency": 2}
    with EmulatorServer(Emulator([bulk_account()])) as server:
        with pytest.raises(KeyboardInterrupt) as info:
            _sync(server, items, **options)
        assert fired
        stopped: BulkSummary = info.value.summary  # type: ignore[attr-defined]
        assert stopped.items == _accounted(stopped) == sum(_states(journal).values())
        monkeypatch.setattr(session_module._Runner, "_offer", original)
        _resumed_exactly_once(server, items, **options)


def test_ctrl_c_inside_a_journal_commit_still_reports_and_resumes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C between a commit's BEGIN and its COMMIT: the run is interrupted with its summary (the
    half-done write is undone), not failed by the next write finding a transaction open."""
    from smsc_soap._bulk.journal import Journal

    original_exit = Journal._Tx.__exit__
    original_add = Journal.add_batches
    calls: list[int] = []

    def add_batches(self: Journal, batches: Any) -> list[int]:
        calls.append(len(batches))
        return original_add(self, batches)

    def tx_exit(self: Any, exc_type: object, *rest: object) -> None:
        if exc_type is None and len(calls) == 3:
            calls.append(0)
            raise KeyboardInterrupt  # before COMMIT: the transaction is left open
        original_exit(self, exc_type, *rest)

    monkeypatch.setattr(Journal, "add_batches", add_batches)
    monkeypatch.setattr(Journal._Tx, "__exit__", tx_exit)
    journal = tmp_path / "run.db"
    items = _items(30)
    options: dict[str, Any] = {"journal": journal, "batch_size": 2, "concurrency": 2}
    with EmulatorServer(Emulator([bulk_account()])) as server:
        with pytest.raises(KeyboardInterrupt) as info:
            _sync(server, items, **options)
        stopped: BulkSummary = info.value.summary  # type: ignore[attr-defined]
        assert stopped.interrupted and stopped.items == _accounted(stopped)
        monkeypatch.setattr(Journal._Tx, "__exit__", original_exit)
        _resumed_exactly_once(server, items, **options)


class _InterruptedQueue(SimpleQueue[Any]):
    """The outcomes queue, where Ctrl-C lands just after the driver took its second outcome."""

    def __init__(self) -> None:
        self.outcomes = 0

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        item = super().get(block, timeout)
        if item is not None:
            self.outcomes += 1
            if self.outcomes == 2:
                raise KeyboardInterrupt
        return item

    def get_nowait(self) -> Any:
        return self.get(False)


def test_ctrl_c_just_after_an_outcome_is_taken_does_not_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The interrupted run waits for the senders, not for a count of outcomes it will never see."""
    from smsc_soap._bulk import session as session_module

    original = session_module._Runner._offer

    def offer(self: Any, batches: list[Any]) -> None:
        if not isinstance(self.done, _InterruptedQueue):
            self.done = _InterruptedQueue()
        original(self, batches)

    monkeypatch.setattr(session_module._Runner, "_offer", offer)
    journal = tmp_path / "run.db"
    items = _items(20)
    options: dict[str, Any] = {"journal": journal, "batch_size": 2, "concurrency": 2}
    result: list[BaseException] = []
    with EmulatorServer(Emulator([bulk_account()])) as server:

        def run() -> None:
            try:
                _sync(server, items, **options)
            except BaseException as exc:  # the interrupt, with its summary
                result.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "the interrupted run hung waiting for an outcome"
        assert isinstance(result[0], KeyboardInterrupt)
        stopped: BulkSummary = result[0].summary  # type: ignore[attr-defined]
        assert stopped.interrupted and stopped.items == _accounted(stopped)
        monkeypatch.setattr(session_module._Runner, "_offer", original)
        _resumed_exactly_once(server, items, **options)


class _FullDisk:
    """A journal connection whose commits fail from the ``fail_at``-th on, as on a full disk."""

    def __init__(self, db: sqlite3.Connection, fail_at: int) -> None:
        self._db = db
        self._commits = 0
        self._fail_at = fail_at

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            self._commits += 1
            if self._commits >= self._fail_at:
                raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@drivers
def test_a_run_whose_journal_fills_the_disk_can_be_resumed(
    run: Driver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The disk fills mid-run: the run fails with the journal's error, sends nothing it has not
    committed, and leaves a journal a resume accepts (not one that reads as copied without its
    log), which then sends every message once."""
    from smsc_soap._bulk.journal import Journal

    original = Journal.__init__

    def full_disk(self: Journal, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._db = _FullDisk(self._db, fail_at=4)  # type: ignore[assignment]

    monkeypatch.setattr(Journal, "__init__", full_disk)
    journal = tmp_path / "run.db"
    items = _items(40)
    options: dict[str, Any] = {"journal": journal, "batch_size": 2, "concurrency": 2}
    with EmulatorServer(Emulator([bulk_account()])) as server:
        with pytest.raises(sqlite3.OperationalError, match="full"):
            run(server, items, **options)
        assert 0 < len(server.messages) < 40
        monkeypatch.setattr(Journal, "__init__", original)  # space freed
        summary = run(server, items, resume=True, **options)
        assert summary.complete and summary.sent == 40 == summary.items
        assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(items)


def test_cancelled_while_a_group_commits_on_the_journal_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The async run is cancelled while the journal thread commits a group ahead: the commit
    completes, its batches (never started) are deleted with the others journaled ahead, and the
    resume sends every message once."""
    from smsc_soap._bulk.ledger import Ledger

    original = Ledger.open_batches
    entered, proceed = threading.Event(), threading.Event()
    calls: list[int] = []

    committed: list[int] = []

    def open_batches(self: Ledger, chunks: Any) -> Any:
        calls.append(len(chunks))
        if len(calls) != 3:
            return original(self, chunks)
        entered.set()
        assert proceed.wait(10)
        batches = original(self, chunks)
        committed.extend(batch.seq for batch in batches)
        return batches

    monkeypatch.setattr(Ledger, "open_batches", open_batches)
    journal = tmp_path / "run.db"
    items = _items(60)
    options: dict[str, Any] = {"journal": journal, "batch_size": 2, "concurrency": 2}
    with EmulatorServer(Emulator([bulk_account()])) as server:

        async def main() -> None:
            async with AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url) as client:
                task = asyncio.create_task(send_bulk_async(client, items, **options))
                assert await asyncio.to_thread(entered.wait, 10)
                task.cancel()
                proceed.set()  # the commit completes while the run unwinds
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(main())
        assert committed, "the group was not committed"
        with closing(sqlite3.connect(journal)) as db:
            left = {seq for (seq,) in db.execute("SELECT seq FROM batch")}
        assert not left & set(committed), "the group committed during the cancel was not deleted"
        assert len(server.messages) <= 2 * len(left)
        monkeypatch.setattr(Ledger, "open_batches", original)
        summary = _async(server, items, resume=True, **options)
        assert summary.complete and summary.sent == 60 == summary.items
        assert Counter((m.phones[0], m.text) for m in server.messages) == Counter(items)


def test_async_progress_never_reports_more_in_flight_than_the_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch task frees its slot, the producer starts the next batch at once, and another task
    reports progress before the finished task is discarded (its completion callback still queued, as
    when a journal-thread reply lands in between): the finished task no longer counts."""
    from smsc_soap._bulk import async_driver

    original = async_driver._AsyncRunner.__init__

    class Slots(asyncio.Semaphore):
        def __init__(self, value: int, report: Callable[[], None]) -> None:
            super().__init__(value)
            self.report = report

        def release(self) -> None:
            super().release()
            asyncio.get_running_loop().call_soon(self.report)  # before the task is discarded

    def init(self: Any, client: Any, session: Any) -> None:
        original(self, client, session)
        self.slots = Slots(session.concurrency, session.ledger.progress)

    monkeypatch.setattr(async_driver._AsyncRunner, "__init__", init)
    seen: list[int] = []
    with EmulatorServer(Emulator([bulk_account()])) as server:
        server.inject(FaultPlan.latency(2, times=None, operations=["send_sms2"]))
        summary = _async(
            server,
            _items(60),
            batch_size=1,
            concurrency=3,
            on_progress=lambda report: seen.append(report.in_flight),
        )
    assert summary.complete and summary.sent == 60
    assert len(seen) >= 120
    assert min(seen) >= 0 and max(seen) <= 3, Counter(seen)
