"""Bulk sending: many personalised messages packed into ``list`` requests, journaled, resumable.

Items are read lazily from any iterable, packed into batches (at most ``batch_size`` lines and
``max_batch_chars`` characters of ``list`` text per request; every line ``[sender|]phones:mes``) and sent with
``send_sms2`` by at most ``concurrency`` threads (the service refuses 15 or more concurrent requests per
login). One batch is one request and one message id. Memory stays flat: only the batches in flight are
held; everything else is in the journal.

Every batch is committed to the :class:`~smsc_soap._bulk.journal.Journal` before its request can leave, and its
outcome after. When the outcome of a send is unknown (a timeout after sending, a dropped connection, or a
duplicate refusal), the batch is reconciled: ``get_status`` of its id for its first number; found means
sent, not found means the identical request is sent again (within 60 s the service's duplicate check
would also refuse a second copy). ``resume=True`` does the same for every batch a crashed run left
unfinished, then continues with the items after the last recorded batch.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time as _time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from .._exceptions import (
    AuthenticationError,
    Delivery,
    DuplicateSendError,
    InsufficientFundsError,
    IpBlockedError,
    MessageNotFoundError,
    SendOutcomeUnknownError,
    SmscApiError,
    SmscError,
    SmscValidationError,
)
from .._params.listmsg import ListMessage
from .._params.listmsg import _line as _encode_line
from .._params.segments import segments
from .journal import AccountDigest, BatchRecord, Journal, JournalError, account_digest
from .rows import check_run_request

if TYPE_CHECKING:
    from .._client.sync_client import SoapSmsc

__all__ = [
    "MAX_CONCURRENCY",
    "BulkEstimate",
    "BulkProgress",
    "BulkSummary",
    "estimate_bulk",
    "send_bulk",
]

#: The service refuses 15 or more simultaneous requests under one login.
MAX_CONCURRENCY = 14
DEFAULT_CONCURRENCY = 4
DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_BATCH_CHARS = 20_000

Item = ListMessage | tuple[Any, ...] | SmscValidationError
_LIST_FIELD = re.compile(r"list\[\d+\]\.(\w+)")
_RUN_LEVEL: tuple[type[SmscError], ...] = (
    AuthenticationError,
    InsufficientFundsError,
    IpBlockedError,
)


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
    """The outcome of a bulk run, totalled over every session of its journal."""

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


@dataclass(frozen=True, slots=True)
class BulkEstimate:
    """What a bulk run would send: items, invalid items by reason, recipients, parts, batches and cost."""

    items: int
    valid: int
    invalid: dict[str, int]
    recipients: int
    parts: int
    batches: int
    cost: Decimal | None
    first_errors: tuple[tuple[int, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready data."""
        return {
            "items": self.items,
            "valid": self.valid,
            "invalid": dict(self.invalid),
            "recipients": self.recipients,
            "parts": self.parts,
            "batches": self.batches,
            "cost": None if self.cost is None else str(self.cost),
            "first_errors": [{"item": i, "error": e} for i, e in self.first_errors],
        }


# ------------------------------------------------------------------------------------ batching


@dataclass(slots=True)
class _Line:
    item: int
    text: str
    phones: tuple[str, ...]
    mes: str


@dataclass(slots=True)
class _Batch:
    seq: int
    message_id: str
    request: dict[str, Any]
    check_phone: str | None
    lines: list[tuple[int, tuple[str, ...]]]  # item index, phones
    reconcile_first: bool = False
    attempts: int = 0


@dataclass(slots=True)
class _Outcome:
    state: Literal["sending", "sent", "failed", "held"]
    parts: int | None = None
    cost: Decimal | None = None
    balance: Decimal | None = None
    reconciled: bool = False
    error: SmscError | None = None
    phone_errors: list[tuple[str, str]] = field(default_factory=list)


def _line_for(index: int, item: Item) -> _Line:
    if isinstance(item, SmscValidationError):
        raise item
    text = _encode_line(
        0, item, None
    )  # checks it as encode_list([item]) would, without the wrapping
    head = text.split(":", 1)[0]
    phones = tuple(head.rpartition("|")[2].split(","))
    mes = item.mes if isinstance(item, ListMessage) else str(item[1])
    return _Line(index, text, phones, mes)


