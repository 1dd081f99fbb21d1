"""Settle a finished bulk run: the final delivery of every row, in a CSV a person can read.

The journal knows which batch (message id) carried each input row and which numbers the service
refused at once; :func:`settle_bulk` asks ``get_status`` for every other (id, phone), or takes pushed
:class:`~smsc_soap.callbacks.StatusReport` objects instead, and writes one line per row and number:
``item, phone, id, status, meaning, err, error, final``.

Polling stays within the service's budget of 5 status requests per message per minute: a number is
asked again no sooner than ``poll_every`` seconds (12 by default), a local ``RateLimitedError`` is
waited out, and an IP block or an authentication error stops polling at once (those rows stay
unsettled, with the reason). With ``wait`` seconds, numbers still in flight are asked again until
they reach a final status or the time is up. Time and sleeping are injectable.
"""

from __future__ import annotations

import csv
import heapq
import json
import re
import sqlite3
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .._codes import DeliveryError, MessageStatus
from .._exceptions import (
    AuthenticationError,
    CircuitOpenError,
    IpBlockedError,
    MessageNotFoundError,
    RateLimitedError,
    SmscError,
)
from .journal import JournalError

if TYPE_CHECKING:
    from .._client.sync_client import SoapSmsc
    from ..callbacks import StatusReport

__all__ = ["CSV_COLUMNS", "SettleSummary", "SettledRow", "settle_bulk"]

#: The CSV's header.
CSV_COLUMNS = ("item", "phone", "id", "status", "meaning", "err", "error", "final")

#: Seconds between two status requests for one number: 5 per minute at most.
DEFAULT_POLL_EVERY = 12.0

_REASON_STATUS = re.compile(r"status (-?\d+)")
_STOP = (IpBlockedError, CircuitOpenError, AuthenticationError)


@dataclass(slots=True)
class SettledRow:
    """One input row and number: its message id, last known status and delivery error, and a note."""

    item: int
    phone: str
    id: str | None
    status: MessageStatus | None = None
    err: DeliveryError | None = None
    note: str = ""
    polls: int = 0

    @property
    def final(self) -> bool:
        """Whether this row's delivery is settled (a final status, or never sent)."""
        if self.status is not None:
            return self.status.is_final
        return self.id is None

    def csv_row(self) -> list[str]:
        """The row as CSV cells, in ``CSV_COLUMNS`` order."""
        return [
            str(self.item + 1),
            self.phone,
            self.id or "",
            "" if self.status is None else str(int(self.status)),
            "" if self.status is None else self.status.description,
            "" if self.err is None else str(int(self.err)),
            self.note or ("" if self.err is None or not int(self.err) else self.err.description),
            "yes" if self.final else "no",
        ]


@dataclass(frozen=True, slots=True)
class SettleSummary:
    """What a settle wrote: rows by outcome, the status requests made, and why polling stopped."""

    rows: int
    delivered: int
    failed: int
    unsettled: int
    polls: int
    stopped_by: str | None = None


def _open_journal(path: str | Path) -> sqlite3.Connection:
    file = Path(path)
    if not file.is_file():
        raise JournalError(f"{file.name}: no such journal")
    db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() or (None,)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise JournalError(f"{file.name} is not a usable journal: {exc}") from None
    if version != "1":
        db.close()
        raise JournalError(f"the journal has schema {version}; this version reads 1")
    return db


def journal_rows(path: str | Path) -> list[SettledRow]:
    """Return one row per input item and number, as the journal left them (no status asked yet)."""
    from .journal import BatchRecord
    from .ledger import batch_from_record

    rows: list[SettledRow] = []
    db = _open_journal(path)
    try:
        refused: dict[tuple[int, str], tuple[str, str | None]] = {
            (int(item), str(phone)): (str(reason), detail)
            for item, phone, reason, detail in db.execute(
                "SELECT item, phone, reason, detail FROM item_error WHERE seq IS NOT NULL"
            )
        }
        for item, reason, detail in db.execute(
            "SELECT item, reason, detail FROM item_error WHERE seq IS NULL ORDER BY item"
        ):
            text = f"not sent: {reason}" + (f" ({detail})" if detail else "")
            rows.append(SettledRow(int(item), "", None, note=text))
        for (
            seq,
            message_id,
            first,
            end,
            messages,
            check,
            request,
            state,
            attempts,
            error,
        ) in db.execute(
            "SELECT seq, message_id, first_item, end_item, messages, check_phone, request,"
            " state, attempts, error FROM batch WHERE state != 'split' ORDER BY seq"
        ):
            record = BatchRecord(
                seq, message_id, first, end, messages, check, json.loads(request), state, attempts
            )
            for item, phones in batch_from_record(record).lines:
                for phone in phones:
                    row = SettledRow(item, phone, message_id)
                    if state == "failed":
                        row.id = None
                        row.note = f"not sent: {error or 'refused by the service'}"
                    elif state != "sent":
                        row.note = f"batch {state}: resume the run before settling"
                    elif (item, phone) in refused:
                        reason, detail = refused[(item, phone)]
                        match = _REASON_STATUS.match(reason)
                        if match:
                            row.status = MessageStatus(int(match.group(1)))
                        row.note = reason + (f" ({detail})" if detail else "")
                    rows.append(row)
    finally:
        db.close()
    rows.sort(key=lambda row: (row.item, row.phone))
    return rows


