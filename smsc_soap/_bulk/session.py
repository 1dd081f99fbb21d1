"""Bulk sending: many personalised messages packed into ``list`` requests, journaled, resumable.

Items are read lazily from any iterable, packed into batches (at most ``batch_size`` lines and
``max_batch_chars`` characters of ``list`` text per request; every line ``[sender|]phones:mes``) and sent with
``send_sms2`` by at most ``concurrency`` threads (the service refuses 15 or more concurrent requests per
login). One batch is one request and one message id. Memory stays flat: only the batches in flight are
held; everything else is in the journal.

Every batch is committed to the :class:`~smsc_soap._bulk.journal.Journal` before its request can leave, and its
outcome after. Commits are grouped: the driver opens as many batches as it has free slots (at most
:data:`OPEN_AT_ONCE`) in one commit, and an outcome is committed with the next commit (or when the run
ends, is interrupted, or the oldest outcome has waited ``FLUSH_SECONDS``). When the outcome of a send
is unknown (a timeout after sending, a dropped connection, or a duplicate refusal), the batch is reconciled: ``get_status`` of its id for its first number; found means
sent, not found means the identical request is sent again (within 60 s the service's duplicate check
would also refuse a second copy). ``resume=True`` does the same for every batch a crashed run left
unfinished, then continues with the items after the last recorded batch. A batch the service refuses
whole with error 6 is split to isolate the refused rows (see :mod:`smsc_soap._bulk.plan`).

This module holds :func:`send_bulk`, its thread driver and the wiring of a session: the batcher
(:mod:`~smsc_soap._bulk.batcher`), the ledger (journal bookkeeping and counters,
:mod:`~smsc_soap._bulk.ledger`) and the delivery plan (:mod:`~smsc_soap._bulk.plan`).
"""

from __future__ import annotations

import tempfile
import threading
import time as _time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import SmscError, SmscValidationError
from .batcher import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_BATCH_CHARS,
    MAX_CONCURRENCY,
    Batcher,
    BulkEstimate,
    Invalid,
    Item,
    Line,
    check_sizes,
    estimate_bulk,
)
from .journal import AccountDigest, Journal, JournalError, account_digest
from .ledger import BulkProgress, BulkSummary, Ledger, batch_from_record, summary
from .plan import (
    Batch,
    Finish,
    Outcome,
    Plan,
    PlanPolicy,
    Send,
    Sleep,
    Split,
    Status,
    Step,
    delivery_plan,
    send_args,
)
from .rows import check_run_request

if TYPE_CHECKING:
    from .._client.sync_client import SoapSmsc

__all__ = [
    "MAX_CONCURRENCY",
    "BulkEstimate",
    "BulkInterrupted",
    "BulkProgress",
    "BulkSummary",
    "Session",
    "drive",
    "estimate_bulk",
    "send_bulk",
]

# Kept for code that imported it from here.
_batch_from_record = batch_from_record

#: At most this many batches are journaled in one commit (as many as there are free slots).
OPEN_AT_ONCE = 16


def group_size(free: int, in_flight: int) -> int:
    """How many batches to build and journal in one commit: one per free slot, at most
    :data:`OPEN_AT_ONCE`, and at most as many as are in flight already (at least one).

    The first request leaves as soon as its batch is built; groups then grow with the requests in
    flight, so building a group never holds back a slot that could be busy.
    """
    return max(1, min(free, in_flight, OPEN_AT_ONCE))


@dataclass(slots=True)
class Session:
    """The wiring of one session of a bulk run: its batcher, its ledger and its delivery policy."""

    batcher: Batcher
    ledger: Ledger
    policy: PlanPolicy
    concurrency: int
    stop: threading.Event

    def plan(self, batch: Batch) -> Plan:
        """The delivery plan of ``batch`` under this session's policy."""
        return delivery_plan(batch, self.policy, self.stop)

    def chunks(
        self, items: Iterable[Item], start: int
    ) -> Iterator[tuple[list[Line], list[Invalid]]]:
        """The batcher's chunks of ``items`` from ``start``, counted in the ledger."""
        return self.batcher.chunks(items, start, self.ledger.counters)

    def perform_journal(self, step: Split | Finish) -> object:
        """Perform a journal step of a plan (the split of a refused batch, the outcome of a part)."""
        if isinstance(step, Split):
            return self.ledger.split(step.batch, step.groups, step.refusal)
        return self.ledger.write(step.batch, step.outcome)


def drive(plan: Plan, perform: Callable[[Step], object]) -> Outcome:
    """Run a delivery plan with a blocking ``perform``; SmscErrors go back into the plan."""
    value: object = None
    error: SmscError | None = None
    try:
        while True:
            try:
                step = plan.send(value) if error is None else plan.throw(error)
            except StopIteration as done:
                outcome: Outcome = done.value
                return outcome
            value = error = None
            try:
                value = perform(step)
            except SmscError as exc:
                error = exc
    finally:
        plan.close()


