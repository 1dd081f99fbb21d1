"""The bulk journal: a resume needs a run (never row 0 again), the journal's account, one closed file."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from smsc_soap import SmscValidationError, SoapSmsc
from smsc_soap._bulk.async_driver import send_bulk_async
from smsc_soap._bulk.journal import Journal, JournalError, account_digest
from smsc_soap._bulk.session import send_bulk
from smsc_soap.emulator import Account, Emulator, EmulatorServer, ManualClock
from tests.cli.helpers import BULK_LOGIN, BULK_PSW, bulk_account

OTHER_LOGIN = "other"
OTHER_PSW = "Other-PSW-51d0aa"
OTHER_APIKEY = "Other-APIKEY-0b7c55e1"


def _items(count: int) -> list[tuple[str, str]]:
    return [(f"7912{i:07d}", f"Код {i}") for i in range(count)]


@pytest.fixture
def two_accounts() -> Iterator[EmulatorServer]:
    """An emulator with the bulk account and a second one (login/password and an API key)."""
    other = Account(
        OTHER_LOGIN, OTHER_PSW, apikey=OTHER_APIKEY, balance=Decimal("100000"), senders=frozenset()
    )
    emulator = Emulator([bulk_account(), other], clock=ManualClock())
    with EmulatorServer(emulator) as server:
        yield server
        server.check()


def _bulk_client(server: EmulatorServer) -> SoapSmsc:
    return SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=server.url)


@pytest.mark.parametrize("kind", ["empty file", "sqlite without our tables", "tables, no run"])
def test_resume_of_a_journal_without_a_run_is_refused(
    bulk_server: EmulatorServer, tmp_path: Path, kind: str
) -> None:
    """An empty file, a foreign SQLite file or a journal that never started a run: refused, nothing sent."""
    journal = tmp_path / "run.db"
    if kind == "empty file":
        journal.write_bytes(b"")
    elif kind == "sqlite without our tables":
        with closing(sqlite3.connect(journal)) as db, db:
            db.execute("CREATE TABLE people (phone TEXT)")
    else:
        Journal(journal).close()  # tables, but no run was ever bound to it
    expected = {"empty file": "is empty", "sqlite without our tables": "not a bulk journal"}
    refused = pytest.raises(JournalError, match=expected.get(kind, "holds no run"))
    with _bulk_client(bulk_server) as client, refused:
        send_bulk(client, _items(5), journal=journal, resume=True)
    assert bulk_server.requests == []


def test_a_journal_copied_without_its_wal_is_refused(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A crashed run's journal copied without -wal is refused (its batches were in the log); with it, resumed."""
    journal = tmp_path / "run.db"
    book = Journal(journal)
    try:
        book.bind("key", None, resume=False)
        book.add_batch(
            message_id="1",
            first_item=0,
            end_item=1,
            messages=1,
            check_phone="79120000000",
            request={"query": {}, "list": "79120000000:x"},
            invalid=[],
        )
        # "Crash": copy the files while the run still holds the journal open.
        alone, together = tmp_path / "alone", tmp_path / "together"
        alone.mkdir()
        together.mkdir()
        shutil.copy(journal, alone / "run.db")
        shutil.copy(journal, together / "run.db")
        shutil.copy(f"{journal}-wal", together / "run.db-wal")
    finally:
        book.close()
    with pytest.raises(JournalError, match=r"run\.db-wal is missing"):
        Journal(alone / "run.db", resume=True)
    with Journal(together / "run.db", resume=True) as resumed:
        assert [r.message_id for r in resumed.unfinished()] == ["1"]
    assert bulk_server.requests == []