def _reason(error: SmscValidationError) -> str:
    """A short reason to count invalid items by: ``invalid phones``, ``invalid mes``, ..."""
    name = getattr(error, "field", None) or "item"
    match = _LIST_FIELD.match(str(error))
    if match is not None:
        name = match.group(1)
    return f"invalid {name.split('[')[0].split('.')[-1]}"


def _check_phone(lines: Iterable[tuple[int, tuple[str, ...]]]) -> str | None:
    """The number to reconcile a batch by: its first plain phone number (not a group)."""
    for _, phones in lines:
        for phone in phones:
            if phone and not phone.startswith("G"):
                return phone
    return None


def _new_id() -> str:
    from .._params.validation import new_message_id

    return new_message_id()


def _iter_lines(
    items: Iterable[Item], start: int
) -> Iterator[tuple[_Line | None, int, SmscValidationError | None]]:
    for index, item in enumerate(items):
        if index < start:
            continue
        try:
            yield _line_for(index, item), index, None
        except SmscValidationError as exc:
            yield None, index, exc


# ------------------------------------------------------------------------------------ estimate


def estimate_bulk(
    messages: Iterable[Item],
    *,
    price_per_part: Decimal | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    keep_errors: int = 20,
) -> BulkEstimate:
    """Validate every item and estimate recipients, SMS parts, batches and cost, without sending."""
    _check_sizes(batch_size, max_batch_chars, 1)
    items = valid = recipients = parts = batches = 0
    invalid: dict[str, int] = {}
    first_errors: list[tuple[int, str]] = []
    batch_lines = batch_chars = 0
    for line, index, error in _iter_lines(messages, 0):
        items += 1
        if line is None:
            assert error is not None
            reason = _reason(error)
            invalid[reason] = invalid.get(reason, 0) + 1
            if len(first_errors) < keep_errors:
                first_errors.append((index, str(error)))
            continue
        valid += 1
        recipients += len(line.phones)
        parts += segments(line.mes).parts * len(line.phones)
        if batch_lines == 0 or (
            batch_lines >= batch_size or batch_chars + len(line.text) + 1 > max_batch_chars
        ):
            batches += 1
            batch_lines = batch_chars = 0
        batch_lines += 1
        batch_chars += len(line.text) + 1
    cost = None if price_per_part is None else parts * price_per_part
    return BulkEstimate(
        items, valid, invalid, recipients, parts, batches, cost, tuple(first_errors)
    )


