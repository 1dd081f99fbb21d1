"""send_bulk_async against the emulator: the asyncio driver keeps every promise of send_bulk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from smsc_soap._bulk.async_driver import send_bulk_async
from smsc_soap._bulk.journal import JournalError
from smsc_soap._bulk.session import BulkInterrupted, BulkProgress, BulkSummary
from smsc_soap._client.async_client import AsyncSoapSmsc
from smsc_soap._params.listmsg import ListMessage
from smsc_soap.emulator import Emulator, EmulatorServer, FaultPlan, ManualClock
from tests.cli.helpers import BULK_LOGIN, BULK_PSW, bulk_account
from tests.helpers.fakes import wait_until

from .test_bulk import _exactly_once, _forget_outcomes, _items

T = TypeVar("T")


def _client(server: EmulatorServer) -> AsyncSoapSmsc:
    return AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url)


def _bulk(server: EmulatorServer, items: Any, **options: Any) -> BulkSummary:
    """Run send_bulk_async to completion in a fresh event loop, with its own client."""

    async def main() -> BulkSummary:
        async with _client(server) as client:
            return await send_bulk_async(client, items, **options)

    return asyncio.run(main())


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _states(journal: Path) -> Counter[str]:
    # A sqlite3 connection used as a context manager only commits; closing() closes it too
    # (Python 3.13 reports an unclosed one as a ResourceWarning).
    with closing(sqlite3.connect(journal)) as db, db:
        rows = db.execute("SELECT state FROM batch").fetchall()
    return Counter(state for (state,) in rows)


def test_items_go_out_in_list_batches_exactly_once(bulk_server: EmulatorServer) -> None:
    """250 items with batch_size 40 make 7 list requests from one loop; every item is stored once."""
    items = _items(250)
    summary = _bulk(bulk_server, items, batch_size=40, concurrency=3)
    _exactly_once(bulk_server, items)
    sends = [r for r in bulk_server.requests if r.operation == "send_sms2"]
    assert len(sends) == 7
    assert summary.complete and summary.sent == 250 and summary.batches == 7
    assert summary.parts == 250 and summary.cost == Decimal("487.50")
    assert summary.balance is not None and summary.failed == {}


def test_batches_in_flight_never_exceed_concurrency(tmp_path: Path) -> None:
    """With latency, the run keeps several batches in flight, never more than ``concurrency``."""
    emulator = Emulator([bulk_account()], clock=ManualClock())
    seen: list[int] = []
    items = _items(120)
    with EmulatorServer(emulator, latency_ms=20) as server:
        summary = _bulk(
            server,
            items,
            batch_size=10,
            concurrency=3,
            on_progress=lambda p: seen.append(p.in_flight),
        )
        _exactly_once(server, items)
    assert summary.complete and len(seen) == 12
    assert max(seen) <= 3 and max(seen) >= 1


def test_batches_respect_the_character_cap(bulk_server: EmulatorServer) -> None:
    """Long texts close a batch before max_batch_chars is exceeded."""
    items = [(f"7912{i:07d}", "я" * 900) for i in range(10)]
    summary = _bulk(bulk_server, items, batch_size=100, max_batch_chars=1500)
    assert summary.batches == 10
    _exactly_once(bulk_server, items)


def test_invalid_items_and_rejected_numbers_are_counted(bulk_server: EmulatorServer) -> None:
    """Invalid items are journaled, not sent; a number the service rejects is a failure by status."""
    items: list[object] = [*_items(5), ("12ab", "bad number"), ("70000000022", "wrong number")]
    items.append(ListMessage("79120000099", "x" * 1001))
    summary = _bulk(bulk_server, items, batch_size=100)
    assert summary.invalid == 2
    assert summary.failed == {
        "invalid mes": 1,
        "invalid phones": 1,
        "status 22 (wrong number)": 1,
    }
    assert summary.sent == 5 and summary.complete


def test_reply_lost_after_processing_is_reconciled_not_resent(
    bulk_server: EmulatorServer,
) -> None:
    """A send whose reply is dropped after the service stored it is confirmed by status, not resent."""
    bulk_server.inject(
        FaultPlan("drop_connection", operations=frozenset({"send_sms2"}), after_processing=True)
    )
    items = _items(30)
    summary = _bulk(bulk_server, items, batch_size=10, concurrency=1, retry_delay=0)
    _exactly_once(bulk_server, items)
    assert summary.reconciled == 1 and summary.complete
    assert summary.uncosted_batches == 1


def test_request_lost_before_processing_is_resent_once(bulk_server: EmulatorServer) -> None:
    """A send dropped before the service saw it is not found by status, so it is sent again."""
    bulk_server.inject(FaultPlan("drop_connection", operations=frozenset({"send_sms2"})))
    items = _items(30)
    summary = _bulk(bulk_server, items, batch_size=10, concurrency=1, retry_delay=0)
    _exactly_once(bulk_server, items)
    assert summary.complete and summary.reconciled == 0


def test_resume_after_the_duplicate_window_reconciles_by_status(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Batches left 'sending' are found by get_status after 61 s, when a resend would duplicate."""
    journal = tmp_path / "run.db"
    items = _items(40)
    _bulk(bulk_server, items, journal=journal, batch_size=10)
    _forget_outcomes(journal, (2, 4))
    bulk_server.advance(61)
    summary = _bulk(bulk_server, items, journal=journal, resume=True, batch_size=10)
    _exactly_once(bulk_server, items)
    assert summary.reconciled == 2 and summary.complete and summary.sent == 40
    statuses = [r for r in bulk_server.requests if r.operation == "get_status"]
    assert len(statuses) == 2


