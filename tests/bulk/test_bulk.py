"""send_bulk against the emulator: list batches, journal, reconcile-by-status, resume rules."""

from __future__ import annotations

import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from smsc_soap import SoapSmsc
from smsc_soap._bulk.journal import JournalError
from smsc_soap._bulk.session import BulkSummary, estimate_bulk, send_bulk
from smsc_soap._params.listmsg import ListMessage
from smsc_soap.emulator import EmulatorServer, FaultPlan
from tests.cli.helpers import BULK_LOGIN, BULK_PSW


def _client(server: EmulatorServer) -> SoapSmsc:
    return SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url)


def _items(count: int, start: int = 0) -> list[tuple[str, str]]:
    return [(f"7912{i:07d}", f"Здравствуйте, Имя{i}!") for i in range(start, start + count)]


def _delivered(server: EmulatorServer) -> Counter[tuple[str, str]]:
    return Counter((m.phones[0], m.text) for m in server.messages)


def _exactly_once(server: EmulatorServer, items: list[tuple[str, str]]) -> None:
    counts = _delivered(server)
    assert counts == Counter(items), "every item must be held exactly once"


def test_items_go_out_in_list_batches_exactly_once(bulk_server: EmulatorServer) -> None:
    """250 items with batch_size 40 make 7 list requests; every item is stored once."""
    items = _items(250)
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, batch_size=40, concurrency=3)
    _exactly_once(bulk_server, items)
    sends = [r for r in bulk_server.requests if r.operation == "send_sms2"]
    assert len(sends) == 7
    assert summary.complete and summary.sent == 250 and summary.batches == 7
    assert summary.parts == 250 and summary.cost == Decimal("487.50")
    assert summary.balance is not None and summary.failed == {}


def test_batches_respect_the_character_cap(bulk_server: EmulatorServer) -> None:
    """Long texts close a batch before max_batch_chars is exceeded."""
    items = [(f"7912{i:07d}", "я" * 900) for i in range(10)]
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, batch_size=100, max_batch_chars=1500)
    assert summary.batches == 10
    _exactly_once(bulk_server, items)


def test_invalid_items_and_rejected_numbers_are_counted(bulk_server: EmulatorServer) -> None:
    """Invalid items are journaled, not sent; a number the service rejects is a failure by status."""
    items: list[object] = [*_items(5), ("12ab", "bad number"), ("70000000022", "wrong number")]
    items.append(ListMessage("79120000099", "x" * 1001))
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, batch_size=100)  # type: ignore[arg-type]
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
        FaultPlan("drop_connection", operations={"send_sms2"}, after_processing=True)
    )
    items = _items(30)
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, batch_size=10, concurrency=1, retry_delay=0)
    _exactly_once(bulk_server, items)
    assert summary.reconciled == 1 and summary.complete
    assert summary.uncosted_batches == 1


def test_request_lost_before_processing_is_resent_once(bulk_server: EmulatorServer) -> None:
    """A send dropped before the service saw it is not found by status, so it is sent again."""
    bulk_server.inject(FaultPlan("drop_connection", operations={"send_sms2"}))
    items = _items(30)
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, batch_size=10, concurrency=1, retry_delay=0)
    _exactly_once(bulk_server, items)
    assert summary.complete and summary.reconciled == 0


def _forget_outcomes(journal: Path, seqs: tuple[int, ...]) -> None:
    """Make the journal look as if the process died after sending these batches."""
    with sqlite3.connect(journal) as db:
        db.executemany("UPDATE batch SET state = 'sending' WHERE seq = ?", [(s,) for s in seqs])


def test_resume_after_the_duplicate_window_reconciles_by_status(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """Batches left 'sending' are found by get_status after 61 s, when a resend would duplicate."""
    journal = tmp_path / "run.db"
    items = _items(40)
    with _client(bulk_server) as client:
        send_bulk(client, items, journal=journal, batch_size=10)
    _forget_outcomes(journal, (2, 4))
    bulk_server.advance(61)  # the service's duplicate check no longer covers these requests
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=10)
    _exactly_once(bulk_server, items)
    assert summary.reconciled == 2 and summary.complete and summary.sent == 40
    statuses = [r for r in bulk_server.requests if r.operation == "get_status"]
    assert len(statuses) == 2


