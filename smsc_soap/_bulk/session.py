"""Bulk sending: many personalised messages packed into ``list`` requests, journaled, resumable.

Items are read lazily from any iterable, packed into batches (at most ``batch_size`` lines and
``max_batch_chars`` characters of ``list`` text per request; every line ``[sender|]phones:mes``) and sent with
``send_sms2`` by at most ``concurrency`` threads (the service refuses 15 or more concurrent requests per
login). One batch is one request and one message id. Memory stays flat: only the batches in flight are
held; everything else is in the journal.

Every batch is committed to the :class:`~smsc_soap._bulk.journal.Journal` before its request can leave, and its
outcome after. Commits are grouped: the driver journals batches ahead of its free slots, several in
one commit (see :func:`journal_ahead`), and an outcome is committed with the next commit (or when the
run ends, is interrupted, or the oldest outcome has waited ``FLUSH_SECONDS``). When the outcome of a send
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
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
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
from .ledger import BulkProgress, BulkSummary, Ledger, batch_from_record, stops_run, summary
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

#: At most this many batches are journaled in one commit.
OPEN_AT_ONCE = 16


def journal_ahead(concurrency: int) -> tuple[int, int]:
    """How many batches the drivers keep journaled ahead of the free slots, and the level at which
    they journal more: ``(concurrency, concurrency // 2)``.

    Batches are built and committed (as ``sending``) in groups while the slots are busy, so a slot
    that frees up is filled at once, without waiting for a commit. A crash can leave up to that many
    batches journaled but never sent: resume settles each with ``get_status`` (not found, so sent
    then), as after a crash mid-send. A run that stops deletes the ones it did not send.
    """
    ahead = max(1, min(concurrency, OPEN_AT_ONCE))
    return ahead, ahead // 2


Chunk = tuple[list[Line], list[Invalid]]


def next_group(chunks: Iterator[Chunk], count: int) -> tuple[list[Chunk], list[Invalid] | None]:
    """Up to ``count`` chunks that hold lines, read from ``chunks`` (both drivers journal them as one
    group); and, once the input has ended, the invalid items after its last batch (None before)."""
    group: list[Chunk] = []
    while len(group) < count:
        chunk = next(chunks, None)
        if chunk is None:
            return group, []
        if not chunk[0]:
            return group, chunk[1]
        group.append(chunk)
    return group, None


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
    """The thread driver: the producer on the calling thread, ``concurrency`` sender threads.

    The producer reads, batches and journals (``sending``, several batches per commit) ahead of the
    senders, and records the outcomes they hand back. Each sender takes the next journaled batch
    itself as soon as it is free, so a slow commit on the producer's side never leaves a slot idle
    while batches are ready.
    """

    def __init__(self, client: SoapSmsc, session: Session) -> None:
        self.client = client
        self.session = session
        self.ready: deque[Batch] = deque()  # journaled as 'sending', not taken by a sender yet
        self.cond = threading.Condition(threading.Lock())
        self.closing = False
        self.taken = 0  # batches taken by senders (under cond)
        self.recorded = 0  # their outcomes recorded (by the producer)
        #: Batches a sender is delivering now (under cond): the requests in flight, at most
        #: ``concurrency``. ``taken - recorded`` also counts outcomes handed back, not recorded yet.
        self.active = 0
        #: Outcomes handed back by the senders; None: the journaled batches ran low (journal more).
        self.done: SimpleQueue[tuple[Batch, Outcome | None, BaseException | None] | None]
        self.done = SimpleQueue()
        self.low = 0
        #: Batches a previous session journaled, offered again: never deleted when the run stops
        #: (their items are not read again; they stay unfinished for the next resume).
        self.reopened: set[int] = set()

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
        """Run the batch's plan on this (sender) thread; journal steps go through the ledger's lock."""
        return drive(self.session.plan(batch), self._perform)

    def _send_loop(self) -> None:
        """A sender thread: take the next journaled batch, deliver it, hand the outcome back."""
        ready, cond, stop = self.ready, self.cond, self.session.stop
        while True:
            with cond:
                while not ready or stop.is_set():
                    if self.closing:
                        return
                    cond.wait()
                batch = ready.popleft()
                self.taken += 1
                self.active += 1
                if len(ready) == self.low:
                    self.done.put(None)  # wake the producer: time to journal the next group
            try:
                outcome = self.deliver(batch)
            except BaseException as exc:  # a journal failure or a bug: the producer re-raises it
                stop.set()
                self.done.put((batch, None, exc))
                self._delivered()
                continue
            if stops_run(outcome):
                stop.set()  # before this sender could take another batch; the producer says why
            self.done.put((batch, outcome, None))
            self._delivered()

    def _delivered(self) -> None:
        """The outcome is handed back: this sender is free (see :meth:`_wait_idle`)."""
        with self.cond:
            self.active -= 1
            if not self.active:
                self.cond.notify_all()

    def _wait_idle(self) -> None:
        """Wait until no sender is delivering (the run is stopped: none takes another batch); their
        outcomes are then all in the queue."""
        with self.cond:
            while self.active:
                self.cond.wait()

    def _in_flight(self) -> int:
        return self.taken - self.recorded

    def _offer(self, batches: list[Batch]) -> None:
        """Hand journaled batches to the senders."""
        with self.cond:
            self.ready.extend(batches)
            self.cond.notify(len(batches))

    def _record(self, *, block: bool) -> None:
        """Record the outcomes handed back; with ``block``, wait for one (or for a due flush)."""
        ledger = self.session.ledger
        # Something will come back: a batch in flight, or one journaled that a sender will take.
        busy = self._in_flight() > 0 or (self.ready and not self.session.stop.is_set())
        if block and busy:
            try:
                item = self.done.get(timeout=ledger.flush_due_in())
            except Empty:
                ledger.flush_if_due()  # a long wait: the outcomes recorded so far are committed
                return
        else:
            try:
                item = self.done.get_nowait()
            except Empty:
                return
        while True:
            if item is None:  # a wake-up, no outcome
                try:
                    item = self.done.get_nowait()
                except Empty:
                    return
                continue
            batch, outcome, error = item
            self.recorded += 1
            ledger.counters.in_flight = self.active  # requests out now, not outcomes to record
            if error is not None:
                raise error
            assert outcome is not None
            ledger.record(batch, outcome)
            try:
                item = self.done.get_nowait()
            except Empty:
                return

    def _wait_for_room(self, low: int) -> None:
        """Record outcomes until at most ``low`` journaled batches wait for a sender (or the run stops)."""
        while len(self.ready) > low and not self.session.stop.is_set():
            self._record(block=True)

    def run(self, items: Iterable[Item], start: int) -> None:
        """Read, batch, journal and send every item from ``start`` on, ``concurrency`` at a time.

        Batches are journaled ahead of the senders (see :func:`journal_ahead`): built and committed
        in groups, with the outcomes recorded since the last commit, while the senders are busy.
        Those a stopped run did not send are deleted from the journal.
        """
        session = self.session
        ledger = session.ledger
        stop = session.stop
        ahead, low = journal_ahead(session.concurrency)
        self.low = low
        senders = [
            threading.Thread(target=self._send_loop, name=f"smsc-bulk-{n}", daemon=True)
            for n in range(session.concurrency)
        ]
        for sender in senders:
            sender.start()
        try:
            try:
                records = ledger.unfinished()  # a previous session's: reconciled or sent again
                while records and not stop.is_set():
                    self._wait_for_room(low)
                    if stop.is_set():
                        break
                    take = min(ahead - len(self.ready), OPEN_AT_ONCE, len(records))
                    batches = ledger.reopen_many(records[:take])  # one commit
                    self.reopened.update(batch.seq for batch in batches)
                    self._offer(batches)
                    records = records[take:]
                chunks = session.chunks(items, start)
                tail: list[Invalid] = []
                reading = True
                while True:
                    self._record(block=False)
                    if stop.is_set():
                        break
                    if reading and len(self.ready) <= low:
                        group, end = next_group(chunks, ahead - len(self.ready))
                        if end is not None:
                            reading, tail = False, end
                        if group:
                            # Durable (one commit, with the outcomes so far) before any is sent.
                            self._offer(ledger.open_batches(group))
                            continue
                    if not reading and not self.ready:
                        ledger.add_invalid(tail)  # after every batch before them
                        break
                    self._record(block=True)  # the senders are busy: wait for an outcome
                while self._in_flight() > 0:
                    self._record(block=True)
                ledger.flush()
            except BaseException:
                # Interrupted: let the requests in flight finish and record them, then re-raise.
                # Waits for the senders, not for a count of outcomes: an interrupt between taking
                # an outcome from the queue and counting it would leave that count short forever.
                stop.set()
                self._wait_idle()
                while True:
                    try:
                        self._record(block=False)  # every outcome handed back
                        break
                    except Exception:  # its batch stays 'sending': resume reconciles it
                        continue
                with suppress(Exception):  # if this fails too, closing the journal tries again
                    ledger.flush()
                raise
        finally:
            with self.cond:
                self.closing = True
                waiting = list(self.ready) if stop.is_set() else []
                self.cond.notify_all()
            for sender in senders:
                sender.join()
            # Journaled ahead in this session but never sent (the run stopped): as if never read.
            # A previous session's batches stay unfinished for the next resume, those it had held
            # (never sent) held again.
            unsent = [b for b in waiting if b.seq not in self.reopened]
            held = [b for b in waiting if b.seq in self.reopened and not b.reconcile_first]
            with suppress(Exception):  # left 'sending', resume would settle them by status
                ledger.drop_unsent(unsent)
            with suppress(Exception):
                ledger.hold_again(held)


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
