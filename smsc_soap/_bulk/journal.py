"""The SQLite journal of a bulk run: every batch is written before it is sent, and its outcome after.

A batch row is created in state ``sending`` and committed before its request can leave the process, so
after a crash every batch that might have reached the service is in the journal, and every input item
after the last batch's ``end_item`` was never sent. Several batches may be opened in one commit.

An outcome need not be durable at once: a batch whose outcome is lost in a crash is still ``sending``, and
a resume reconciles it by status, exactly as after a crash mid-send. So an outcome written with
``defer=True`` (and its per-number failures) waits in memory and is committed with the next write that
must be durable (a batch opened, a split, an attempt), or by :meth:`Journal.flush`: when
:data:`FLUSH_OUTCOMES` outcomes wait, when the oldest has waited :data:`FLUSH_SECONDS`, before the journal
is read (totals, unfinished batches) and when it is closed. Batch states:

``sending``  written, the request may or may not have reached the service (reconcile before resending)
``sent``     the service accepted it (or ``get_status`` found it: ``reconciled``)
``failed``   the service refused this batch's content (bad numbers, forbidden text); final
``held``     not sent because the run stopped (auth, funds, block, no connection); sent again on resume
``split``    refused whole with error 6; its lines went on in new batches (its parts), each with a new id

The request of a batch (list text, query, sender, time, message id) is stored, so a resend is identical,
byte for byte, and the service's 60-second duplicate check can recognise it. The journal holds no
credential. One process at a time writes it: the file is locked while a run uses it.

A journal belongs to one account: it keeps a random salt and a truncated keyed hash of the login (or of
the API key), from which neither the login nor any password can be read back, and a resume under
another account is refused. While a run is open the journal is a database file and its write-ahead log
(``-wal``); a closed journal is one file. The file says whether its last run closed it: a journal left
open by a crash whose ``-wal`` file is missing (copied without it) is refused, since the records of the
last run were in that log and a resume would send their batches again.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

__all__ = [
    "FLUSH_OUTCOMES",
    "FLUSH_SECONDS",
    "BatchRecord",
    "Failure",
    "Journal",
    "JournalError",
    "account_digest",
    "check_resumable",
    "read_failures",
]

BatchState = Literal["sending", "sent", "failed", "held", "split"]

#: Deferred outcomes are committed once this many wait...
FLUSH_OUTCOMES = 64
#: ...or once the oldest has waited this many seconds (checked at each write and by the drivers).
FLUSH_SECONDS = 1.0

_FINISH_SQL = (
    "UPDATE batch SET state = ?, parts = ?, cost = ?, balance = ?, reconciled = ?, error_class = ?,"
    " error_code = ?, error = ?, updated = ? WHERE seq = ?"
)
_ITEM_ERROR_SQL = (
    "INSERT OR IGNORE INTO item_error (item, phone, seq, reason, detail) VALUES (?, ?, ?, ?, ?)"
)
_ADD_BATCH_SQL = (
    "INSERT INTO batch (message_id, first_item, end_item, messages, check_phone, request, state,"
    " updated) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)"
)

_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    first_item INTEGER NOT NULL,
    end_item INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    check_phone TEXT,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    parts INTEGER,
    cost TEXT,
    balance TEXT,
    reconciled INTEGER NOT NULL DEFAULT 0,
    error_class TEXT,
    error_code INTEGER,
    error TEXT,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_state ON batch (state);
CREATE TABLE IF NOT EXISTS item_error (
    item INTEGER NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    seq INTEGER,
    reason TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (item, phone)
);
"""


class JournalError(Exception):
    """The journal cannot be used for this run (wrong run or account, no run, damaged, locked, missing)."""


#: A function of the journal's salt giving the account's digest (see :func:`account_digest`).
AccountDigest = Callable[[bytes], str]


