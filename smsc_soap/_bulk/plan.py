"""The delivery plan of one batch: a sans-I/O generator of steps that a driver performs.

The plan never touches the network, the journal or the clock. It yields steps (:class:`Send`,
:class:`Status`, :class:`Sleep`, and while isolating refused rows :class:`Split` and :class:`Finish`); the
driver performs each one (a blocking call on a worker thread, or an ``await`` on the event loop) and sends
its result back, or throws in the :class:`SmscError` it raised. The plan returns the batch's
:class:`Outcome`.

Sending once: a batch whose outcome is unknown (a timeout after sending, a dropped connection, or a
duplicate refusal) is reconciled by ``get_status`` of its id and first number: found means sent, not found
means the identical request is sent again.

Isolating refused rows: when the service refuses a whole ``list`` request with error 6 (a forbidden text
or sender name; only 6, never another code), the batch is split in halves, each half journaled with a new
id before it is sent, and a refused half is split again, until each refused row stands alone (then it is
reported as failed with code 6) or the batch has used :data:`MAX_SPLIT_REQUESTS` extra requests (then the
rows of its parts still refused are reported as failed with code 6, unsent). A refusal that looks
account-wide stops the run instead: when both halves are refused, and both halves of the first half too
(or the first half is a single row), the refused parts are held (sent again on resume) and the run stops,
since every further request would be refused as well and 100 erroneous requests in a row block the IP
for 10 minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

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
from .._params.query import PreparedQuery, prepare_list_query, prepare_query

__all__ = [
    "FORBIDDEN",
    "MAX_SPLIT_REQUESTS",
    "Batch",
    "Finish",
    "Outcome",
    "Plan",
    "PlanPolicy",
    "Send",
    "Sleep",
    "Split",
    "Status",
    "Step",
    "delivery_plan",
    "send_args",
    "status_reason",
]

#: The service's error code for a forbidden message (by its text or its sender name).
FORBIDDEN = 6

#: Extra requests one batch may use to isolate the rows behind an error-6 refusal. Isolating one bad row
#: of 100 takes 14 (two per halving), two bad rows of 100 at most 26; about half of them are refused, far
#: from the 100 erroneous requests in a row after which the service blocks the IP (R5).
MAX_SPLIT_REQUESTS = 32

_RUN_LEVEL: tuple[type[SmscError], ...] = (
    AuthenticationError,
    InsufficientFundsError,
    IpBlockedError,
)

BatchState = Literal["sending", "sent", "failed", "held", "split"]


@dataclass(slots=True)
class Batch:
    """One journaled ``list`` request: its journal row, message id, request, and item lines."""

    seq: int
    message_id: str
    request: dict[str, Any]
    check_phone: str | None
    lines: list[tuple[int, tuple[str, ...]]]  # item index, phones
    reconcile_first: bool = False
    attempts: int = 0
    query: PreparedQuery | None = None  # the send's query, encoded once (see send_args)
    #: Whether the list is made of lines the batcher checked (a new batch or a part of one); a batch
    #: read back from a journal on resume is checked whole again.
    checked: bool = False


@dataclass(slots=True)
class Outcome:
    """What became of a batch; ``results`` lists the parts of a batch that was split."""

    state: BatchState
    parts: int | None = None
    cost: Decimal | None = None
    balance: Decimal | None = None
    reconciled: bool = False
    error: SmscError | None = None
    phone_errors: list[tuple[str, str]] = field(default_factory=list)
    results: list[tuple[Batch, Outcome, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """How a plan retries: attempts per batch, the delay before reconciling, the split budget."""

    retry_delay: float = 1.0
    max_attempts: int = 3
    max_split_requests: int = MAX_SPLIT_REQUESTS


# ----------------------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class Send:
    """Send the batch's request (``send_sms2`` with :func:`send_args`); the result is a SendResult."""

    batch: Batch


@dataclass(frozen=True, slots=True)
class Status:
    """Ask ``get_status`` of the batch's id and first number; MessageNotFoundError means not sent."""

    batch: Batch


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Split:
    """Journal ``batch`` as split into ``groups`` (line offsets), each a new batch with a new id, in one
    commit; the result is the list of new batches, in order."""

    batch: Batch
    groups: tuple[tuple[int, ...], ...]
    refusal: SmscError | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """Journal the outcome of a part of a split batch; the result is how many of its items failed."""

    batch: Batch
    outcome: Outcome


Step = Send | Status | Sleep | Split | Finish
Plan = Generator[Step, Any, Outcome]


def send_args(batch: Batch) -> dict[str, Any]:
    """The keyword arguments of ``send_sms2("", "", **args)`` that send ``batch`` (always the same)."""
    request = batch.request
    query = batch.query
    if query is None:  # encoded once per batch, whatever the attempts
        numbers = ",".join([phone for _, phones in batch.lines for phone in phones])
        if batch.checked:  # each line was checked once, by the batcher: only encoded here
            query = prepare_list_query(request["query"], request["list"], recipients=numbers)
        else:
            values = dict(request["query"])
            values["list"] = request["list"]
            query = prepare_query(values, "send_sms2", recipients=numbers)
        batch.query = query
    return {
        "id": batch.message_id,
        "sender": request.get("sender"),
        "time": request.get("time"),
        "query": query,
    }


def status_reason(status: int) -> str:
    """The reason a number refused in a send reply is counted under: ``status 22 (wrong number)``."""
    from .._codes import MessageStatus

    try:
        return f"status {status} ({MessageStatus(status).description})"
    except (ValueError, AttributeError):
        return f"status {status}"


# ------------------------------------------------------------------------------------------ plan