class _Runner:
    """The thread driver: the producer loop on the calling thread, sends on a pool of threads."""

    def __init__(self, client: SoapSmsc, session: Session) -> None:
        self.client = client
        self.session = session
        self.in_flight: dict[Future[Outcome], Batch] = {}

    def _perform(self, step: Step) -> object:
        if isinstance(step, Send):
            return self.client.send_sms2("", "", **send_args(step.batch))
        if isinstance(step, Status):
            batch = step.batch
            assert batch.check_phone is not None
            return self.client.get_status(batch.message_id, batch.check_phone)
        if isinstance(step, Sleep):
            _time.sleep(step.seconds)
            return None
        return self.session.perform_journal(step)

    def deliver(self, batch: Batch) -> Outcome:
        """Run the batch's plan on this (worker) thread; journal steps go through the ledger's lock."""
        return drive(self.session.plan(batch), self._perform)

    def _submit(self, pool: ThreadPoolExecutor, batch: Batch) -> None:
        future = pool.submit(self.deliver, batch)
        self.in_flight[future] = batch
        self.session.ledger.counters.in_flight = len(self.in_flight)

    def _collect(self, *, block: bool) -> None:
        if not self.in_flight:
            return
        ledger = self.session.ledger
        done, _ = wait(
            list(self.in_flight),
            timeout=ledger.flush_due_in() if block else 0,
            return_when=FIRST_COMPLETED,
        )
        if not done:
            ledger.flush_if_due()  # a long wait: the outcomes recorded so far are committed
        for future in done:
            batch = self.in_flight.pop(future)
            self.session.ledger.counters.in_flight = len(self.in_flight)
            self.session.ledger.record(batch, future.result())

    def _room(self) -> None:
        while len(self.in_flight) >= self.session.concurrency:
            self._collect(block=True)
        self._collect(block=False)

    def _free(self) -> int:
        return self.session.concurrency - len(self.in_flight)

    def run(self, items: Iterable[Item], start: int) -> None:
        """Read, batch, journal and send every item from ``start`` on, ``concurrency`` at a time.

        As many batches as there are free slots (at most :data:`OPEN_AT_ONCE`) are built, then
        journaled in one commit, with the outcomes recorded since the last commit, and sent.
        """
        session = self.session
        ledger = session.ledger
        with ThreadPoolExecutor(session.concurrency, thread_name_prefix="smsc-bulk") as pool:
            try:
                records = ledger.unfinished()  # a previous session's: reconciled or sent again
                while records:
                    self._room()
                    if session.stop.is_set():
                        break
                    take = min(self._free(), OPEN_AT_ONCE)
                    for batch in ledger.reopen_many(records[:take]):  # one commit
                        self._submit(pool, batch)
                    records = records[take:]
                chunks = session.chunks(items, start)
                ready: list[tuple[list[Line], list[Invalid]]] = []
                tail: list[Invalid] = []  # invalid items after the last batch
                reading = True
                while True:
                    self._collect(block=False)
                    wanted = group_size(self._free(), len(self.in_flight))
                    while reading and len(ready) < wanted:
                        chunk = next(chunks, None)
                        if chunk is not None and chunk[0]:
                            ready.append(chunk)
                        else:
                            reading = False
                            tail = [] if chunk is None else chunk[1]
                    if not ready:
                        ledger.add_invalid(tail)  # after every batch before them
                        break
                    self._room()
                    if session.stop.is_set():
                        break
                    free = self._free()
                    group, ready = ready[:free], ready[free:]
                    for batch in ledger.open_batches(group):  # durable before any is sent
                        self._submit(pool, batch)
                while self.in_flight:
                    self._collect(block=True)
                ledger.flush()
            except BaseException:
                # Interrupted: let the requests in flight finish and record them, then re-raise.
                session.stop.set()
                while self.in_flight:
                    self._collect(block=True)
                with suppress(Exception):  # if this fails too, closing the journal tries again
                    ledger.flush()
                raise