def account_digest(client: object) -> AccountDigest | None:
    """The account of ``client`` as a function of a salt: a keyed, truncated hash of its login or API key.

    64 bits of BLAKE2b keyed with the journal's random salt: enough to tell two accounts apart, too
    little and too salted to recover the login or the key, and the password never enters it. None for
    an object without client credentials.
    """
    credentials = getattr(client, "_credentials", None)
    login = getattr(credentials, "login", None)
    apikey = getattr(credentials, "apikey", None)
    if login is not None:
        identity = b"login\0" + str(login).encode("utf-8")
    elif apikey is not None and hasattr(apikey, "reveal"):
        identity = b"apikey\0" + str(apikey.reveal()).encode("utf-8")
    else:
        return None

    def digest(salt: bytes) -> str:
        return hashlib.blake2b(identity, key=salt, digest_size=8).hexdigest()

    return digest


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed or invalid input item: its index, the number concerned, the code and its meaning."""

    item: int
    phone: str
    code: int | None
    meaning: str


_STATUS_REASON = re.compile(r"status (-?\d+)(?: \((.*)\))?\Z", re.DOTALL)
_TABLES = ("meta", "batch", "item_error")


def check_resumable(path: str | Path) -> None:
    """Refuse (JournalError) a file that holds no run to resume: missing, empty, not a journal, no run,
    copied without its ``-wal`` while its run was open, damaged, or in use by another run.

    Nothing in the run changes; a crashed run's ``-wal`` is folded into the file (and the file marked
    complete). The account and the run key are checked when the run opens.
    """
    Journal(path, resume=True).close()


def _check_file(path: Path) -> None:
    """What can be told before SQLite opens the file."""
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise JournalError(f"there is no journal {name} to resume") from None
    except OSError as exc:
        raise JournalError(f"the journal {name} cannot be read: {exc.strerror}") from None
    if path.is_dir():
        raise JournalError(f"the journal {name} is a directory, not a journal file")
    if size == 0:
        hint = (
            "its -wal file is next to it, but the database file itself is empty"
            if _wal_present(path)
            else f"if it was copied from an interrupted run, copy {name}-wal with it: that run's "
            "records may all be in the -wal file"
        )
        raise JournalError(
            f"the journal {name} is empty: it holds no run to resume ({hint}); nothing was sent"
        )


def _check_contents(db: sqlite3.Connection, name: str, wal: bool) -> None:
    """A resume's checks of an open file: our tables, a run, its -wal when it was left open, integrity."""
    try:
        tables = {
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if not set(_TABLES) <= tables:
            raise JournalError(
                f"{name} is an SQLite file but not a bulk journal (no run tables): it holds no run "
                "to resume; nothing was sent"
            )
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("run_key") is None:
            raise JournalError(f"the journal {name} holds no run to resume; nothing was sent")
        if meta.get("closed") == "0" and not wal:
            raise JournalError(
                f"the journal {name} was left open by an interrupted run, and its write-ahead log "
                f"{name}-wal is missing: the latest records of that run were in it, so a resume "
                f"could send them again. Put {name}-wal back next to {name} (copy both files "
                "together) and resume again"
            )
        problems = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise JournalError(
                f"the journal {name} is damaged ({'; '.join(problems[:3])}); nothing was sent. "
                "Restore it from a copy, or settle the run by hand"
            )
    except sqlite3.DatabaseError as exc:
        raise JournalError(
            f"the journal {name} is damaged or not a journal ({exc}); nothing was sent"
        ) from None


def _wal_present(path: Path) -> bool:
    return Path(f"{path}-wal").exists()


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One batch as stored: its id, item range, request and state."""

    seq: int
    message_id: str
    first_item: int
    end_item: int
    messages: int
    check_phone: str | None
    request: dict[str, Any]
    state: BatchState
    attempts: int


class Journal:
    """A bulk run's journal in one SQLite file (WAL, synchronous=FULL: a commit survives a crash).

    ``clock`` (monotonic seconds) times how long deferred outcomes have waited.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        resume: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._lock_handle: BinaryIO | None = None
        self._bound = False
        self._usable = False
        self._clock = clock
        # Deferred outcomes: (finish row, item_error rows), committed with the next transaction.
        self._pending: list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]] = []
        self._pending_since = 0.0
        if resume:
            _check_file(self.path)
        else:
            # Journals hold phones and texts (OTP codes among them): readable by their owner only.
            # SQLite gives its -wal and -shm files the mode of the database file.
            try:
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            except FileNotFoundError:
                raise JournalError(
                    f"cannot create the journal {self.path}: the directory {self.path.parent} does "
                    "not exist"
                ) from None
            except IsADirectoryError:
                raise JournalError(f"the journal {self.path} is a directory, not a file") from None
            except OSError as exc:
                raise JournalError(f"cannot open the journal {self.path}: {exc.strerror}") from None
        self._lock()  # before SQLite opens it: a run using it now fails fast, its -wal untouched
        # Whether a crashed run's write-ahead log is next to the file (see close()).
        self._wal_at_open = _wal_present(self.path)
        try:
            self._db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            self._unlock()
            raise JournalError(f"the journal {self.path.name} cannot be opened: {exc}") from None
        try:
            if resume:
                _check_contents(self._db, self.path.name, self._wal_at_open)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=0")
            self._db.executescript(_SCHEMA)
            version = self.get_meta("schema")
            if version is None:
                self.set_meta("schema", _SCHEMA_VERSION)
            elif version != _SCHEMA_VERSION:
                raise JournalError(f"the journal has schema {version}; this version reads 1")
            self._usable = True
        except sqlite3.DatabaseError as exc:
            self._close_db()
            raise JournalError(f"{self.path.name} is not a usable journal: {exc}") from None
        except BaseException:
            self._close_db()
            raise

    def bind(self, run_key: str, account: AccountDigest | None, *, resume: bool) -> None:
        """Tie the journal to this run and account (refusing another's), and mark it open.

        ``open`` is checkpointed into the database file itself, so a copy of the file without its
        ``-wal`` shows that the last run did not close it (see :func:`check_resumable`).
        """
        name = self.path.name
        if resume:
            stored = self.get_meta("run_key")
            if stored is not None and stored != run_key:
                raise JournalError(
                    f"{name} belongs to another run (different input, template or options)"
                )
        elif not self.is_new():
            raise JournalError(
                f"{name} already holds a run; resume it, or choose a new journal file"
            )
        with self._transaction():
            if account is not None:
                salt_hex = self.get_meta("account_salt")
                if salt_hex is None:
                    salt_hex = secrets.token_hex(16)
                    self.set_meta("account_salt", salt_hex)
                digest = account(bytes.fromhex(salt_hex))
                stored_account = self.get_meta("account")
                if stored_account is not None and stored_account != digest:
                    raise JournalError(
                        f"{name} belongs to a run of another account: resume it with the login (or "
                        "API key) that started it; nothing was sent"
                    )
                self.set_meta("account", digest)
            self.set_meta("run_key", run_key)
            self.set_meta("closed", "0")
        self._checkpoint()
        self._bound = True

    def _checkpoint(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _lock(self) -> None:
        """Hold an advisory lock on the file for the run, so a second process fails fast."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory lock
            return
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - held open for the journal's lifetime
        except OSError as exc:
            raise JournalError(f"the journal {self.path.name} cannot be read: {exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise JournalError(
                f"{self.path.name} is in use by another run; wait for it or use another journal"
            ) from None
        self._lock_handle = handle

    def _unlock(self) -> None:
        handle = self._lock_handle
        if handle is not None:
            handle.close()
            self._lock_handle = None

    def close(self) -> None:
        """Mark the journal complete, fold the write-ahead log into the file, close it, release the lock.

        A closed journal is one file (journal_mode=DELETE); the next run switches it back to WAL. A
        crashed run's log found at open is folded in as well (SQLite does that when the last
        connection closes), so the file is marked complete then too: only a file copied without its
        log stays marked open.
        """
        bound, self._bound = self._bound, False
        marking = marked = False
        try:
            crashed = self._usable and self._wal_at_open and self.get_meta("closed") == "0"
            marking = bound or crashed
            if marking:
                with self._transaction():  # the deferred outcomes, then the mark, in one commit
                    self.set_meta("closed", "1")
                marked = True
                self._checkpoint()
                self._db.execute("PRAGMA journal_mode=DELETE").fetchall()
            elif self._pending:
                self.flush()
        except sqlite3.Error:  # another reader holds it, or the disk is full: nothing is lost
            pass
        finally:
            if marking and not marked:
                self._close_keeping_log()
            else:
                self._close_db()

    def _close_keeping_log(self) -> None:
        """Close without folding the write-ahead log into the file (the mark could not be written).

        SQLite folds the log in and deletes it when the last connection closes; the file would then
        read as left open with its log missing, and a resume would be refused. A read-only
        connection open meanwhile keeps the log: the file reads as a crashed run's, resumable.
        """
        keeper: sqlite3.Connection | None = None
        try:
            keeper = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            keeper.execute("SELECT COUNT(*) FROM meta").fetchall()
        except sqlite3.Error:
            pass
        try:
            self._close_db()
        finally:
            if keeper is not None:
                keeper.close()

    def _close_db(self) -> None:
        self._db.close()
        self._unlock()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- meta ----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Return a stored run setting."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a run setting."""
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def is_new(self) -> bool:
        """Whether no batch and no item has been recorded yet."""
        self.flush()
        batches = self._db.execute("SELECT COUNT(*) FROM batch").fetchone()[0]
        items = self._db.execute("SELECT COUNT(*) FROM item_error").fetchone()[0]
        return batches == 0 and items == 0 and self.get_meta("run_key") is None

    # ----- batches -------------------------------------------------------------------------------

    def add_batch(
        self,
        *,
        message_id: str,
        first_item: int,
        end_item: int,
        messages: int,
        check_phone: str | None,
        request: Mapping[str, Any],
        invalid: list[tuple[int, str, str]],
    ) -> int:
        """Record a batch in state ``sending`` (and the invalid items before it) in one commit."""
        batch = {
            "message_id": message_id,
            "first_item": first_item,
            "end_item": end_item,
            "messages": messages,
            "check_phone": check_phone,
            "request": request,
            "invalid": invalid,
        }
        return self.add_batches([batch])[0]

    def add_batches(self, batches: Sequence[Mapping[str, Any]]) -> list[int]:
        """Record batches in state ``sending`` (each after the invalid items before it) in one commit,
        with the deferred outcomes; return their sequence numbers, in order.

        Each maps the arguments of :meth:`add_batch` (``invalid`` optional). When this returns, every
        one of them is durable: their requests may leave.
        """
        seqs: list[int] = []
        with self._transaction():
            now = time.time()
            for batch in batches:
                if batch.get("invalid"):
                    self._add_invalid(batch["invalid"])
                seqs.append(self._insert_batch(batch, now))
        return seqs

    def _insert_batch(self, batch: Mapping[str, Any], now: float) -> int:
        cursor = self._db.execute(
            _ADD_BATCH_SQL,
            (
                batch["message_id"],
                batch["first_item"],
                batch["end_item"],
                batch["messages"],
                batch["check_phone"],
                json.dumps(batch["request"], ensure_ascii=False, separators=(",", ":")),
                now,
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        return seq

    def drop_unsent(self, seqs: Sequence[int]) -> int:
        """Delete batches journaled ahead whose requests never left (the run stopped first), and the
        invalid items read with or after them, in one commit; return how many invalid items went.

        Afterwards the journal reads as if the run had stopped right after the last batch it sent:
        a resume reads those items again. Only rows still ``sending`` are deleted, and only those
        after every batch that stays (a batch journaled after them, say committed just before an
        interrupt and never handed to a sender, keeps them): a resume reads again only the items
        after the last batch, so a batch deleted before one that stays would never be sent.
        """
        if not seqs:
            return 0
        marks = ",".join("?" * len(seqs))
        with self._transaction():
            kept_end = self._db.execute(
                "SELECT COALESCE(MAX(end_item), 0) FROM batch"
                f" WHERE NOT (seq IN ({marks}) AND state = 'sending')",
                tuple(seqs),
            ).fetchone()[0]
            self._db.execute(
                f"DELETE FROM batch WHERE seq IN ({marks}) AND state = 'sending'"
                " AND first_item >= ?",
                (*seqs, int(kept_end)),
            )
            end = self._db.execute("SELECT COALESCE(MAX(end_item), 0) FROM batch").fetchone()[0]
            cursor = self._db.execute(
                "DELETE FROM item_error WHERE seq IS NULL AND item >= ?", (int(end),)
            )
            return max(cursor.rowcount, 0)

    def hold_again(self, seqs: Sequence[int]) -> None:
        """Undo :meth:`mark_attempts` for ``held`` batches reopened and never sent: ``held`` again,
        their attempt not counted (those still ``sending`` only), in one commit."""
        with self._transaction():
            self._db.executemany(
                "UPDATE batch SET state = 'held', attempts = MAX(attempts - 1, 0)"
                " WHERE seq = ? AND state = 'sending'",
                [(seq,) for seq in seqs],
            )

    def add_invalid(self, invalid: list[tuple[int, str, str]]) -> None:
        """Record items that failed validation (item index, reason, detail)."""
        if invalid:
            with self._transaction():
                self._add_invalid(invalid)

    def _add_invalid(self, invalid: list[tuple[int, str, str]]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO item_error (item, phone, seq, reason, detail)"
            " VALUES (?, '', NULL, ?, ?)",
            invalid,
        )

    def split_batch(
        self,
        seq: int,
        parts: Sequence[Mapping[str, Any]],
        *,
        error_class: str | None = None,
        error_code: int | None = None,
        error: str | None = None,
    ) -> list[int]:
        """Mark batch ``seq`` as ``split`` (refused with ``error``) and record its parts as new ``sending``
        batches, in one commit.

        Each part maps ``message_id``, ``first_item``, ``end_item``, ``messages``, ``check_phone`` and
        ``request`` as :meth:`add_batch` takes them; returns the parts' sequence numbers, in order.
        """
        seqs: list[int] = []
        with self._transaction():
            now = time.time()
            self._db.execute(
                "UPDATE batch SET state = 'split', error_class = ?, error_code = ?, error = ?,"
                " updated = ? WHERE seq = ?",
                (error_class, error_code, error, now, seq),
            )
            seqs = [self._insert_batch(part, now) for part in parts]
        return seqs

    def mark_attempt(self, seq: int, state: BatchState = "sending") -> None:
        """Count an attempt and put the batch (back) in ``state`` before its request goes out."""
        self.mark_attempts([seq], state)

    def mark_attempts(self, seqs: Sequence[int], state: BatchState = "sending") -> None:
        """:meth:`mark_attempt` for several batches (and the deferred outcomes), in one commit."""
        with self._transaction():
            now = time.time()
            self._db.executemany(
                "UPDATE batch SET attempts = attempts + 1, state = ?, updated = ? WHERE seq = ?",
                [(state, now, seq) for seq in seqs],
            )

    def finish(
        self,
        seq: int,
        state: BatchState,
        *,
        parts: int | None = None,
        cost: Decimal | None = None,
        balance: Decimal | None = None,
        reconciled: bool = False,
        error_class: str | None = None,
        error_code: int | None = None,
        error: str | None = None,
        phone_errors: Sequence[tuple[int, str, str, str]] = (),
        defer: bool = False,
    ) -> None:
        """Record a batch's outcome and its per-phone failures (item, phone, reason, detail).

        With ``defer`` the outcome waits in memory and is committed with the next write that must be
        durable, or by :meth:`flush` (at the latest when :data:`FLUSH_OUTCOMES` wait or the oldest has
        waited :data:`FLUSH_SECONDS`). Lost in a crash, it leaves the batch ``sending``: a resume
        reconciles it by status.
        """
        row = (
            state,
            parts,
            None if cost is None else str(cost),
            None if balance is None else str(balance),
            int(reconciled),
            error_class,
            error_code,
            error,
            time.time(),
            seq,
        )
        errors = [
            (item, phone, seq, reason, detail) for item, phone, reason, detail in phone_errors
        ]
        if not self._pending:
            self._pending_since = self._clock()
        self._pending.append((row, errors))
        if not defer or self.flush_due_in() == 0.0:
            self.flush()

    # ----- deferred outcomes ---------------------------------------------------------------------

    @property
    def deferred(self) -> int:
        """How many outcomes wait to be committed."""
        return len(self._pending)

    def flush_due_in(self) -> float | None:
        """Seconds until the deferred outcomes must be committed (0.0: now); None if none wait."""
        if not self._pending:
            return None
        if len(self._pending) >= FLUSH_OUTCOMES:
            return 0.0
        return max(0.0, self._pending_since + FLUSH_SECONDS - self._clock())

    def flush(self) -> None:
        """Commit the deferred outcomes now (nothing to do when none wait)."""
        if self._pending:
            with self._transaction():
                pass

    def _write_pending(self) -> None:
        """Write the deferred outcomes into the open transaction."""
        rows = self._pending
        self._db.executemany(_FINISH_SQL, [row for row, _ in rows])
        errors = [error for _, item_errors in rows for error in item_errors]
        if errors:
            self._db.executemany(_ITEM_ERROR_SQL, errors)

    def unfinished(self) -> Iterator[BatchRecord]:
        """Yield the batches in state ``sending`` or ``held``, oldest first."""
        self.flush()
        rows = self._db.execute(
            "SELECT seq, message_id, first_item, end_item, messages, check_phone, request, state,"
            " attempts FROM batch WHERE state IN ('sending', 'held') ORDER BY seq"
        ).fetchall()
        for row in rows:
            yield BatchRecord(
                row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7], row[8]
            )

    def consumed(self) -> int:
        """Return how many input items are covered by recorded batches and invalid items."""
        self.flush()
        batches = self._db.execute("SELECT MAX(end_item) FROM batch").fetchone()[0]
        return int(batches or 0)

    def failures(self) -> Iterator[Failure]:
        """Yield every failed or invalid item, by item index (see :func:`read_failures`)."""
        self.flush()
        return _failures(self._db)

    # ----- totals --------------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        """Return the run's totals across every session that used this journal (``covered``: how
        many input items its batches and invalid items account for)."""
        self.flush()
        db = self._db
        by_state = {
            state: (int(batches), int(messages or 0))
            for state, batches, messages in db.execute(
                "SELECT state, COUNT(*), SUM(messages) FROM batch GROUP BY state"
            )
        }
        parts = db.execute("SELECT SUM(parts) FROM batch WHERE state = 'sent'").fetchone()[0]
        cost = sum(
            (
                Decimal(row[0])
                for row in db.execute("SELECT cost FROM batch WHERE cost IS NOT NULL")
            ),
            Decimal(0),
        )
        balance_row = db.execute(
            "SELECT balance FROM batch WHERE balance IS NOT NULL ORDER BY updated DESC, seq DESC"
            " LIMIT 1"
        ).fetchone()
        failed: dict[str, int] = {}
        for reason, count in db.execute(
            "SELECT reason, COUNT(*) FROM item_error GROUP BY reason ORDER BY reason"
        ):
            failed[str(reason)] = int(count)
        for error_class, code, messages in db.execute(
            "SELECT error_class, error_code, SUM(messages) FROM batch WHERE state = 'failed'"
            " GROUP BY error_class, error_code"
        ):
            reason = f"{error_class} ({code})" if code is not None else str(error_class)
            failed[reason] = failed.get(reason, 0) + int(messages or 0)
        invalid, invalid_end = db.execute(
            "SELECT COUNT(*), COALESCE(MAX(item) + 1, 0) FROM item_error WHERE seq IS NULL"
        ).fetchone()
        covered = db.execute("SELECT COALESCE(MAX(end_item), 0) FROM batch").fetchone()[0]
        rejected_items = db.execute(
            "SELECT COUNT(DISTINCT item) FROM item_error WHERE seq IS NOT NULL"
        ).fetchone()[0]
        uncosted = db.execute(
            "SELECT COUNT(*) FROM batch WHERE state = 'sent' AND cost IS NULL"
        ).fetchone()[0]
        reconciled = db.execute("SELECT COUNT(*) FROM batch WHERE reconciled = 1").fetchone()[0]
        return {
            "by_state": by_state,
            "parts": int(parts or 0),
            "cost": cost,
            "balance": None if balance_row is None else Decimal(balance_row[0]),
            "failed": failed,
            "invalid": int(invalid),
            "covered": max(int(covered), int(invalid_end)),
            "rejected_items": int(rejected_items),
            "uncosted": int(uncosted),
            "reconciled": int(reconciled),
        }

    # ----- helpers -------------------------------------------------------------------------------

    class _Tx:
        """One transaction: the deferred outcomes first, then the caller's writes, one commit."""

        def __init__(self, journal: Journal) -> None:
            self.journal = journal

        def __enter__(self) -> None:
            journal = self.journal
            if journal._db.in_transaction:
                # Left open by a write interrupted (Ctrl-C) between its BEGIN and its COMMIT: that
                # write raised, so nothing relied on it. Undo it (the deferred outcomes stay).
                journal._db.execute("ROLLBACK")
            journal._db.execute("BEGIN IMMEDIATE")
            if journal._pending:
                try:
                    journal._write_pending()
                except BaseException:
                    journal._db.execute("ROLLBACK")
                    raise

        def __exit__(self, exc_type: object, *rest: object) -> None:
            journal = self.journal
            if exc_type is not None:
                journal._db.execute("ROLLBACK")  # the deferred outcomes stay deferred
                return
            journal._db.execute("COMMIT")
            journal._pending.clear()

    def _transaction(self) -> Journal._Tx:
        return Journal._Tx(self)