def test_resume_sends_batches_the_service_never_saw(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A journaled batch whose message does not exist is sent on resume, with the same id."""
    journal = tmp_path / "run.db"
    items = _items(20)
    with _client(bulk_server) as client:
        send_bulk(client, items, journal=journal, batch_size=10)
    first_ids = {m.id for m in bulk_server.messages}
    _forget_outcomes(journal, (2,))
    bulk_server.reset()  # the service lost (never saw) everything: only batch 2 is unfinished
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=10)
    assert Counter(m.phones[0] for m in bulk_server.messages) == Counter(p for p, _ in items[10:])
    assert {m.id for m in bulk_server.messages} <= first_ids
    assert summary.complete


def test_resume_continues_after_the_last_batch(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """Items after the last journaled batch are read and sent on resume; earlier ones are skipped."""
    journal = tmp_path / "run.db"
    items = _items(50)

    def crashing() -> object:
        for index, item in enumerate(items):
            if index == 23:
                raise KeyboardInterrupt
            yield item

    with _client(bulk_server) as client, pytest.raises(KeyboardInterrupt) as info:
        send_bulk(client, crashing(), journal=journal, batch_size=10)  # type: ignore[arg-type]
    interrupted = info.value.summary  # type: ignore[attr-defined]
    assert isinstance(interrupted, BulkSummary) and interrupted.interrupted
    with _client(bulk_server) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=10)
    _exactly_once(bulk_server, items)
    assert summary.complete and summary.sent == 50


def test_journal_rules(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """A used journal refuses a new run; resume refuses another run's journal or a missing one."""
    journal = tmp_path / "run.db"
    with _client(bulk_server) as client:
        send_bulk(client, _items(3), journal=journal, run_key="a")
        with pytest.raises(JournalError, match="already holds a run"):
            send_bulk(client, _items(3), journal=journal, run_key="a")
        with pytest.raises(JournalError, match="another run"):
            send_bulk(client, _items(3), journal=journal, resume=True, run_key="b")
        with pytest.raises(JournalError, match="no journal"):
            send_bulk(client, _items(3), journal=tmp_path / "none.db", resume=True)


def test_stops_on_insufficient_funds_and_holds_the_rest(tmp_path: Path) -> None:
    """Running out of money stops the run; the held batch is sent on resume once money is added."""
    from smsc_soap.emulator import Emulator
    from tests.cli.helpers import bulk_account

    emulator = Emulator([bulk_account("10.00")])
    journal = tmp_path / "run.db"
    items = _items(12)
    with EmulatorServer(emulator) as server:
        with _client(server) as client:
            summary = send_bulk(client, items, journal=journal, batch_size=4, concurrency=1)
        assert type(summary.stopped_by).__name__ == "InsufficientFundsError"
        assert summary.held == 4 and not summary.complete
        emulator.account(BULK_LOGIN).balance += Decimal("100")
        with _client(server) as client:
            summary = send_bulk(client, items, journal=journal, resume=True, batch_size=4)
        assert summary.complete
        _exactly_once(server, items)


def test_estimate_counts_parts_and_cost() -> None:
    """estimate_bulk validates every item and prices parts without any request."""
    items: list[object] = [("79120000001", "a" * 161), ("79120000002,79120000003", "я"), ("x", "y")]
    estimate = estimate_bulk(items, price_per_part=Decimal("2"))  # type: ignore[arg-type]
    assert estimate.valid == 2 and estimate.invalid == {"invalid phones": 1}
    assert estimate.recipients == 3 and estimate.parts == 4 and estimate.cost == Decimal("8")


def test_concurrency_is_capped_below_the_service_limit(bulk_server: EmulatorServer) -> None:
    """15 or more concurrent requests are refused up front."""
    from smsc_soap import SmscValidationError

    with _client(bulk_server) as client, pytest.raises(SmscValidationError, match=r"1\.\.14"):
        send_bulk(client, _items(1), concurrency=15)


def test_journal_files_are_private(tmp_path: Path, bulk_server: EmulatorServer) -> None:
    """The journal and its WAL are created readable by their owner only (0600), whatever the umask."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        journal = tmp_path / "run.db"
        with _client(bulk_server) as client:
            summary = send_bulk(client, _items(3), journal=journal)
        assert summary.sent == 3
    finally:
        os.umask(old)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