def _check_sizes(batch_size: int, max_batch_chars: int, concurrency: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise SmscValidationError("batch_size must be a positive int", field="batch_size")
    if not isinstance(max_batch_chars, int) or max_batch_chars < 1100:
        raise SmscValidationError(
            "max_batch_chars must be at least 1100 (one 1000-character text and its numbers)",
            field="max_batch_chars",
        )
    if not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise SmscValidationError(
            f"concurrency must be 1..{MAX_CONCURRENCY}: the service refuses 15 or more concurrent "
            "requests per login",
            field="concurrency",
        )


# ------------------------------------------------------------------------------------ sending

#: A step of a batch's delivery plan, performed by a driver: send the batch's request, ask the status
#: of its message, or sleep this many seconds.
_SEND: Final = "send"
_STATUS: Final = "status"
Step = Literal["send", "status"] | float
Plan = Generator[Step, Any, _Outcome]


class _Session:
    """What both drivers share in one session of a bulk run: batching, journal, decisions, counters.

    The methods that touch the journal (:meth:`open_batch`, :meth:`add_invalid`, :meth:`unfinished`,
    :meth:`reopen`, :meth:`write`) must be called from one thread at a time; :meth:`chunks` reads the
    input, :meth:`count` updates the counters and reports progress (the driver's own thread);
    :meth:`plan` and :meth:`send_args` are pure and may run anywhere.
    """

    def __init__(
        self,
        journal: Journal,
        *,
        concurrency: int,
        batch_size: int,
        max_batch_chars: int,
        base_request: dict[str, Any],
        on_progress: Callable[[BulkProgress], None] | None,
        retry_delay: float,
        max_attempts: int,
    ) -> None:
        self.journal = journal
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.max_batch_chars = max_batch_chars
        self.base_request = base_request
        self.on_progress = on_progress
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts
        self.stop = threading.Event()
        self.stopped_by: SmscError | None = None
        self.items_read = self.batches_done = self.items_sent = self.items_failed = 0
        self.in_flight = 0  # kept up to date by the driver, for progress reports

    # ----- batching --------------------------------------------------------------------------------

    def chunks(
        self, items: Iterable[Item], start: int
    ) -> Iterator[tuple[list[_Line], list[tuple[int, str, str]]]]:
        """Yield each full batch's lines and the invalid items read before them; stop when told.

        The last chunk may have no lines (only invalid items, to record with ``add_invalid``).
        """
        lines: list[_Line] = []
        invalid: list[tuple[int, str, str]] = []
        chars = 0
        self.items_read = start
        for line, index, error in _iter_lines(items, start):
            if self.stop.is_set():
                return
            self.items_read = index + 1
            if line is None:
                assert error is not None
                invalid.append((index, _reason(error), str(error)[:300]))
                self.items_failed += 1
                continue
            size = len(line.text) + 1
            if lines and (len(lines) >= self.batch_size or chars + size > self.max_batch_chars):
                yield lines, invalid
                lines, invalid, chars = [], [], 0
                if self.stop.is_set():
                    return
            lines.append(line)
            chars += size
        if not self.stop.is_set() and (lines or invalid):
            yield lines, invalid

    def open_batch(self, lines: list[_Line], invalid: list[tuple[int, str, str]]) -> _Batch:
        """Journal a new batch in state ``sending`` (with the invalid items before it); commit first."""
        request = dict(self.base_request)
        request["list"] = "\n".join([line.text for line in lines])
        request["items"] = [line.item for line in lines]
        pairs = [(line.item, line.phones) for line in lines]
        message_id = _new_id()
        check_phone = _check_phone(pairs)
        seq = self.journal.add_batch(
            message_id=message_id,
            first_item=lines[0].item,
            end_item=lines[-1].item + 1,
            messages=len(lines),
            check_phone=check_phone,
            request=request,
            invalid=invalid,
        )
        return _Batch(seq, message_id, request, check_phone, pairs)

    def add_invalid(self, invalid: list[tuple[int, str, str]]) -> None:
        """Record invalid items read after the last batch."""
        self.journal.add_invalid(invalid)

    def unfinished(self) -> list[BatchRecord]:
        """The batches a previous session left unfinished (``sending`` or ``held``), oldest first."""
        return list(self.journal.unfinished())

    def reopen(self, record: BatchRecord) -> _Batch:
        """Mark an unfinished batch as attempted again (committed) and return it, ready to deliver."""
        self.journal.mark_attempt(record.seq)
        return _batch_from_record(record)

    def resumable(self) -> Iterator[_Batch]:
        """Yield the batches a previous session left unfinished, each marked as attempted again."""
        for record in self.unfinished():
            if self.stop.is_set():
                return
            yield self.reopen(record)

    # ----- delivery decisions (no I/O: the driver performs each step) ------------------------------

    @staticmethod
    def send_args(batch: _Batch) -> dict[str, Any]:
        """The keyword arguments of ``send_sms2("", "", **args)`` that send ``batch`` (always the same)."""
        request = batch.request
        query: dict[str, str] = dict(request["query"])
        query["list"] = request["list"]
        return {
            "id": batch.message_id,
            "sender": request.get("sender"),
            "time": request.get("time"),
            "query": query,
        }

    def plan(self, batch: _Batch) -> Plan:
        """Send a batch once, reconciling whenever its outcome is unknown; never sends it twice.

        A generator: it yields the steps to perform (``_SEND``, ``_STATUS``, or a delay); the driver
        sends back each step's result, or throws in the :class:`SmscError` it raised. It returns the
        outcome.
        """
        unknown: SmscError | None = None
        try:
            if batch.reconcile_first and (yield from self._found(batch)):
                return _Outcome("sent", reconciled=True)
            for attempt in range(self.max_attempts):
                if self.stop.is_set() and attempt > 0:
                    break
                try:
                    result = yield _SEND
                except (SendOutcomeUnknownError, DuplicateSendError) as exc:
                    unknown = exc
                    delay = self.retry_delay * (attempt + 1)
                    if delay > 0:
                        yield delay
                    if (yield from self._found(batch)):
                        return _Outcome("sent", reconciled=True)
                except SmscApiError as exc:
                    if isinstance(exc, _RUN_LEVEL):
                        return _Outcome("held", error=exc)
                    return _Outcome("failed", error=exc)
                except SmscError as exc:
                    if exc.delivery is Delivery.ACCEPTED:
                        return _Outcome("sent", error=exc)
                    if exc.delivery in (Delivery.NOT_SENT, Delivery.REJECTED):
                        return _Outcome("held", error=exc)
                    unknown = exc
                    break
                else:
                    return _Outcome(
                        "sent",
                        parts=result.cnt,
                        cost=result.cost,
                        balance=result.balance,
                        phone_errors=[
                            (e.phone, _status_reason(int(e.status))) for e in result.errors
                        ],
                    )
        except SmscError as exc:  # reconciling failed: the outcome stays unknown
            unknown = exc
        return _Outcome("sending", error=unknown)

    @staticmethod
    def _found(batch: _Batch) -> Generator[Step, Any, bool]:
        """Ask the service whether the batch's message exists (``get_status`` of its first number)."""
        if batch.check_phone is None:
            raise SmscValidationError(
                "the batch has no plain phone number to check its status by", field="phones"
            )
        try:
            yield _STATUS
        except MessageNotFoundError:
            return False
        return True

    # ----- outcomes --------------------------------------------------------------------------------

    def record(self, batch: _Batch, outcome: _Outcome) -> None:
        """Journal a batch's outcome, then count it (:meth:`write`, then :meth:`count`)."""
        self.count(batch, outcome, self.write(batch, outcome))

    def write(self, batch: _Batch, outcome: _Outcome) -> int:
        """Journal a batch's outcome and its per-number failures; return how many items failed."""
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
        )
        return len(phone_errors)

    def count(self, batch: _Batch, outcome: _Outcome, failed_items: int) -> None:
        """Count a journaled outcome; a run-level failure or an unsettled outcome stops the run."""
        self.batches_done += 1
        if outcome.state == "sent":
            self.items_sent += len(batch.lines)
            self.items_failed += failed_items
        elif outcome.state == "failed":
            self.items_failed += len(batch.lines)
        elif outcome.error is not None and self.stopped_by is None:
            # held: the run cannot go on (auth, funds, block, no connection); sending: unknown outcome
            # that reconciling could not settle. Stop taking new batches either way.
            self.stopped_by = outcome.error
            self.stop.set()
        self.progress()

    def progress(self) -> None:
        """Report progress to ``on_progress``, if given."""
        if self.on_progress is not None:
            self.on_progress(
                BulkProgress(
                    self.items_read,
                    self.batches_done,
                    self.items_sent,
                    self.items_failed,
                    self.in_flight,
                )
            )


