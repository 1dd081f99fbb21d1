"""The ledger of a bulk session: journal bookkeeping and the counters behind progress and the summary.

Every journal write of a run goes through :class:`Ledger`, one at a time (a lock: the thread driver
writes from its own thread and, while a batch is being split, from a worker). A batch is journaled as
``sending`` and committed before its request can leave (several batches may share one commit:
:meth:`Ledger.open_batches`). Outcomes are deferred: each is committed with the next commit that must be
durable, or by :meth:`Ledger.flush` (the drivers flush when a run ends or is interrupted, and whenever
the oldest outcome has waited ``FLUSH_SECONDS``); an outcome lost in a crash leaves its batch
``sending``, which a resume reconciles by status. :func:`summary` totals the journal over every session
that used it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._exceptions import SmscError
from .batcher import Invalid, Line
from .journal import BatchRecord, Journal
from .plan import Batch, Outcome

__all__ = [
    "BulkProgress",
    "BulkSummary",
    "Counters",
    "Ledger",
    "batch_from_record",
    "check_phone",
    "new_message_id",
    "stops_run",
    "summary",
]


@dataclass(frozen=True, slots=True)
class BulkProgress:
    """Where a bulk run is: items read, batches finished, items sent and failed so far (this session)."""

    items_read: int
    batches_done: int
    items_sent: int
    items_failed: int
    in_flight: int


@dataclass(frozen=True, slots=True)
class BulkSummary:
    """The outcome of a bulk run, totalled over every session of its journal.

    ``batches`` counts every request journaled, the parts of split batches included; ``split`` how many
    of them the service refused with error 6 and were split to isolate the refused rows.
    """

    items: int
    sent: int
    failed: dict[str, int]
    invalid: int
    unknown: int
    held: int
    batches: int
    parts: int
    cost: Decimal
    balance: Decimal | None
    reconciled: int
    uncosted_batches: int
    complete: bool
    stopped_by: SmscError | None = field(default=None, compare=False)
    interrupted: bool = False
    split: int = 0

    @property
    def failed_total(self) -> int:
        """How many items (or recipients) failed, all reasons together."""
        return sum(self.failed.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (money as strings)."""
        return {
            "items": self.items,
            "sent": self.sent,
            "failed": dict(self.failed),
            "failed_total": self.failed_total,
            "invalid": self.invalid,
            "unknown": self.unknown,
            "held": self.held,
            "batches": self.batches,
            "split": self.split,
            "parts": self.parts,
            "cost": str(self.cost),
            "balance": None if self.balance is None else str(self.balance),
            "reconciled": self.reconciled,
            "uncosted_batches": self.uncosted_batches,
            "complete": self.complete,
            "stopped_by": None
            if self.stopped_by is None
            else f"{type(self.stopped_by).__name__}: {self.stopped_by}",
            "interrupted": self.interrupted,
        }


@dataclass(slots=True)
class Counters:
    """This session's counts, for progress reports; ``in_flight`` is kept by the driver."""

    items_read: int = 0
    batches_done: int = 0
    items_sent: int = 0
    items_failed: int = 0
    in_flight: int = 0


def check_phone(lines: Sequence[tuple[int, tuple[str, ...]]]) -> str | None:
    """The number to reconcile a batch by: its first plain phone number (not a group)."""
    for _, phones in lines:
        for phone in phones:
            if phone and not phone.startswith("G"):
                return phone
    return None


def new_message_id() -> str:
    """A fresh message id for a batch."""
    from .._params.validation import new_message_id as new_id

    return new_id()


def stops_run(outcome: Outcome) -> bool:
    """Whether ``outcome`` stops a run from taking new batches (as :meth:`Ledger.count` decides):
    held (auth, funds, block, no connection, an account-wide refusal) or an unknown outcome that
    reconciling could not settle, for the batch or any part of a split one."""
    if outcome.state == "split":
        return any(stops_run(part) for _, part, _ in outcome.results)
    return outcome.state not in ("sent", "failed") and outcome.error is not None


def batch_from_record(record: BatchRecord) -> Batch:
    """The batch a journal row describes, ready to deliver again (reconciled first if ``sending``)."""
    lines: list[tuple[int, tuple[str, ...]]] = []
    items = record.request.get("items") or []
    for offset, text in enumerate(str(record.request["list"]).split("\n")):
        phones = tuple(text.split(":", 1)[0].rpartition("|")[2].split(","))
        item = items[offset] if offset < len(items) else record.first_item + offset
        lines.append((int(item), phones))
    return Batch(
        record.seq,
        record.message_id,
        record.request,
        record.check_phone,
        lines,
        reconcile_first=record.state == "sending",
        attempts=record.attempts,
    )


