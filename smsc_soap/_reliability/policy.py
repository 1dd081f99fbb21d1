"""Retry, fail-over and reconcile decisions, with no I/O, so that sync and async clients share them.

Nothing here sleeps, reads a clock or touches a socket: the caller passes the error of an attempt and
the current time (from whatever clock it uses) and gets back a :class:`Decision` (retry after N seconds,
fail over to the next endpoint, or give up). The sync client sleeps with ``time.sleep``; an async one
can ``await asyncio.sleep`` on the same decisions.

The rules:

* reads (cost, status, balance) are idempotent: they are retried on connection failures, timeouts,
  HTTP 5xx/429 and SOAP Server faults, with jittered exponential backoff, honouring Retry-After up to
  a cap, and they rotate over the endpoints (primary, then mirrors);
* a send is retried only when the failure proves that nothing left the process (refused connection,
  DNS failure, connect timeout): the same bytes, possibly to a mirror, since no host has seen it;
* nothing is retried after the service answered with an error code (1-9), after a TLS failure, a
  redirect, an oversized or malformed reply, or once the call's deadline leaves no room;
* a send whose outcome is unknown may be *reconciled* (:class:`Reconciler`): ask ``get_status``, and
  resend the identical request once, only if the service says the message does not exist and the
  resend still falls inside the 45 s budget of SMSC's 60-second duplicate window.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from .._codes import MessageStatus
from .._exceptions import (
    Delivery,
    MessageNotFoundError,
    SmscApiError,
    SmscConfigurationError,
    SmscConnectError,
    SmscConnectTimeoutError,
    SmscDeadlineExceededError,
    SmscError,
    SmscFaultError,
    SmscHttpError,
    SmscProtocolError,
    SmscReadTimeoutError,
    SmscTlsError,
    SmscTransportError,
)

__all__ = [
    "Action",
    "Attempts",
    "Decision",
    "ReconcileStep",
    "Reconciler",
    "RetryPolicy",
    "is_pre_send",
    "retryable",
    "status_says_missing",
]


class Action(enum.Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    """Try the same endpoint again after ``delay`` seconds."""
    FAILOVER = "failover"
    """Try the next endpoint (a mirror) after ``delay`` seconds."""
    GIVE_UP = "give_up"
    """Raise the error."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one failed attempt: an action, a delay and the endpoint to use next."""

    action: Action
    delay: float = 0.0
    endpoint: str | None = None
    reason: str = ""


