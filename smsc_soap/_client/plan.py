"""The call itself as a sans-I/O plan: one generator per logical call, driven by either client.

A plan never sleeps, reads a socket or awaits: it *yields* what it needs done and receives the result.

* :class:`Sleep` -- pause ``delay`` seconds (``time.sleep`` or ``await asyncio.sleep``); sends back None.
* :class:`Post` -- post the request to an endpoint within a deadline; sends back the
  :class:`~smsc_soap._http.types.RawReply`, or throws in the :class:`SmscError` of a slot that never
  came free or a transport failure. The driver never interprets either.

Everything else -- the breaker and rate windows, retries and fail-over, reading the reply, reconcile,
the total deadline, the closed check and the outcome log line -- happens here, once, for both clients.
This is the pattern of ``_bulk``'s plans and of httpx's auth flows. Drivers close the generator when
they stop early (an exception, a cancellation, Ctrl-C), so ``finally`` and ``except BaseException``
blocks below release what they hold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from .._exceptions import (
    AuthenticationError,
    ClientClosedError,
    Delivery,
    DuplicateSendError,
    SmscApiError,
    SmscDeadlineExceededError,
    SmscError,
    SmscTransportError,
)
from .._http.types import RawReply
from .._params.arguments import status_fields
from .._reliability.budget import ClientBudget
from .._reliability.outcomes import detached, in_flight_duplicate, send_outcome
from .._reliability.policy import (
    Action,
    Attempts,
    Reconciler,
    ReconcileStep,
    RetryPolicy,
    describe,
    retryable,
    status_says_missing,
)
from .._secrets import Scrubber
from .._soap.protocol import Protocol, Request, Result
from .settings import ClientSettings

__all__ = ["CallPlan", "Plan", "Post", "Sleep", "Step", "drive", "no_slot"]

_log = logging.getLogger("smsc_soap")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Pause for ``delay`` seconds before the plan goes on."""

    delay: float


@dataclass(frozen=True, slots=True)
class Post:
    """Post ``request`` to ``endpoint``; ``deadline`` is on the client's clock."""

    request: Request
    endpoint: str
    deadline: float


Step: TypeAlias = Sleep | Post
Plan: TypeAlias = Generator[Step, Any, Result]


def drive(plan: Plan, sleep: Callable[[float], object], post: Callable[[Post], RawReply]) -> Result:
    """Run ``plan`` to its result with blocking ``sleep`` and ``post`` (the sync client's driver).

    An SmscError from ``post`` is thrown into the plan, which decides what it means; anything else
    (KeyboardInterrupt, a bug) closes the plan, whose ``finally`` blocks free what it holds.
    """
    try:
        step = next(plan)
        while True:
            try:
                value = sleep(step.delay) if isinstance(step, Sleep) else post(step)
            except SmscError as exc:
                step = plan.throw(exc)
            else:
                step = plan.send(value)
    except StopIteration as done:
        result: Result = done.value
        return result
    finally:
        plan.close()


def _scrub_message(error: SmscError, scrub: Scrubber) -> None:
    """Mask the credentials in what a transport error quotes of the server's bytes (a status line, a
    header line), which a hostile or broken server can make an echo of the request.

    The transports put such details in parentheses after their own words; only that part is scrubbed,
    so that a password that is a common word does not mask our words (as the API errors keep theirs).
    """
    if not isinstance(error, SmscTransportError):
        return
    words, paren, detail = error.message.partition("(")
    clean = scrub(detail, None)
    if paren and clean != detail:
        error.message = f"{words}({clean}"
        error.args = (error.message,)


def no_slot(operation: str, what: str) -> SmscDeadlineExceededError:
    """The error of a request that never got a connection slot before its deadline (nothing sent)."""
    return SmscDeadlineExceededError(
        f"{operation}: the deadline passed while waiting for {what}; nothing was sent",
        operation=operation,
        delivery=Delivery.NOT_SENT,
        retry_safe=True,
    )


