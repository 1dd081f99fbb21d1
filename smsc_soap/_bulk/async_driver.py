"""Bulk sending from asyncio: :func:`send_bulk_async`, the event-loop driver of :mod:`smsc_soap._bulk.session`.

Batching (``batcher``), the journal and counters (``ledger``), the delivery plan (``plan``: send, reconcile
by status, resend, split a batch refused with error 6) and the summary are those of the thread driver;
only the way the plan's steps are performed differs: one task
per batch, at most ``concurrency`` at a time (a semaphore), on an :class:`AsyncSoapSmsc`. The journal is
written by one dedicated thread, in order: each commit waits for ``fsync`` (synchronous=FULL), about a
millisecond on a disk, which inline would stall every reply behind it (measured: 10,000 messages at
50 ms latency took 0.73 s with inline commits on disk, 0.63 s with the journal in memory). A batch is
committed as ``sending`` before its task starts; batches are journaled ahead of the free slots, several
in one commit with the outcomes recorded since the last one, while the batches already journaled are
started (see :func:`~smsc_soap._bulk.session.journal_ahead`); those a stopped run did not start are
deleted. Outcomes wait at most ``FLUSH_SECONDS`` to be committed, and are committed when the run ends
or is interrupted.

Cancellation (``task.cancel()``, ``asyncio.timeout``, Ctrl-C under ``asyncio.run``) cancels the
requests in flight and re-raises once the journal thread is idle: their batches stay ``sending`` in
the journal (or ``sent``, if the reply was already being written) and are reconciled by status on
``resume=True``, exactly like after a crash. A :class:`KeyboardInterrupt`
raised inside the run (by the input iterable, say) lets the requests in flight finish and raises
:class:`~smsc_soap._bulk.session.BulkInterrupted`, as the sync driver does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._exceptions import SmscError
from .batcher import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_BATCH_CHARS,
    Invalid,
    Item,
)
from .journal import FLUSH_SECONDS, account_digest
from .ledger import BulkProgress, BulkSummary, Ledger
from .plan import Batch, Outcome, Plan, Send, Sleep, Status, Step, send_args
from .session import (
    OPEN_AT_ONCE,
    BulkInterrupted,
    Session,
    _open_session,
    _summary,
    journal_ahead,
    next_group,
)

if TYPE_CHECKING:
    from .._client.async_client import AsyncSoapSmsc

__all__ = ["send_bulk_async"]

T = TypeVar("T")


class _AsyncRunner:
    """The asyncio driver: the producer on the calling task, one task per batch in flight.

    Every journal call runs on one dedicated thread, in order: a commit waits for the disk (``fsync``)
    with the GIL released, so the loop keeps serving replies meanwhile.
    """

    def __init__(self, client: AsyncSoapSmsc, session: Session) -> None:
        self.client = client
        self.session = session
        self.slots = asyncio.Semaphore(session.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.active = 0  # batch tasks holding a slot: the requests in flight
        self.failure: BaseException | None = None
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="smsc-bulk-journal")
        self.flush_timer: asyncio.TimerHandle | None = None
        #: Batches journaled as 'sending' ahead of the slots, not sent yet, and the commit of the
        #: next group, when one is running on the journal thread.
        self.ready: deque[Batch] = deque()
        self.opening: Future[list[Batch]] | None = None

    async def _journal(self, call: Callable[..., T], *args: Any) -> T:
        """Run one journal call on the journal thread; it completes even if this task is cancelled."""
        return await asyncio.get_running_loop().run_in_executor(self.writer, call, *args)

    async def _perform(self, step: Step) -> object:
        if isinstance(step, Send):
            return await self.client.send_sms2("", "", **send_args(step.batch))
        if isinstance(step, Status):
            batch = step.batch
            assert batch.check_phone is not None
            return await self.client.get_status(batch.message_id, batch.check_phone)
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        return await self._journal(self.session.perform_journal, step)

    async def _deliver(self, batch: Batch) -> Outcome:
        """Run the batch's plan, awaiting each step; SmscErrors go back into the plan."""
        plan: Plan = self.session.plan(batch)
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
                    value = await self._perform(step)
                except SmscError as exc:
                    error = exc
        finally:
            plan.close()

    async def _batch_task(self, batch: Batch) -> None:
        ledger = self.session.ledger
        try:
            outcome = await self._deliver(batch)
            failed_items = await self._journal(ledger.write, batch, outcome)
            self._flush_later()
            ledger.count(batch, outcome, failed_items)
        except asyncio.CancelledError:
            raise  # unless its outcome was already written, the batch stays 'sending': resume reconciles
        except BaseException as exc:  # a journal failure, a bug: stop the run and report it
            if self.failure is None:
                self.failure = exc
            self.session.stop.set()
        finally:
            self._finished()

    def _flush_later(self) -> None:
        """Commit the deferred outcomes within ``FLUSH_SECONDS``, whatever else happens meanwhile."""
        if self.flush_timer is None:
            self.flush_timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush)

    def _flush(self) -> None:
        self.flush_timer = None
        self.writer.submit(self.session.ledger.flush)  # after the journal calls queued before it

    def _start(self, batch: Batch) -> None:
        task = asyncio.create_task(self._batch_task(batch), name=f"smsc-bulk-{batch.seq}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.active += 1
        self.session.ledger.counters.in_flight = self.active

    def _finished(self) -> None:
        """A batch task is done with its slot. Counted here, not when the task is discarded: a
        task done but not yet discarded (its callback still queued) holds no slot, and a batch
        started meanwhile would be counted over the concurrency."""
        self.active -= 1
        self.session.ledger.counters.in_flight = self.active
        self.slots.release()

    async def _room(self) -> bool:
        """Wait for a free slot; False (and no slot taken) when the run has been told to stop."""
        await self.slots.acquire()
        if self.session.stop.is_set():
            self.slots.release()
            return False
        return True

    async def _drain(self) -> None:
        while self.tasks:
            await asyncio.wait(list(self.tasks))

    async def _produce(self, items: Iterable[Item], start: int) -> None:
        session = self.session
        ledger = session.ledger
        records = await self._journal(ledger.unfinished)  # a previous session's
        while records:
            if not await self._room():
                return
            taken = 1
            while taken < min(len(records), OPEN_AT_ONCE) and not self.slots.locked():
                await self.slots.acquire()  # a free slot: taken at once
                taken += 1
            for batch in await self._journal(ledger.reopen_many, records[:taken]):  # one commit
                self._start(batch)
            records = records[taken:]
        chunks = session.chunks(items, start)
        ahead, low = journal_ahead(session.concurrency)
        ready = self.ready
        reading = True
        tail: list[Invalid] = []  # invalid items after the last batch
        while True:
            opening = self.opening
            if opening is not None and (opening.done() or not ready):
                opened: list[Batch] = await asyncio.wrap_future(opening)
                self.opening = None  # (cancelled while waiting, the run's end still drops them)
                ready.extend(opened)
                continue
            if opening is None and reading and len(ready) <= low:
                group, end = next_group(chunks, ahead - len(ready))
                if end is not None:
                    reading, tail = False, end
                if group:
                    # Committed as 'sending', in one commit, before any of their requests can leave.
                    # The commit runs on the journal thread while the batches ready are started.
                    self.opening = self.writer.submit(ledger.open_batches, group)
                    continue
            if not ready:
                if tail:  # after every batch before them
                    await self._journal(ledger.add_invalid, tail)
                return
            if not await self._room():
                return
            self._start(ready.popleft())

    async def run(self, items: Iterable[Item], start: int) -> None:
        """Read, batch, journal and send every item from ``start`` on, ``concurrency`` at a time."""
        session = self.session
        flushed: Future[None] | None = None
        try:
            await self._produce(items, start)
            await self._drain()
        except asyncio.CancelledError:
            session.stop.set()
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            raise
        except BaseException:
            # Interrupted from inside (KeyboardInterrupt from the input, say): let the requests in
            # flight finish and record them, then re-raise.
            session.stop.set()
            await self._drain()
            raise
        finally:
            # A journal call of a cancelled task may still be running: let it finish, then commit
            # the deferred outcomes, before the journal is closed.
            if self.flush_timer is not None:
                self.flush_timer.cancel()
                self.flush_timer = None
            flushed = self.writer.submit(session.ledger.flush)
            # Journaled ahead but never sent (the run stopped): as if never read. The journal thread
            # runs calls in order, so a group being committed is committed before this runs.
            unsent, opening = list(self.ready), self.opening
            self.ready.clear()
            self.opening = None
            if unsent or opening is not None:
                self.writer.submit(_drop_unsent, session.ledger, unsent, opening)
            self.writer.shutdown(wait=True)
        if self.failure is not None:
            raise self.failure
        flushed.result()  # interrupted, a failed flush is tried again when the journal closes


def _drop_unsent(ledger: Ledger, unsent: list[Batch], opening: Future[list[Batch]] | None) -> None:
    """On the journal thread: delete the batches journaled ahead that were never sent."""
    if opening is not None and opening.exception() is None:
        unsent = unsent + opening.result()
    ledger.drop_unsent(unsent)


async def send_bulk_async(
    client: AsyncSoapSmsc,
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
    """Send personalised ``messages`` in journaled ``list`` batches from asyncio; see :func:`send_bulk`.

    The same options, journal, resume rules and summary as :func:`~smsc_soap._bulk.session.send_bulk`, with an
    :class:`AsyncSoapSmsc`; up to ``concurrency`` batches are in flight as tasks of the running loop.
    ``messages`` is a plain iterable, read on the event loop between sends. Cancelled, the run
    cancels its requests in flight and re-raises; their batches are reconciled on ``resume=True``.
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
            await _AsyncRunner(client, session).run(messages, start)
        except KeyboardInterrupt:
            interrupted = True
        result = _summary(session, interrupted)
    if interrupted:
        raise BulkInterrupted(result)
    return result
