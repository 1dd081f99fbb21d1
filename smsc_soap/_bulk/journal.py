"""The SQLite journal of a bulk run: every batch is written before it is sent, and its outcome after.

A batch row is created in state ``sending`` and committed before its request can leave the process, so
after a crash every batch that might have reached the service is in the journal, and every input item
after the last batch's ``end_item`` was never sent. Batch states:

``sending``  written, the request may or may not have reached the service (reconcile before resending)
``sent``     the service accepted it (or ``get_status`` found it: ``reconciled``)
``failed``   the service refused this batch's content (bad numbers, forbidden text); final
``held``     not sent because the run stopped (auth, funds, block, no connection); sent again on resume
``split``    refused whole with error 6; its lines went on in new batches (its parts), each with a new id

The request of a batch (list text, query, sender, time, message id) is stored, so a resend is identical,
byte for byte, and the service's 60-second duplicate check can recognise it. The journal holds no
credential. One process at a time writes it: the file is locked while a run uses it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Literal

__all__ = ["BatchRecord", "Journal", "JournalError"]

BatchState = Literal["sending", "sent", "failed", "held", "split"]

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
    """The journal cannot be used for this run (wrong run, newer schema, locked, or missing)."""


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
    """A bulk run's journal in one SQLite file (WAL, synchronous=FULL: a commit survives a crash)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_handle: BinaryIO | None = None
        # Journals hold phones and texts (OTP codes among them): readable by their owner only. SQLite
        # gives its -wal and -shm files the mode of the database file.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=0")
            self._db.executescript(_SCHEMA)
            version = self.get_meta("schema")
            if version is None:
                self.set_meta("schema", _SCHEMA_VERSION)
            elif version != _SCHEMA_VERSION:
                raise JournalError(f"the journal has schema {version}; this version reads 1")
            self._lock()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"{self.path.name} is not a usable journal: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def _lock(self) -> None:
        """Hold an advisory lock on the file for the run, so a second process fails fast."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no advisory lock
            return
        handle = open(self.path, "rb")  # noqa: SIM115 - held open for the journal's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise JournalError(
                f"{self.path.name} is in use by another run; wait for it or use another journal"
            ) from None
        self._lock_handle = handle

    def close(self) -> None:
        """Close the database and release the lock."""
        self._db.close()
        handle = getattr(self, "_lock_handle", None)
        if handle is not None:
            handle.close()
            self._lock_handle = None

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
        with self._transaction():
            self._add_invalid(invalid)
            cursor = self._db.execute(
                "INSERT INTO batch (message_id, first_item, end_item, messages, check_phone, request,"
                " state, updated) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)",
                (
                    message_id,
                    first_item,
                    end_item,
                    messages,
                    check_phone,
                    json.dumps(request, ensure_ascii=False, separators=(",", ":")),
                    time.time(),
                ),
            )
            seq = cursor.lastrowid
        assert seq is not None
        return seq

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
            for part in parts:
                cursor = self._db.execute(
                    "INSERT INTO batch (message_id, first_item, end_item, messages, check_phone,"
                    " request, state, updated) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)",
                    (
                        part["message_id"],
                        part["first_item"],
                        part["end_item"],
                        part["messages"],
                        part["check_phone"],
                        json.dumps(part["request"], ensure_ascii=False, separators=(",", ":")),
                        now,
                    ),
                )
                assert cursor.lastrowid is not None
                seqs.append(cursor.lastrowid)
        return seqs

    def mark_attempt(self, seq: int, state: BatchState = "sending") -> None:
        """Count an attempt and put the batch (back) in ``state`` before its request goes out."""
        with self._transaction():
            self._db.execute(
                "UPDATE batch SET attempts = attempts + 1, state = ?, updated = ? WHERE seq = ?",
                (state, time.time(), seq),
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
    ) -> None:
        """Record a batch's outcome and its per-phone failures (item, phone, reason, detail)."""
        with self._transaction():
            self._db.execute(
                "UPDATE batch SET state = ?, parts = ?, cost = ?, balance = ?, reconciled = ?,"
                " error_class = ?, error_code = ?, error = ?, updated = ? WHERE seq = ?",
                (
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
                ),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO item_error (item, phone, seq, reason, detail)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (item, phone, seq, reason, detail)
                    for item, phone, reason, detail in phone_errors
                ],
            )

    def unfinished(self) -> Iterator[BatchRecord]:
        """Yield the batches in state ``sending`` or ``held``, oldest first."""
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
        batches = self._db.execute("SELECT MAX(end_item) FROM batch").fetchone()[0]
        return int(batches or 0)

    # ----- totals --------------------------------------------------------------------------------

    def totals(self) -> dict[str, Any]:
        """Return the run's totals across every session that used this journal."""
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
        invalid = db.execute("SELECT COUNT(*) FROM item_error WHERE seq IS NULL").fetchone()[0]
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
            "rejected_items": int(rejected_items),
            "uncosted": int(uncosted),
            "reconciled": int(reconciled),
        }

    # ----- helpers -------------------------------------------------------------------------------

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> None:
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")

    def _transaction(self) -> Journal._Tx:
        return Journal._Tx(self._db)