class CallPlan:
    """Makes the plan of each call of one client; holds no state of its own between calls."""

    def __init__(
        self,
        *,
        protocol: Callable[[], Protocol],
        settings: ClientSettings,
        budget: ClientBudget,
        retry: RetryPolicy,
        endpoints: Sequence[str],
        deadline: float,
        reconcile: bool,
        scrub: Scrubber,
        clock: Callable[[], float],
        closed: Callable[[], bool],
    ) -> None:
        self._protocol = protocol
        self._settings = settings
        self._budget = budget
        self._retry = retry
        self._endpoints = tuple(endpoints)
        self._deadline = deadline
        self._reconcile = reconcile
        self._scrub = scrub
        self._clock = clock
        self._closed = closed

    # ------------------------------------------------------------------ building requests

    def request(
        self,
        operation: str,
        fields: dict[str, str],
        *,
        message_id: str | None = None,
        phones: str | None = None,
    ) -> Request:
        """Serialise one request of this client (credentials added here, and nowhere else).

        :meth:`ClientSettings.prepare` routes an API-key call to the operation that can carry the key,
        adds the credentials and gives a send without ``message_id`` its derived default id.
        """
        prepared = self._settings.prepare(operation, fields, message_id, now=self._clock())
        return self._protocol().build(
            prepared.operation,
            prepared.fields,
            prepared.credentials,
            message_id=prepared.message_id,
            phones=phones,
        )

    # ------------------------------------------------------------------ the call

    def call(self, build: Callable[[], Request]) -> Plan:
        """The whole logical call: budgets, attempts, retries, fail-over and (for sends) reconcile.

        ``build`` makes the request when the plan starts, so that an async call checks its arguments
        when it is awaited, as a coroutine would. ``timeout`` (the client's deadline) bounds all of it,
        reconcile and resend included.
        """
        request = build()
        if self._closed():
            raise ClientClosedError("the client is closed", operation=request.operation)
        started = self._clock()
        deadline = started + self._deadline
        key: str | None = None
        if request.is_send:
            key = self._budget.enter_send(request.limit_key)
            if key is None:
                raise detached(in_flight_duplicate(request))
        attempts: Attempts | None = None
        try:
            outcome, attempts = yield from self._attempts(request, self._endpoints, deadline)
            if (
                request.is_send
                and isinstance(outcome, SmscError)
                and outcome.delivery is Delivery.UNKNOWN
            ):
                if self._reconcile:
                    outcome = yield from self._reconciled(request, outcome, attempts, deadline)
                else:
                    outcome = send_outcome(request, outcome)
        finally:
            if key is not None:
                self._budget.leave_send(key)
        self._log_outcome(request, outcome, attempts, self._clock() - started)
        if isinstance(outcome, AuthenticationError):
            self._settings.auth_failed(request.operation, outcome)
        if isinstance(outcome, SmscError):
            raise detached(outcome)
        return outcome

    def _attempts(
        self, request: Request, endpoints: Sequence[str], deadline: float
    ) -> Generator[Step, Any, tuple[Result | SmscError, Attempts]]:
        """Attempt ``request`` until it succeeds or the policy gives up; never raises SmscError."""
        attempts = Attempts(
            self._retry,
            is_send=request.is_send,
            endpoints=endpoints,
            started_at=self._clock(),
            deadline=deadline,
        )
        self._budget.retries.deposit()
        outcome: Result | SmscError | None = None
        while True:
            if self._closed():
                return self._closed_outcome(request, outcome), attempts
            attempts.sent_at = self._clock()
            outcome = yield from self._attempt(request, attempts.endpoint, deadline)
            if not isinstance(outcome, SmscError):
                return outcome, attempts
            if not request.is_send and retryable(outcome, is_send=False):
                outcome.retry_safe = True  # reads are idempotent, whatever the transport failure
            decision = attempts.decide(outcome, self._clock())
            if decision.action is Action.GIVE_UP or not self._budget.retries.withdraw():
                return outcome, attempts
            _log.debug(
                "%s failed (%s); %s to attempt %d in %.2f s",
                request.operation,
                describe(outcome),
                decision.action.value,
                attempts.attempt,
                decision.delay,
            )
            if decision.delay > 0:
                yield Sleep(decision.delay)

    def _attempt(
        self, request: Request, endpoint: str, deadline: float
    ) -> Generator[Step, Any, Result | SmscError]:
        """One request on the wire, inside the budgets; the error is returned, never raised."""
        operation = request.operation
        try:
            probe = self._budget.admit(operation, request.limit_key)
        except SmscError as exc:
            return exc
        error: SmscError | None = None
        result: Result | None = None
        try:
            reply = yield Post(request, endpoint, deadline)
            result = self._protocol().parse(request, reply, self._scrub)
        except SmscError as exc:
            error = exc
        except BaseException:
            if probe:
                self._budget.breaker.release_probe()  # interrupted: the probe settled nothing
            raise
        if error is not None:
            error.operation = error.operation or operation
            _scrub_message(error, self._scrub)
        self._budget.breaker.record(
            probe, error
        )  # a failure that never reached SMSC frees the probe
        if error is not None:
            return error
        assert result is not None
        return result

    def _reconciled(
        self, request: Request, error: SmscError, attempts: Attempts, deadline: float
    ) -> Generator[Step, Any, Result | SmscError]:
        """Find out what became of a send whose reply was lost; resend it at most once, if safe."""
        assert request.message_id is not None and request.phones is not None
        endpoint = attempts.endpoint  # the host that may hold the message
        reconciler = Reconciler(self._retry, sent_at=attempts.sent_at)
        _step, delay = reconciler.start(self._clock())
        delay = min(delay, max(0.0, deadline - self._clock()))
        if delay > 0:
            yield Sleep(delay)
        if self._closed():
            return send_outcome(request, error)
        phone = request.phones.replace(";", ",").split(",")[0].strip()
        status_request = self.request(
            "get_status", status_fields("get_status", request.message_id, phone, 0)
        )
        others = [e for e in self._endpoints if e != endpoint]
        status, _ = yield from self._attempts(status_request, [endpoint, *others], deadline)
        step = reconciler.on_status(status_says_missing(status), self._clock())
        _log.debug("reconcile of message %s: %s", request.message_id, step.value)
        if step is ReconcileStep.CONFIRMED:
            return send_outcome(request, error, status=status, confirmed=True)
        if step is not ReconcileStep.RESEND or self._closed():
            return send_outcome(request, error, status=status)
        reconciler.resend_started()
        # The identical bytes, to the same host: only then does SMSC's duplicate check protect us.
        resent = yield from self._attempt(request, endpoint, deadline)
        if isinstance(resent, DuplicateSendError):
            resent.probably_sent = True
            resent.reconciled = True
            resent.delivery = Delivery.ACCEPTED
            return resent
        if not isinstance(resent, SmscError):
            return resent
        if isinstance(resent, SmscApiError):
            return resent  # the service refused the resend: no message was created
        return send_outcome(
            request, resent if resent.delivery is Delivery.UNKNOWN else error, status=status
        )

    # ------------------------------------------------------------------ outcomes

    @staticmethod
    def _closed_outcome(request: Request, previous: Result | SmscError | None) -> SmscError:
        """What a call interrupted by ``close()`` raises: never a new connection after it."""
        if (
            request.is_send
            and isinstance(previous, SmscError)
            and previous.delivery is Delivery.UNKNOWN
        ):
            return send_outcome(request, previous)
        return ClientClosedError(
            "the client was closed while this call was retrying; nothing more was sent",
            operation=request.operation,
        )

    @staticmethod
    def _log_outcome(
        request: Request,
        outcome: Result | SmscError,
        attempts: Attempts | None,
        duration: float,
    ) -> None:
        """One INFO record per call, with structured ``extra`` for log pipelines (never a secret)."""
        if not _log.isEnabledFor(logging.INFO):
            return
        extra: dict[str, Any] = {
            "operation": request.operation,
            "message_id": request.message_id,
            "attempts": attempts.attempt if attempts is not None else 0,
            "duration": round(duration, 6),
        }
        if isinstance(outcome, SmscError):
            extra.update(
                parts=None,
                cost=None,
                delivery=outcome.delivery.value,
                error=type(outcome).__name__,
            )
            code = getattr(outcome, "code", None)
            _log.info(
                "%s failed: %s%s",
                request.operation,
                type(outcome).__name__,
                f" (code {code})" if code is not None else "",
                extra=extra,
            )
            return
        parts = getattr(outcome, "cnt", None)
        cost = getattr(outcome, "cost", None)
        extra.update(
            parts=parts,
            cost=str(cost) if cost is not None else None,
            delivery=Delivery.ACCEPTED.value if request.is_send else None,
            error=None,
        )
        _log.info("%s ok in %.3f s", request.operation, duration, extra=extra)
