"""Bulk sending from asyncio: :func:`send_bulk_async`, the event-loop driver of :mod:`smsc_soap._bulk`.

Batching, the journal, the delivery decisions (send, reconcile by status, resend) and the summary are
those of the thread driver (``_bulk._Session``); only the way requests are performed differs: one task
per batch, at most ``concurrency`` at a time (a semaphore), on an :class:`AsyncSoapSmsc`. The journal is
written inline on the event loop (a commit takes well under a millisecond on a local disk), so there is
no await between a reply and its journal record, and the producer is the only reader of the input.

Cancellation (``task.cancel()``, ``asyncio.timeout``, Ctrl-C under ``asyncio.run``) cancels the
requests in flight and re-raises at once: their batches stay ``sending`` in the journal and are
reconciled by status on ``resume=True``, exactly like after a crash. A :class:`KeyboardInterrupt`
raised inside the run (by the input iterable, say) lets the requests in flight finish and raises
:class:`~smsc_soap._bulk.BulkInterrupted`, as the sync driver does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._bulk import (
    _SEND,
    _STATUS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_BATCH_CHARS,
    BulkInterrupted,
    BulkProgress,
    BulkSummary,
    Item,
    Plan,
    Step,
    _Batch,
    _open_session,
    _Outcome,
    _Session,
    _summary,
)
from ._exceptions import SmscError

if TYPE_CHECKING:
    from ._async_client import AsyncSoapSmsc

__all__ = ["send_bulk_async"]


class _AsyncRunner:
    """The asyncio driver: the producer on the calling task, one task per batch in flight."""

    def __init__(self, client: AsyncSoapSmsc, session: _Session) -> None:
        self.client = client
        self.session = session
        self.slots = asyncio.Semaphore(session.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None

    async def _perform(self, batch: _Batch, step: Step) -> object:
        if step == _SEND:
            return await self.client.send_sms2("", "", **self.session.send_args(batch))
        if step == _STATUS:
            assert batch.check_phone is not None
            return await self.client.get_status(batch.message_id, batch.check_phone)
        assert isinstance(step, float | int)
        await asyncio.sleep(step)
        return None

    async def _deliver(self, batch: _Batch) -> _Outcome:
        """Run the batch's plan, awaiting each step; SmscErrors go back into the plan."""
        plan: Plan = self.session.plan(batch)
        value: object = None
        error: SmscError | None = None
        try:
            while True:
                try:
                    step = plan.send(value) if error is None else plan.throw(error)
                except StopIteration as done:
                    outcome: _Outcome = done.value
                    return outcome
                value = error = None
                try:
                    value = await self._perform(batch, step)
                except SmscError as exc:
                    error = exc
        finally:
            plan.close()

    async def _batch_task(self, batch: _Batch) -> None:
        try:
            outcome = await self._deliver(batch)
            # No await between the reply and its record: a cancellation cannot fall in between.
            self.session.record(batch, outcome)
        except asyncio.CancelledError:
            raise  # the batch stays 'sending': resume reconciles it
        except BaseException as exc:  # a journal failure, a bug: stop the run and report it
            if self.failure is None:
                self.failure = exc
            self.session.stop.set()
        finally:
            self.slots.release()

    def _start(self, batch: _Batch) -> None:
        task = asyncio.create_task(self._batch_task(batch), name=f"smsc-bulk-{batch.seq}")
        self.tasks.add(task)
        task.add_done_callback(self._done)
        self.session.in_flight = len(self.tasks)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.session.in_flight = len(self.tasks)

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

    async def run(self, items: Iterable[Item], start: int) -> None:
        """Read, batch, journal and send every item from ``start`` on, ``concurrency`` at a time."""
        session = self.session
        try:
            for batch in session.resumable():
                await self.slots.acquire()
                self._start(batch)
            for lines, invalid in session.chunks(items, start):
                if not lines:
                    session.add_invalid(invalid)
                    break
                if not await self._room():
                    break
                self._start(session.open_batch(lines, invalid))
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
        if self.failure is not None:
            raise self.failure


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

    The same options, journal, resume rules and summary as :func:`~smsc_soap._bulk.send_bulk`, with an
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
    ) as (session, start):
        interrupted = False
        try:
            await _AsyncRunner(client, session).run(messages, start)
        except KeyboardInterrupt:
            interrupted = True
        summary = _summary(session, interrupted)
    if interrupted:
        raise BulkInterrupted(summary)
    return summary