def _seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SmscConfigurationError(f"{name} must be a number of seconds", field=name)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SmscConfigurationError(f"{name} must be a finite number of seconds > 0", field=name)
    return float(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently calls are retried; validated on construction.

    ``max_attempts`` bounds reads, ``send_max_attempts`` bounds sends that provably never left the
    process (1 disables retries). Delays grow from ``base_delay`` by doubling up to ``max_delay``,
    then :meth:`jitter` spreads them. A Retry-After above ``max_retry_after`` ends the call instead of
    waiting. ``resend_window`` is how long after a possibly-received send a resend may still start
    (SMSC suppresses identical sends for 60 s; 45 s leaves room for skew and latency);
    ``reconcile_delay`` is the pause before asking ``get_status`` about a send whose reply was lost.
    """

    max_attempts: int = 3
    send_max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 5.0
    max_retry_after: float = 10.0
    resend_window: float = 45.0
    reconcile_delay: float = 2.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "send_max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
                raise SmscConfigurationError(f"{name} must be an integer from 1 to 10", field=name)
        for name in ("base_delay", "max_delay", "max_retry_after", "reconcile_delay"):
            object.__setattr__(self, name, _seconds(name, getattr(self, name), allow_zero=True))
        window = _seconds("resend_window", self.resend_window)
        if window > 55:
            raise SmscConfigurationError(
                "resend_window must stay well inside SMSC's 60 s duplicate window (at most 55 s)",
                field="resend_window",
            )
        object.__setattr__(self, "resend_window", window)

    def backoff(self, retry: int) -> float:
        """The un-jittered delay before retry number ``retry`` (1-based): base, 2x base, ..., capped."""
        return min(self.max_delay, self.base_delay * 2.0 ** max(0, retry - 1))

    def jitter(self, delay: float) -> float:
        """Spread ``delay`` over [delay/2, delay] so that many clients do not retry in lockstep.

        Kept in its own method so that tests can pin it (subclass, or patch it on the class).
        """
        return delay * (0.5 + random.random() / 2)  # jitter, not cryptography


def is_pre_send(error: SmscError) -> bool:
    """Whether ``error`` proves the request never left the process and may be transient."""
    return (
        isinstance(error, SmscConnectError | SmscConnectTimeoutError)
        and not isinstance(error, SmscTlsError)
        and error.delivery is Delivery.NOT_SENT
        and error.retry_safe
    )


def retryable(error: SmscError, *, is_send: bool) -> bool:
    """Whether the policy may repeat the request that failed with ``error``."""
    if isinstance(error, SmscApiError):
        # The service answered: 1/2/3/5-8 will not change, 4 opens the breaker, 9 is a rate limit.
        return False
    if is_pre_send(error):
        return True
    if is_send:
        return False
    if isinstance(error, SmscDeadlineExceededError):
        return False
    if isinstance(error, SmscHttpError):
        return error.http_status is not None and (
            error.http_status >= 500 or error.http_status == 429
        )
    if isinstance(error, SmscFaultError):
        # A Server fault may be transient; a Client fault (or "Procedure not present") is not.
        return error.delivery is Delivery.UNKNOWN
    if isinstance(error, SmscReadTimeoutError):
        return True
    # A reset or cut-off connection after the request went out; redirects, TLS, oversized replies
    # and other protocol errors are subclasses and are not retried.
    return type(error) is SmscTransportError


class Attempts:
    """The retry state of one call: which attempt this is, on which endpoint, and what comes next.

    ``started_at`` and ``deadline`` are times on the caller's clock; :meth:`decide` gets ``now`` on the
    same clock. Not thread-safe: one instance per call.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        is_send: bool,
        endpoints: Sequence[str],
        started_at: float,
        deadline: float,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self.policy = policy
        self.is_send = is_send
        self.endpoints = tuple(endpoints)
        self.started_at = started_at
        self.deadline = deadline
        self.attempt = 1
        self.index = 0
        self._tried = {0}
        #: When the latest attempt started: the start of SMSC's duplicate window for a lost send.
        self.sent_at = started_at

    @property
    def endpoint(self) -> str:
        """The endpoint of the current attempt."""
        return self.endpoints[self.index]

    @property
    def limit(self) -> int:
        """The most attempts this call may make."""
        return self.policy.send_max_attempts if self.is_send else self.policy.max_attempts

    def decide(self, error: SmscError, now: float) -> Decision:
        """Given the error of the current attempt and the time, say whether and where to try again.

        A RETRY/FAILOVER decision advances the state to the next attempt.
        """
        if not retryable(error, is_send=self.is_send):
            return Decision(Action.GIVE_UP, reason=f"{type(error).__name__} is not retried")
        if self.attempt >= self.limit:
            return Decision(Action.GIVE_UP, reason=f"{self.attempt} attempts made")
        next_index = (self.index + 1) % len(self.endpoints)
        # A mirror not yet tried in this call is tried at once; coming back to a tried host waits.
        delay = (
            0.0
            if next_index not in self._tried
            else self.policy.jitter(self.policy.backoff(self.attempt))
        )
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and math.isfinite(retry_after):
            if retry_after > self.policy.max_retry_after:
                return Decision(
                    Action.GIVE_UP,
                    reason=f"Retry-After {retry_after:g} s is above the "
                    f"{self.policy.max_retry_after:g} s cap",
                )
            delay = max(delay, float(retry_after))
        if now + delay >= self.deadline:
            return Decision(
                Action.GIVE_UP, reason="the deadline leaves no room for another attempt"
            )
        if self.is_send and now + delay - self.started_at > self.policy.resend_window:
            return Decision(Action.GIVE_UP, reason="past the resend window of the duplicate check")
        action = Action.FAILOVER if next_index != self.index else Action.RETRY
        self.index = next_index
        self._tried.add(next_index)
        self.attempt += 1
        return Decision(action, delay, self.endpoint, f"attempt {self.attempt} of {self.limit}")


# ---------------------------------------------------------------- reconcile


class ReconcileStep(enum.Enum):
    """The next step of reconciling a send whose outcome is unknown."""

    CHECK_STATUS = "check_status"
    """Ask ``get_status(id, phone)`` after the returned delay."""
    RESEND = "resend"
    """Send the identical request once more, to the same host."""
    CONFIRMED = "confirmed"
    """The service has the message: it was sent."""
    UNKNOWN = "unknown"
    """Nothing more can be learnt safely: the outcome stays unknown."""


def status_says_missing(outcome: object) -> bool | None:
    """Read a ``get_status`` outcome: True if the message does not exist, False if it does, else None.

    ``outcome`` is a StatusResult or an SmscError. Error 3 on status and status -3 both mean
    "not found"; any other status means the service holds the message; any other error says nothing.
    """
    if isinstance(outcome, MessageNotFoundError):
        return True
    if isinstance(outcome, SmscError):
        return None
    status = getattr(outcome, "status", None)
    if status is None:
        return None
    return bool(status == MessageStatus.NOT_FOUND)


class Reconciler:
    """The reconcile state machine of one send: check the status, then at most one identical resend.

    ``sent_at`` is when the attempt that may have reached the service started, on the caller's clock.
    """

    def __init__(self, policy: RetryPolicy, *, sent_at: float) -> None:
        self.policy = policy
        self.sent_at = sent_at
        self.resends = 0
        self.step = ReconcileStep.CHECK_STATUS

    def start(self, now: float) -> tuple[ReconcileStep, float]:
        """The first step and how long to wait before it (shortened so a resend can still fit)."""
        room = self.sent_at + self.policy.resend_window - now
        return ReconcileStep.CHECK_STATUS, max(0.0, min(self.policy.reconcile_delay, room))

    def may_resend(self, now: float) -> bool:
        """Whether a resend starting at ``now`` is still protected by the duplicate window."""
        return self.resends == 0 and now - self.sent_at <= self.policy.resend_window

    def on_status(self, missing: bool | None, now: float) -> ReconcileStep:
        """Given what ``get_status`` said (see :func:`status_says_missing`), choose the next step."""
        if missing is False:
            self.step = ReconcileStep.CONFIRMED
        elif missing is True and self.may_resend(now):
            self.step = ReconcileStep.RESEND
        else:
            self.step = ReconcileStep.UNKNOWN
        return self.step

    def resend_started(self) -> None:
        """Record that the single resend is on its way."""
        if self.resends:
            raise RuntimeError("a send is resent at most once")
        self.resends += 1


def describe(error: SmscError) -> str:
    """A short name for an error in retry log lines (never its message, which may quote a server)."""
    if isinstance(error, SmscHttpError | SmscProtocolError | SmscTransportError):
        status = getattr(error, "http_status", None)
        return f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")
    return type(error).__name__