def test_cancelled_mid_run_then_resumed_sends_every_item_once(tmp_path: Path) -> None:
    """Cancelled with two sends in flight, the journal holds them 'sending'; resume finds them by status."""
    emulator = Emulator([bulk_account()], clock=ManualClock())
    journal = tmp_path / "run.db"
    items = _items(200)

    async def cancelled(server: EmulatorServer) -> None:
        async with _client(server) as client:

            def progress(p: BulkProgress) -> None:
                if p.batches_done == 3:
                    run.cancel()

            run = asyncio.create_task(
                send_bulk_async(
                    client,
                    items,
                    journal=journal,
                    batch_size=10,
                    concurrency=4,
                    on_progress=progress,
                )
            )
            with pytest.raises(asyncio.CancelledError):
                await run

    with EmulatorServer(emulator, latency_ms=10) as server:
        # The first two sends are held: they are in flight when the third batch is done.
        server.inject(FaultPlan.hold(times=2, operations=["send_sms2"]))
        _run(cancelled(server))
        states = _states(journal)
        assert states["sent"] >= 3 and states["sending"] >= 2 and set(states) == {"sent", "sending"}
        assert len(server.messages) < len(items)
        # The service completes the two held sends the cancelled run gave up on.
        assert server.release() == 2
        wait_until(
            lambda: all(r.reason for r in server.requests if r.operation == "send_sms2"),
            what="the held sends to be processed",
        )
        summary = _bulk(server, items, journal=journal, resume=True, batch_size=10, concurrency=4)
        _exactly_once(server, items)
        assert summary.complete and summary.sent == 200 and summary.unknown == 0
        assert summary.reconciled >= 2
        server.check()


def test_resume_continues_after_an_interrupt_from_the_input(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A KeyboardInterrupt from the input becomes BulkInterrupted; resume sends the rest once."""
    journal = tmp_path / "run.db"
    items = _items(50)

    def crashing() -> Iterator[tuple[str, str]]:
        for index, item in enumerate(items):
            if index == 23:
                raise KeyboardInterrupt
            yield item

    with pytest.raises(BulkInterrupted) as info:
        _bulk(bulk_server, crashing(), journal=journal, batch_size=10)
    assert info.value.summary.interrupted and not info.value.summary.complete
    # Whatever was journaled was sent; batches still being read ahead when the input broke were
    # never journaled, and resume reads them again.
    assert set(_states(journal)) <= {"sent"}
    summary = _bulk(bulk_server, items, journal=journal, resume=True, batch_size=10)
    _exactly_once(bulk_server, items)
    assert summary.complete and summary.sent == 50


def test_journal_rules(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A used journal refuses a new run; resume refuses another run's journal or a missing one."""
    journal = tmp_path / "run.db"
    _bulk(bulk_server, _items(3), journal=journal, run_key="a")
    with pytest.raises(JournalError, match="already holds a run"):
        _bulk(bulk_server, _items(3), journal=journal, run_key="a")
    with pytest.raises(JournalError, match="another run"):
        _bulk(bulk_server, _items(3), journal=journal, resume=True, run_key="b")
    with pytest.raises(JournalError, match="no journal"):
        _bulk(bulk_server, _items(3), journal=tmp_path / "none.db", resume=True)


def test_stops_on_insufficient_funds_and_holds_the_rest(tmp_path: Path) -> None:
    """Running out of money stops the run; the held batch is sent on resume once money is added."""
    emulator = Emulator([bulk_account("10.00")])
    journal = tmp_path / "run.db"
    items = _items(12)
    with EmulatorServer(emulator) as server:
        summary = _bulk(server, items, journal=journal, batch_size=4, concurrency=1)
        assert type(summary.stopped_by).__name__ == "InsufficientFundsError"
        assert summary.held == 4 and not summary.complete
        emulator.account(BULK_LOGIN).balance += Decimal("100")
        summary = _bulk(server, items, journal=journal, resume=True, batch_size=4)
        assert summary.complete
        _exactly_once(server, items)


def test_concurrency_is_capped_below_the_service_limit(bulk_server: EmulatorServer) -> None:
    """15 or more concurrent requests are refused up front, before any request."""
    from smsc_soap import SmscValidationError

    with pytest.raises(SmscValidationError, match=r"1\.\.14"):
        _bulk(bulk_server, _items(1), concurrency=15)
    assert bulk_server.requests == []