def _drive(plan: Plan, perform: Callable[[Step], object]) -> _Outcome:
    """Run a delivery plan with a blocking ``perform``; SmscErrors go back into the plan."""
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
                value = perform(step)
            except SmscError as exc:
                error = exc
    finally:
        plan.close()


class _Runner:
    """The thread driver: the producer loop on the calling thread, sends on a pool of threads."""

    def __init__(self, client: SoapSmsc, session: _Session) -> None:
        self.client = client
        self.session = session
        self.in_flight: dict[Future[_Outcome], _Batch] = {}

    def _perform(self, batch: _Batch, step: Step) -> object:
        if step == _SEND:
            return self.client.send_sms2("", "", **self.session.send_args(batch))
        if step == _STATUS:
            assert batch.check_phone is not None
            return self.client.get_status(batch.message_id, batch.check_phone)
        assert isinstance(step, float | int)
        _time.sleep(step)
        return None

    def deliver(self, batch: _Batch) -> _Outcome:
        """Run the batch's plan on this (worker) thread; no journal access here."""
        return _drive(self.session.plan(batch), lambda step: self._perform(batch, step))

    def _submit(self, pool: ThreadPoolExecutor, batch: _Batch) -> None:
        future = pool.submit(self.deliver, batch)
        self.in_flight[future] = batch
        self.session.in_flight = len(self.in_flight)

    def _collect(self, *, block: bool) -> None:
        if not self.in_flight:
            return
        done, _ = wait(
            list(self.in_flight),
            timeout=None if block else 0,
            return_when=FIRST_COMPLETED,
        )
        for future in done:
            batch = self.in_flight.pop(future)
            self.session.in_flight = len(self.in_flight)
            self.session.record(batch, future.result())

    def _room(self) -> None:
        while len(self.in_flight) >= self.session.concurrency:
            self._collect(block=True)
        self._collect(block=False)

    def run(self, items: Iterable[Item], start: int) -> None:
        """Read, batch, journal and send every item from ``start`` on, ``concurrency`` at a time."""
        session = self.session
        with ThreadPoolExecutor(session.concurrency, thread_name_prefix="smsc-bulk") as pool:
            try:
                for batch in session.resumable():
                    self._submit(pool, batch)
                    self._room()
                for lines, invalid in session.chunks(items, start):
                    if not lines:
                        session.add_invalid(invalid)
                        break
                    self._room()
                    if session.stop.is_set():
                        break
                    self._submit(pool, session.open_batch(lines, invalid))
                while self.in_flight:
                    self._collect(block=True)
            except BaseException:
                # Interrupted: let the requests in flight finish and record them, then re-raise.
                session.stop.set()
                while self.in_flight:
                    self._collect(block=True)
                raise