class Ledger:
    """A session's journal bookkeeping and counters.

    Journal methods serialise on one lock. :meth:`count` updates the counters and reports progress;
    call it from the driver's own thread.
    """

    def __init__(
        self,
        journal: Journal,
        base_request: dict[str, Any],
        on_progress: Callable[[BulkProgress], None] | None,
        stop: threading.Event,
    ) -> None:
        self.journal = journal
        self.base_request = base_request
        self.on_progress = on_progress
        self.stop = stop
        self.stopped_by: SmscError | None = None
        self.counters = Counters()
        self._lock = threading.Lock()

    # ----- journal ---------------------------------------------------------------------------------

    def open_batch(self, lines: list[Line], invalid: list[Invalid]) -> Batch:
        """Journal a new batch in state ``sending`` (with the invalid items before it); commit first."""
        return self.open_batches([(lines, invalid)])[0]

    def open_batches(self, chunks: Sequence[tuple[list[Line], list[Invalid]]]) -> list[Batch]:
        """Journal new batches in state ``sending`` (each with the invalid items before it) and the
        deferred outcomes, in one commit; every returned batch is durable and may be sent."""
        batches: list[Batch] = []
        rows: list[dict[str, Any]] = []
        for lines, invalid in chunks:
            request = dict(self.base_request)
            request["list"] = "\n".join([line.text for line in lines])
            request["items"] = [line.item for line in lines]
            pairs = [(line.item, line.phones) for line in lines]
            batch = Batch(0, new_message_id(), request, check_phone(pairs), pairs, checked=True)
            batches.append(batch)
            rows.append(
                {
                    "message_id": batch.message_id,
                    "first_item": lines[0].item,
                    "end_item": lines[-1].item + 1,
                    "messages": len(lines),
                    "check_phone": batch.check_phone,
                    "request": request,
                    "invalid": invalid,
                }
            )
        with self._lock:
            seqs = self.journal.add_batches(rows)
        for batch, seq in zip(batches, seqs, strict=True):
            batch.seq = seq
        return batches

    def split(
        self, batch: Batch, groups: Sequence[Sequence[int]], refusal: SmscError | None = None
    ) -> list[Batch]:
        """Journal ``batch`` as split (refused with ``refusal``) and one new ``sending`` batch per group
        of its lines, in one commit."""
        texts = str(batch.request["list"]).split("\n")
        parts: list[Batch] = []
        rows: list[dict[str, Any]] = []
        for group in groups:
            pairs = [batch.lines[offset] for offset in group]
            request = {k: v for k, v in batch.request.items() if k not in ("list", "items")}
            request["list"] = "\n".join(texts[offset] for offset in group)
            request["items"] = [item for item, _ in pairs]
            part = Batch(
                0, new_message_id(), request, check_phone(pairs), pairs, checked=batch.checked
            )
            parts.append(part)
            items = request["items"]
            rows.append(
                {
                    "message_id": part.message_id,
                    "first_item": min(items),
                    "end_item": max(items) + 1,
                    "messages": len(pairs),
                    "check_phone": part.check_phone,
                    "request": request,
                }
            )
        with self._lock:
            seqs = self.journal.split_batch(
                batch.seq,
                rows,
                error_class=None if refusal is None else type(refusal).__name__,
                error_code=getattr(refusal, "code", None),
                error=None if refusal is None else str(refusal)[:500],
            )
        for part, seq in zip(parts, seqs, strict=True):
            part.seq = seq
        return parts

    def drop_unsent(self, batches: Sequence[Batch]) -> None:
        """Forget batches journaled ahead that were never sent (the run stopped first): their rows
        and the invalid items read with or after them go, and the counters step back to match."""
        if not batches:
            return
        with self._lock:
            invalid = self.journal.drop_unsent([batch.seq for batch in batches])
            consumed = self.journal.consumed()
        counters = self.counters
        counters.items_read = min(counters.items_read, consumed)
        counters.items_failed = max(0, counters.items_failed - invalid)

    def hold_again(self, batches: Sequence[Batch]) -> None:
        """Put back as ``held`` a previous session's held batches this one reopened and never
        sent (the run stopped first)."""
        if batches:
            with self._lock:
                self.journal.hold_again([batch.seq for batch in batches])

    def add_invalid(self, invalid: list[Invalid]) -> None:
        """Record invalid items read after the last batch."""
        with self._lock:
            self.journal.add_invalid(invalid)

    def unfinished(self) -> list[BatchRecord]:
        """The batches a previous session left unfinished (``sending`` or ``held``), oldest first."""
        with self._lock:
            return list(self.journal.unfinished())

    def reopen(self, record: BatchRecord) -> Batch:
        """Mark an unfinished batch as attempted again (committed) and return it, ready to deliver."""
        return self.reopen_many([record])[0]

    def reopen_many(self, records: Sequence[BatchRecord]) -> list[Batch]:
        """:meth:`reopen` for several batches, in one commit."""
        with self._lock:
            self.journal.mark_attempts([record.seq for record in records])
        return [batch_from_record(record) for record in records]

    def resumable(self) -> Iterator[Batch]:
        """Yield the batches a previous session left unfinished, each marked as attempted again."""
        for record in self.unfinished():
            if self.stop.is_set():
                return
            yield self.reopen(record)

    def write(self, batch: Batch, outcome: Outcome) -> int:
        """Journal a batch's outcome and its per-number failures (deferred: committed with the next
        commit, see :meth:`flush`); return how many items failed.

        A split batch was journaled by :meth:`split` and its parts one by one: nothing to write.
        """
        if outcome.state == "split":
            return 0
        error = outcome.error
        phone_errors: list[tuple[int, str, str, str]] = []
        if outcome.phone_errors:
            by_phone: dict[str, list[int]] = {}
            for item, phones in batch.lines:
                for phone in phones:
                    by_phone.setdefault(phone.lstrip("+"), []).append(item)
            phone_errors = [
                (item, phone, reason, "")
                for phone, reason in outcome.phone_errors
                for item in by_phone.get(phone.lstrip("+"), [-1])
            ]
        with self._lock:
            self.journal.finish(
                batch.seq,
                outcome.state,
                parts=outcome.parts,
                cost=outcome.cost,
                balance=outcome.balance,
                reconciled=outcome.reconciled,
                error_class=None if error is None else type(error).__name__,
                error_code=getattr(error, "code", None) if error is not None else None,
                error=None if error is None else str(error)[:500],
                phone_errors=phone_errors,
                defer=True,
            )
        return len(phone_errors)

    def flush(self) -> None:
        """Commit the deferred outcomes now."""
        with self._lock:
            self.journal.flush()

    def flush_due_in(self) -> float | None:
        """Seconds until the deferred outcomes must be committed (0.0: now); None if none wait."""
        with self._lock:
            return self.journal.flush_due_in()

    def flush_if_due(self) -> None:
        """Commit the deferred outcomes if the oldest has waited long enough (or too many wait)."""
        with self._lock:
            if self.journal.flush_due_in() == 0.0:
                self.journal.flush()

    def totals(self) -> tuple[dict[str, Any], int]:
        """The journal's totals over every session, and how many input items its batches cover."""
        with self._lock:
            return self.journal.totals(), self.journal.consumed()

    # ----- counters --------------------------------------------------------------------------------

    def record(self, batch: Batch, outcome: Outcome) -> None:
        """Journal a batch's outcome, then count it (:meth:`write`, then :meth:`count`)."""
        self.count(batch, outcome, self.write(batch, outcome))

    def count(self, batch: Batch, outcome: Outcome, failed_items: int) -> None:
        """Count a journaled outcome; a run-level failure or an unsettled outcome stops the run."""
        if outcome.state == "split":
            for part, part_outcome, part_failed in outcome.results:
                self._count(part, part_outcome, part_failed)
        else:
            self._count(batch, outcome, failed_items)
        self.progress()

    def _count(self, batch: Batch, outcome: Outcome, failed_items: int) -> None:
        counters = self.counters
        counters.batches_done += 1
        if outcome.state == "sent":
            counters.items_sent += len(batch.lines)
            counters.items_failed += failed_items
        elif outcome.state == "failed":
            counters.items_failed += len(batch.lines)
        elif self.stopped_by is None and stops_run(outcome):
            # held: the run cannot go on (auth, funds, block, no connection, an account-wide refusal);
            # sending: unknown outcome that reconciling could not settle. Stop taking new batches.
            self.stopped_by = outcome.error
            self.stop.set()

    def progress(self) -> None:
        """Report progress to ``on_progress``, if given."""
        if self.on_progress is not None:
            c = self.counters
            self.on_progress(
                BulkProgress(
                    c.items_read, c.batches_done, c.items_sent, c.items_failed, c.in_flight
                )
            )