def settle_bulk(
    client: SoapSmsc,
    journal: str | Path,
    out: str | Path | TextIO,
    *,
    reports: Iterable[StatusReport] = (),
    wait: float = 0.0,
    poll_every: float = DEFAULT_POLL_EVERY,
    poll: bool = True,
    clock: Callable[[], float] = _time.monotonic,
    sleep: Callable[[float], None] = _time.sleep,
) -> SettleSummary:
    """Write the final delivery of every row of a finished bulk run in ``journal`` to the CSV ``out``.

    Pushed ``reports`` (from :mod:`smsc_soap.callbacks`) settle their rows without a request; every
    other sent row is asked with ``get_status`` (unless ``poll=False``), at most once per
    ``poll_every`` seconds per number. Rows not final are asked again until ``wait`` seconds have
    passed. The CSV has the columns ``CSV_COLUMNS``; ``final`` is ``no`` for rows still in flight.
    """
    if poll_every < 12.0:
        raise ValueError("poll_every must be at least 12 seconds (5 status requests per minute)")
    if wait < 0:
        raise ValueError("wait must be 0 or more seconds")
    rows = journal_rows(journal)
    _apply_reports(rows, reports)
    stopped_by = _poll(rows, client, wait, poll_every, clock, sleep) if poll else None
    _write(rows, out)
    return SettleSummary(
        rows=len(rows),
        delivered=sum(1 for r in rows if r.status is not None and r.status.is_success),
        failed=sum(1 for r in rows if r.final and not (r.status and r.status.is_success)),
        unsettled=sum(1 for r in rows if not r.final),
        polls=sum(r.polls for r in rows),
        stopped_by=stopped_by,
    )


def _apply_reports(rows: Sequence[SettledRow], reports: Iterable[StatusReport]) -> None:
    by_key: dict[tuple[str, str], SettledRow] = {}
    for row in rows:
        if row.id is not None:
            by_key[(row.id, _digits(row.phone))] = row
    for report in reports:
        found = by_key.get((report.id, _digits(report.phone)))
        if found is None or (found.status is not None and found.status.is_final):
            continue  # a late or repeated report never undoes a final status
        found.status, found.err = report.status, report.err


def _digits(phone: str) -> str:
    """A number as the service reports it: digits only (``+7 999 …`` and ``7999…`` match)."""
    return "".join(ch for ch in phone if ch.isdigit())


def _poll(
    rows: Sequence[SettledRow],
    client: SoapSmsc,
    wait: float,
    every: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str | None:
    start = clock()
    deadline = start + wait
    queue: list[tuple[float, int]] = [
        (start, index) for index, row in enumerate(rows) if row.id is not None and not row.final
    ]
    heapq.heapify(queue)
    while queue:
        due, index = heapq.heappop(queue)
        row = rows[index]
        now = clock()
        if due > now:
            if due > deadline:
                return None
            sleep(due - now)
            now = clock()
        assert row.id is not None
        try:
            result = client.get_status(row.id, row.phone)
        except RateLimitedError as error:
            heapq.heappush(queue, (now + max(error.retry_after, 0.5), index))
            continue
        except MessageNotFoundError:
            row.status, row.note = MessageStatus.NOT_FOUND, "the service has no such message"
            row.polls += 1
            continue
        except _STOP as error:
            row.note = f"not asked: {type(error).__name__}"
            for _, other in queue:
                rows[other].note = f"not asked: {type(error).__name__}"
            return f"{type(error).__name__}: {error}"
        except SmscError as error:
            row.polls += 1
            row.note = f"status unknown: {error}"
            continue
        row.polls += 1
        row.status, row.err = result.status, result.err
        row.note = ""
        if not row.final:
            heapq.heappush(queue, (now + every, index))
    return None


def _write(rows: Sequence[SettledRow], out: str | Path | TextIO) -> None:
    if isinstance(out, str | Path):
        with open(out, "w", newline="", encoding="utf-8") as handle:
            _write(rows, handle)
        return
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(row.csv_row())