def test_a_closed_journal_is_one_private_file(bulk_server: EmulatorServer, tmp_path: Path) -> None:
    """After a run the journal is a single file (no -wal, no -shm), marked closed, mode 0600."""
    journal = tmp_path / "run.db"
    with _bulk_client(bulk_server) as client:
        send_bulk(client, _items(30), journal=journal, batch_size=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.db"]
    assert journal.stat().st_mode & 0o777 == 0o600
    with closing(sqlite3.connect(journal)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert db.execute("SELECT value FROM meta WHERE key = 'closed'").fetchone()[0] == "1"
        assert db.execute("SELECT COUNT(*) FROM batch").fetchone()[0] == 3


def test_resume_under_another_account_is_refused(
    two_accounts: EmulatorServer, tmp_path: Path
) -> None:
    """A journal remembers its account (not the login itself); another login or API key is refused."""
    journal = tmp_path / "run.db"
    items = _items(20)
    with _bulk_client(two_accounts) as client:
        send_bulk(client, items[:10], journal=journal, batch_size=10)
    sent = len(two_accounts.messages)
    for other in (
        SoapSmsc(OTHER_LOGIN, OTHER_PSW, endpoint=two_accounts.url),
        SoapSmsc(apikey=OTHER_APIKEY, endpoint=two_accounts.url),
    ):
        with other, pytest.raises(JournalError, match="another account"):
            send_bulk(other, items, journal=journal, resume=True, batch_size=10)
    assert len(two_accounts.messages) == sent
    # The same account resumes; the stored digest holds neither the login nor any secret.
    with _bulk_client(two_accounts) as client:
        summary = send_bulk(client, items, journal=journal, resume=True, batch_size=10)
    assert summary.sent == 20
    data = journal.read_bytes()
    for text in (BULK_LOGIN, BULK_PSW, OTHER_LOGIN, OTHER_PSW, OTHER_APIKEY):
        assert text.encode() not in data


def test_async_resume_under_another_account_is_refused(
    two_accounts: EmulatorServer, tmp_path: Path
) -> None:
    """send_bulk_async binds and checks the account as send_bulk does."""
    from smsc_soap import AsyncSoapSmsc

    journal = tmp_path / "run.db"

    async def main() -> None:
        async with AsyncSoapSmsc(BULK_LOGIN, BULK_PSW, endpoint=two_accounts.url) as client:
            await send_bulk_async(client, _items(5), journal=journal)
        async with AsyncSoapSmsc(OTHER_LOGIN, OTHER_PSW, endpoint=two_accounts.url) as other:
            with pytest.raises(JournalError, match="another account"):
                await send_bulk_async(other, _items(5), journal=journal, resume=True)

    asyncio.run(main())
    assert len(two_accounts.messages) == 5


def test_account_digest_is_salted_and_short() -> None:
    """The digest differs per salt and per account, is 64 bits, and never the login's text."""
    login = SoapSmsc(BULK_LOGIN, BULK_PSW, endpoint="http://127.0.0.1:9/")
    key = SoapSmsc(apikey=OTHER_APIKEY, endpoint="http://127.0.0.1:9/")
    by_login, by_key = account_digest(login), account_digest(key)
    assert by_login is not None and by_key is not None
    assert by_login(b"a" * 16) != by_login(b"b" * 16)
    assert by_login(b"a" * 16) != by_key(b"a" * 16)
    assert len(by_login(b"a" * 16)) == 16 and BULK_LOGIN not in by_login(b"a" * 16)
    # A different password of the same login is the same account: the password never enters it.
    same = account_digest(SoapSmsc(BULK_LOGIN, "another-password", endpoint="http://127.0.0.1:9/"))
    assert same is not None and same(b"a" * 16) == by_login(b"a" * 16)
    assert account_digest(object()) is None
    for client in (login, key):
        client.close()


def test_a_damaged_journal_is_refused_before_any_send(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A corrupted page is found when the run opens (integrity check): refused, nothing sent."""
    journal = tmp_path / "run.db"
    with _bulk_client(bulk_server) as client:
        send_bulk(client, _items(400), journal=journal, batch_size=10)
    sent = len(bulk_server.messages)
    data = bytearray(journal.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page : 4 * page] = b"\xa5" * (2 * page)  # two b-tree pages overwritten
    journal.write_bytes(bytes(data))
    with _bulk_client(bulk_server) as client, pytest.raises(JournalError, match="damaged"):
        send_bulk(client, _items(400), journal=journal, resume=True, batch_size=10)
    assert len(bulk_server.messages) == sent


def test_a_journal_in_a_missing_directory_is_refused(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A journal path whose directory does not exist is a clear error, not an sqlite traceback."""
    with _bulk_client(bulk_server) as client, pytest.raises(JournalError, match="does not exist"):
        send_bulk(client, _items(3), journal=tmp_path / "nowhere" / "run.db")
    assert bulk_server.requests == []


def test_time_and_query_are_checked_before_the_journal_exists(
    bulk_server: EmulatorServer, tmp_path: Path
) -> None:
    """A bad time or a reserved query key is refused before the journal file is created."""
    journal = tmp_path / "run.db"
    with _bulk_client(bulk_server) as client:
        with pytest.raises(SmscValidationError, match="time"):
            send_bulk(client, _items(3), journal=journal, time="tomorrow-ish")
        with pytest.raises(SmscValidationError, match="psw"):
            send_bulk(client, _items(3), journal=journal, query={"psw": "x"})
    assert not journal.exists() and bulk_server.requests == []


def test_a_refused_resume_leaves_a_crashed_journal_resumable(tmp_path: Path) -> None:
    """Opening a crashed journal folds its -wal in; a refused resume (another account) must not make
    the next, right resume look like a copy without its -wal."""
    journal = tmp_path / "run.db"
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    book = Journal(journal)
    try:
        book.bind("key", lambda salt: "right", resume=False)
        book.add_batch(
            message_id="1",
            first_item=0,
            end_item=1,
            messages=1,
            check_phone="79120000000",
            request={"query": {}, "list": "79120000000:x"},
            invalid=[],
        )
        for suffix in ("", "-wal"):  # what a crash leaves behind: the file and its log
            shutil.copy(f"{journal}{suffix}", crashed / f"run.db{suffix}")
    finally:
        book.close()
    copy = crashed / "run.db"
    with Journal(copy, resume=True) as wrong, pytest.raises(JournalError, match="another account"):
        wrong.bind("key", lambda salt: "wrong", resume=True)
    assert not Path(f"{copy}-wal").exists()  # folded into the file, which says so
    with Journal(copy, resume=True) as right:
        right.bind("key", lambda salt: "right", resume=True)
        assert [r.message_id for r in right.unfinished()] == ["1"]