def _run_key(base_request: Mapping[str, Any], batch_size: int, run_key: str | None) -> str:
    import hashlib
    import json

    data = json.dumps(
        {"request": base_request, "batch_size": batch_size, "key": run_key}, sort_keys=True
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _base_request(
    query: Mapping[str, Any] | None, sender: str | None, time: str | int | None
) -> dict[str, Any]:
    extra = {str(k): str(v) for k, v in (query or {}).items()}
    if "list" in {k.lower() for k in extra}:
        raise SmscValidationError("query must not hold 'list': the batches build it", field="query")
    extra.setdefault("cost", "3")
    extra.setdefault("err", "1")
    from .._params.options import check_query_options

    check_query_options(extra, "send_sms2", None)  # cost=1, bad values: refused before any batch
    base_request: dict[str, Any] = {"query": extra}
    if sender is not None:
        base_request["sender"] = sender
    if time is not None:
        base_request["time"] = str(time)
    return base_request


@contextmanager
def _open_session(
    journal: str | Path | None,
    *,
    resume: bool,
    concurrency: int,
    batch_size: int,
    max_batch_chars: int,
    sender: str | None,
    time: str | int | None,
    query: Mapping[str, Any] | None,
    run_key: str | None,
    on_progress: Callable[[BulkProgress], None] | None,
    retry_delay: float,
    max_attempts: int,
    account: AccountDigest | None = None,
) -> Iterator[tuple[Session, int]]:
    """Check the options, open (and lock) the journal of the run, and yield its session and start.

    ``start`` is the first input item this session reads (after the last journaled batch on resume).
    ``account`` ties the journal to the client's account (a resume under another is refused).
    """
    check_sizes(batch_size, max_batch_chars, concurrency)
    base_request = _base_request(query, sender, time)
    check_run_request(base_request)  # --time, sender and query, before any journal exists
    temporary: tempfile.TemporaryDirectory[str] | None = None
    if journal is None:
        if resume:
            raise SmscValidationError("resume=True needs the journal of the run", field="resume")
        temporary = tempfile.TemporaryDirectory(prefix="smsc-bulk-")
        journal = Path(temporary.name) / "journal.db"
    path = Path(journal)
    try:
        if resume and not path.exists():
            raise JournalError(f"there is no journal {path.name} to resume")
        key = _run_key(base_request, batch_size, run_key)
        with Journal(path, resume=resume) as book:
            book.bind(key, account, resume=resume)
            stop = threading.Event()
            session = Session(
                Batcher(batch_size, max_batch_chars, stop),
                Ledger(book, base_request, on_progress, stop),
                PlanPolicy(retry_delay, max_attempts),
                concurrency,
                stop,
            )
            yield session, book.consumed() if resume else 0
    finally:
        if temporary is not None:
            temporary.cleanup()


def send_bulk(
    client: SoapSmsc,
    messages: Iterable[Item],
    *,
    journal: str | Path | None = None,
    resume: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    sender: str | None = None,
    time: str | int | None = None,
    query: Mapping[str, Any] | None = None,
    run_key: str | None = None,
    on_progress: Callable[[BulkProgress], None] | None = None,
    retry_delay: float = 1.0,
    max_attempts: int = 3,
) -> BulkSummary:
    """Send personalised ``messages`` (ListMessage or ``(phones, mes[, sender])``) in journaled ``list`` batches.

    ``journal`` is a SQLite file; with ``resume=True`` an interrupted run continues from it (the same
    ``messages`` in the same order must be given again) and sends nothing twice. Without a journal a
    temporary one is used. ``query`` adds parameters to every request (``cost=3`` and ``err=1`` are
    added unless given). An item that is a :class:`SmscValidationError` counts as an invalid item.
    A batch the service refuses whole with error 6 is split to isolate the refused rows (at most
    ``MAX_SPLIT_REQUESTS`` extra requests per batch; see :mod:`smsc_soap._bulk.plan`).
    Ctrl-C lets the requests in flight finish, records them, and raises :class:`BulkInterrupted`.
    The journal is bound to the client's account: a resume under another account, or of a file that
    holds no run (empty, not a journal, damaged, copied without its ``-wal``), raises
    :class:`JournalError` before anything is sent.
    """
    with _open_session(
        journal,
        resume=resume,
        concurrency=concurrency,
        batch_size=batch_size,
        max_batch_chars=max_batch_chars,
        sender=sender,
        time=time,
        query=query,
        run_key=run_key,
        on_progress=on_progress,
        retry_delay=retry_delay,
        max_attempts=max_attempts,
        account=account_digest(client),
    ) as (session, start):
        interrupted = False
        try:
            _Runner(client, session).run(messages, start)
        except KeyboardInterrupt:
            interrupted = True
        result = _summary(session, interrupted)
    if interrupted:
        raise BulkInterrupted(result)
    return result


class BulkInterrupted(KeyboardInterrupt):
    """Raised when a bulk run is interrupted (Ctrl-C): ``summary`` tells what was recorded."""

    def __init__(self, summary: BulkSummary) -> None:
        super().__init__("bulk run interrupted")
        self.summary = summary


def _summary(session: Session, interrupted: bool) -> BulkSummary:
    return summary(session.ledger, interrupted)