def _batch_from_record(record: BatchRecord) -> _Batch:
    lines: list[tuple[int, tuple[str, ...]]] = []
    items = record.request.get("items") or []
    for offset, text in enumerate(str(record.request["list"]).split("\n")):
        phones = tuple(text.split(":", 1)[0].rpartition("|")[2].split(","))
        item = items[offset] if offset < len(items) else record.first_item + offset
        lines.append((int(item), phones))
    return _Batch(
        record.seq,
        record.message_id,
        record.request,
        record.check_phone,
        lines,
        reconcile_first=record.state == "sending",
        attempts=record.attempts,
    )


def _status_reason(status: int) -> str:
    from .._codes import MessageStatus

    try:
        return f"status {status} ({MessageStatus(status).description})"
    except (ValueError, AttributeError):
        return f"status {status}"


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
) -> Iterator[tuple[_Session, int]]:
    """Check the options, open (and lock) the journal of the run, and yield its session and start.

    ``start`` is the first input item this session reads (after the last journaled batch on resume).
    ``account`` ties the journal to the client's account (a resume under another is refused).
    """
    _check_sizes(batch_size, max_batch_chars, concurrency)
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
            session = _Session(
                book,
                concurrency=concurrency,
                batch_size=batch_size,
                max_batch_chars=max_batch_chars,
                base_request=base_request,
                on_progress=on_progress,
                retry_delay=retry_delay,
                max_attempts=max_attempts,
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
        summary = _summary(session, interrupted)
    if interrupted:
        raise BulkInterrupted(summary)
    return summary


class BulkInterrupted(KeyboardInterrupt):
    """Raised when a bulk run is interrupted (Ctrl-C): ``summary`` tells what was recorded."""

    def __init__(self, summary: BulkSummary) -> None:
        super().__init__("bulk run interrupted")
        self.summary = summary


def _summary(session: _Session, interrupted: bool) -> BulkSummary:
    book = session.journal
    totals = book.totals()
    by_state: dict[str, tuple[int, int]] = totals["by_state"]
    sent = by_state.get("sent", (0, 0))[1] - totals["rejected_items"]
    unknown = by_state.get("sending", (0, 0))[1]
    held = by_state.get("held", (0, 0))[1]
    batches = sum(count for count, _ in by_state.values())
    items = max(session.items_read, book.consumed())
    failed: dict[str, int] = totals["failed"]
    complete = not session.stop.is_set() and not interrupted and unknown == 0 and held == 0
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
        stopped_by=session.stopped_by,
        interrupted=interrupted,
    )