def _failures(db: sqlite3.Connection) -> Iterator[Failure]:
    """Every failed or invalid item, by item index: invalid, refused numbers, refused batches.

    Reads the journal in order (flat memory). An invalid item has no code; a number the service
    refused has its status code; an item of a refused batch has the service's error code.
    """
    rows = db.execute("SELECT item, phone, seq, reason, detail FROM item_error ORDER BY item")

    def items() -> Iterator[Failure]:
        for item, phone, seq, reason, detail in rows:
            if seq is None:
                yield Failure(int(item), str(phone), None, str(detail or reason))
                continue
            match = _STATUS_REASON.match(str(reason))
            if match is not None:
                yield Failure(
                    int(item), str(phone), int(match.group(1)), match.group(2) or str(reason)
                )
            else:
                yield Failure(int(item), str(phone), None, str(reason))

    batches = db.execute(
        "SELECT first_item, end_item, request, error_class, error_code, error FROM batch"
        " WHERE state = 'failed' ORDER BY first_item"
    )

    def batch_items() -> Iterator[Failure]:
        for first, end, request, error_class, code, error in batches:
            numbers = json.loads(request).get("items") or range(first, end)
            meaning = str(error or error_class)
            for item in numbers:
                yield Failure(int(item), "", None if code is None else int(code), meaning)

    return heapq.merge(items(), batch_items(), key=lambda failure: failure.item)


@contextmanager
def read_failures(path: str | Path) -> Iterator[Iterator[Failure]]:
    """Open a closed journal read-only and yield its failed and invalid items, by item index."""
    path = Path(path)
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise JournalError(f"the journal {path.name} cannot be read: {exc}") from None
    try:
        yield _failures(db)
    finally:
        db.close()