def delivery_plan(batch: Batch, policy: PlanPolicy, stop: threading.Event) -> Plan:
    """Deliver a batch once, reconciling unknown outcomes, isolating the rows of an error-6 refusal."""
    outcome = yield from _deliver(batch, policy, stop)
    refusal = _refusal(outcome)
    if refusal is None or len(batch.lines) < 2 or policy.max_split_requests < 2:
        return outcome
    return (yield from _isolate(batch, refusal, policy, stop))


def _refusal(outcome: Outcome) -> SmscApiError | None:
    """The error-6 refusal of a whole request, if that is the outcome (never another code)."""
    error = outcome.error
    if outcome.state == "failed" and isinstance(error, SmscApiError) and error.code == FORBIDDEN:
        return error
    return None


def _deliver(batch: Batch, policy: PlanPolicy, stop: threading.Event) -> Plan:
    """Send a batch once, reconciling whenever its outcome is unknown; never sends it twice."""
    unknown: SmscError | None = None
    try:
        if batch.reconcile_first and (yield from _found(batch)):
            return Outcome("sent", reconciled=True)
        for attempt in range(policy.max_attempts):
            if stop.is_set() and attempt > 0:
                break
            try:
                result = yield Send(batch)
            except (SendOutcomeUnknownError, DuplicateSendError) as exc:
                unknown = exc
                delay = policy.retry_delay * (attempt + 1)
                if delay > 0:
                    yield Sleep(delay)
                if (yield from _found(batch)):
                    return Outcome("sent", reconciled=True)
            except SmscApiError as exc:
                if isinstance(exc, _RUN_LEVEL):
                    return Outcome("held", error=exc)
                return Outcome("failed", error=exc)
            except SmscError as exc:
                if exc.delivery is Delivery.ACCEPTED:
                    return Outcome("sent", error=exc)
                if exc.delivery in (Delivery.NOT_SENT, Delivery.REJECTED):
                    return Outcome("held", error=exc)
                unknown = exc
                break
            else:
                return Outcome(
                    "sent",
                    parts=result.cnt,
                    cost=result.cost,
                    balance=result.balance,
                    phone_errors=[(e.phone, status_reason(int(e.status))) for e in result.errors],
                )
    except SmscError as exc:  # reconciling failed: the outcome stays unknown
        unknown = exc
    return Outcome("sending", error=unknown)


def _found(batch: Batch) -> Generator[Step, Any, bool]:
    """Ask the service whether the batch's message exists (``get_status`` of its first number)."""
    if batch.check_phone is None:
        raise SmscValidationError(
            "the batch has no plain phone number to check its status by", field="phones"
        )
    try:
        yield Status(batch)
    except MessageNotFoundError:
        return False
    return True


def _halves(batch: Batch) -> tuple[tuple[int, ...], ...]:
    middle = (len(batch.lines) + 1) // 2
    return tuple(range(middle)), tuple(range(middle, len(batch.lines)))


_Refused = tuple[Batch, SmscApiError, int]  # a refused part, its refusal, its depth


def _isolate(
    batch: Batch, refusal: SmscApiError, policy: PlanPolicy, stop: threading.Event
) -> Plan:
    """Split a refused batch in halves, and refused halves again, within the batch's budget.

    Depth first: a refused part is split before its refused sibling. The first two levels also decide
    whether the refusal looks account-wide (see the module's docstring); then the parts still open are
    held and the run stops.
    """
    budget = policy.max_split_requests
    results: list[tuple[Batch, Outcome, int]] = []
    pending: list[_Refused] = [(batch, refusal, 0)]
    probe = _AccountWide()
    while pending:
        parent, error, level = pending.pop()
        if stop.is_set() or len(parent.lines) < 2 or budget < 2:
            # Run stopped: sent again on resume. A single row, or no budget left: refused, final.
            outcome = Outcome("held") if stop.is_set() else Outcome("failed", error=error)
            results.append((parent, outcome, (yield Finish(parent, outcome))))
            continue
        parts: list[Batch] = yield Split(parent, _halves(parent), error)
        refused, sent = yield from _send_parts(parts, level, results, policy, stop)
        budget -= sent
        if probe.looks(level, parts, refused):
            for part, part_error, _ in [*refused, *pending]:
                held = Outcome("held", error=part_error)
                results.append((part, held, (yield Finish(part, held))))
            break
        pending.extend(reversed(refused))  # the first refused part is split first
    return Outcome("split", error=refusal, results=results)


def _send_parts(
    parts: list[Batch],
    level: int,
    results: list[tuple[Batch, Outcome, int]],
    policy: PlanPolicy,
    stop: threading.Event,
) -> Generator[Step, Any, tuple[list[_Refused], int]]:
    """Deliver the parts of a split; journal each outcome but error-6 refusals, which it returns.

    Also returns how many parts were sent (a part is held, unsent, once the run is told to stop).
    """
    refused: list[_Refused] = []
    sent = 0
    for part in parts:
        if stop.is_set():
            outcome = Outcome("held")
        else:
            sent += 1
            outcome = yield from _deliver(part, policy, stop)
            part_refusal = _refusal(outcome)
            if part_refusal is not None:
                refused.append((part, part_refusal, level + 1))
                continue
        results.append((part, outcome, (yield Finish(part, outcome))))
    return refused, sent


class _AccountWide:
    """Whether a refusal looks account-wide: both halves refused, then both halves of the first half
    (or the first half is a single row, which cannot be split to tell)."""

    def __init__(self) -> None:
        self.suspect = False  # both halves of the first split were refused

    def looks(self, level: int, parts: list[Batch], refused: list[_Refused]) -> bool:
        everything_refused = len(refused) == len(parts)
        if self.suspect:  # this split is the first half's: the probe that tells
            self.suspect = False
            return everything_refused
        if level == 0 and everything_refused:
            if len(parts[0].lines) < 2:
                return True
            self.suspect = True
        return False