def summary(ledger: Ledger, interrupted: bool) -> BulkSummary:
    """Total the run's journal into a :class:`BulkSummary`."""
    totals, consumed = ledger.totals()
    by_state: dict[str, tuple[int, int]] = totals["by_state"]
    sent = by_state.get("sent", (0, 0))[1] - totals["rejected_items"]
    unknown = by_state.get("sending", (0, 0))[1]
    held = by_state.get("held", (0, 0))[1]
    batches = sum(count for count, _ in by_state.values())
    failed: dict[str, int] = totals["failed"]
    finished = not ledger.stop.is_set() and not interrupted
    complete = finished and unknown == 0 and held == 0
    # A run that stopped or was interrupted counts what its journal accounts for: the items read
    # after that (in a batch not journaled, or deleted as never sent) are read again on resume.
    items = max(ledger.counters.items_read, consumed) if finished else totals["covered"]
    return BulkSummary(
        items=items,
        sent=sent,
        failed=failed,
        invalid=totals["invalid"],
        unknown=unknown,
        held=held,
        batches=batches,
        parts=totals["parts"],
        cost=totals["cost"],
        balance=totals["balance"],
        reconciled=totals["reconciled"],
        uncosted_batches=totals["uncosted"],
        complete=complete,
        stopped_by=ledger.stopped_by,
        interrupted=interrupted,
        split=by_state.get("split", (0, 0))[0],
    )
