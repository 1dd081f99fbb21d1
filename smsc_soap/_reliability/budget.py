"""The service's limits, kept locally and shared by every thread of a client.

SMSC answers error 9 to more than 5 status requests per message per minute, more than 10 balance
requests per minute, more than 5 identical cost requests per minute and 15 or more concurrent requests
under one login; repeated errors and same-type floods can block the IP altogether (error 4, for 10 to
30 minutes, for every program behind that IP). So the client refuses such calls itself, before any
byte leaves (``RateLimitedError``, NOT_SENT), caps its concurrency below 15, and after an error 4 stops
calling for a cool-down (``CircuitOpenError``). Time comes from an injected clock (monotonic seconds).

Every structure here is guarded by locks and re-created in a forked child, whose copies of the
parent's locks and semaphore counts may be stale.
"""

from __future__ import annotations

import collections
import math
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._exceptions import (
    CircuitOpenError,
    IpBlockedError,
    RateLimitedError,
    SmscApiError,
    SmscConfigurationError,
    SmscError,
    SmscFaultError,
)

if TYPE_CHECKING:
    from .limits import Breaker, LimitsStore, Slots, Window

__all__ = [
    "CircuitBreaker",
    "ClientBudget",
    "RateWindow",
    "RetryBudget",
    "ServiceLimits",
]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class ServiceLimits:
    """SMSC's documented per-minute limits (requests allowed per ``period`` seconds)."""

    status_per_message: int = 5
    balance: int = 10
    identical_cost: int = 5
    period: float = 60.0


class RateWindow:
    """A sliding-window counter per key: at most ``limit`` admissions per ``period`` seconds."""

    def __init__(self, limit: int, period: float, clock: Clock) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[Hashable, collections.deque[float]] = {}

    def acquire(self, key: Hashable) -> float | None:
        """Admit one request for ``key`` (None), or return the seconds until one would be admitted."""
        now = self._clock()
        horizon = now - self.period
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) > 4096:
                    self._prune(horizon)
                hits = self._hits[key] = collections.deque()
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] - horizon)
            hits.append(now)
            return None

    def _prune(self, horizon: float) -> None:
        # Keys of messages no longer polled would otherwise accumulate for the client's lifetime.
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= horizon]:
            del self._hits[key]

    def reset_locks(self) -> None:
        """Give a forked child its own lock."""
        self._lock = threading.Lock()


class CircuitBreaker:
    """Opens for ``cooldown`` seconds after an error 4; then lets one probe through at a time.

    While open, :meth:`admit` raises CircuitOpenError (NOT_SENT: no request leaves). After the
    cool-down one caller becomes the probe: a service answer other than error 4 closes the breaker,
    another error 4 opens it again, and a failure that never reached the service frees the probe slot.
    """

    def __init__(self, cooldown: float, clock: Clock) -> None:
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        """Whether calls are currently refused (open, or half-open with a probe in flight)."""
        with self._lock:
            if self._open_until is None:
                return False
            return self._clock() < self._open_until or self._probing

    def admit(self, operation: str | None = None) -> bool:
        """Let a call through, returning whether it is the half-open probe; raise if the breaker is open."""
        now = self._clock()
        with self._lock:
            if self._open_until is None:
                return False
            if now < self._open_until:
                wait = self._open_until - now
            elif not self._probing:
                self._probing = True
                return True
            else:
                wait = 1.0
        raise CircuitOpenError(
            f"SMSC blocked this IP (error 4); calls are refused locally for another {wait:.0f} s "
            "so that the block is not extended",
            operation=operation,
            retry_after=wait,
        )

    def record(self, probe: bool, error: SmscError | None) -> None:
        """Update the state after a call: error 4 opens, a service answer closes."""
        with self._lock:
            if isinstance(error, IpBlockedError):
                self._open_until = self._clock() + self.cooldown
                self._probing = False
            elif probe:
                # Only the probe may close the breaker: a call admitted before the trip proves nothing.
                if error is None or isinstance(error, SmscApiError | SmscFaultError):
                    self._open_until = None
                self._probing = False

    def release_probe(self) -> None:
        """Free the probe slot when the probe never left the process."""
        with self._lock:
            self._probing = False

    def reset_locks(self) -> None:
        """Give a forked child its own lock."""
        self._lock = threading.Lock()
        self._probing = False


class RetryBudget:
    """A token bucket that bounds retries across all threads: a storm cannot multiply the load.

    Each first attempt deposits ``ratio`` tokens (up to ``capacity``); each retry withdraws one. With
    the defaults, retries add at most 20% to the traffic once the initial reserve is spent.
    """

    def __init__(self, capacity: float = 10.0, ratio: float = 0.2) -> None:
        self.capacity = capacity
        self.ratio = ratio
        self._tokens = capacity
        self._lock = threading.Lock()

    def deposit(self) -> None:
        """Record a first attempt."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + self.ratio)

    def withdraw(self) -> bool:
        """Take a token for a retry; False when the budget is spent."""
        with self._lock:
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def reset_locks(self) -> None:
        """Give a forked child its own lock."""
        self._lock = threading.Lock()


class ClientBudget:
    """All the limits of one client: concurrency slots, rate windows, breaker, retry budget, in-flight sends.

    The windows and the breaker come from ``store`` (in-process by default; a Redis store shares them,
    and adds slots shared by every process of the account, see ``_limits``).
    """

    def __init__(
        self,
        *,
        max_connections: int,
        breaker_cooldown: float,
        clock: Clock,
        limits: ServiceLimits | None = None,
        store: LimitsStore | None = None,
    ) -> None:
        if (
            isinstance(breaker_cooldown, bool)
            or not isinstance(breaker_cooldown, int | float)
            or not math.isfinite(breaker_cooldown)
            or breaker_cooldown <= 0
        ):
            raise SmscConfigurationError(
                "breaker_cooldown must be a finite number of seconds > 0", field="breaker_cooldown"
            )
        from .limits import SHARED_MAX_IN_FLIGHT, LocalStore

        self.limits = limits or ServiceLimits()
        self.max_connections = max_connections
        self.clock = clock
        self.store: LimitsStore = store if store is not None else LocalStore(clock)
        self.breaker: Breaker = self.store.breaker(float(breaker_cooldown))
        self.retries = RetryBudget()
        period = self.limits.period
        self._status = self.store.window("status", self.limits.status_per_message, period)
        self._balance = self.store.window("balance", self.limits.balance, period)
        self._cost = self.store.window("cost", self.limits.identical_cost, period)
        self.shared_slots: Slots | None = self.store.slots(SHARED_MAX_IN_FLIGHT)
        self._pid = os.getpid()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            # Threads of the parent do not exist here: their slots and locks must not stay taken.
            self._pid = os.getpid()
            self._slots = threading.BoundedSemaphore(self.max_connections)
            self._in_flight = set()
            self._in_flight_lock = threading.Lock()
            for part in (self.breaker, self.retries, self._status, self._balance, self._cost):
                part.reset_locks()

    def admit(self, operation: str, key: str | bytes) -> bool:
        """Check the breaker and the rate limits for one request; return whether it is the breaker's probe.

        ``key`` says what the request is about (``Request.limit_key``: message id and phone for a
        status, the same for get_status and get_status2 and every ``all``, since the service counts
        per message; the fields of a cost request), never its credentials. Raises CircuitOpenError or
        RateLimitedError (both NOT_SENT) instead of letting it leave.
        """
        self._check_fork()
        probe = self.breaker.admit(operation)
        window: Window | None = None
        what = ""
        if operation.startswith("get_status"):
            window, what = self._status, "5 status requests per message"
        elif operation == "get_balance":
            window, what, key = self._balance, "10 balance requests", operation
        elif operation.startswith("get_sms_cost"):
            window, what = self._cost, "5 identical cost requests"
        wait = window.acquire(key) if window is not None else None
        if wait is not None:
            if probe:
                self.breaker.release_probe()
            raise RateLimitedError(
                f"{operation}: SMSC allows at most {what} per minute (more get error 9); "
                f"try again in {wait:.1f} s",
                operation=operation,
                retry_after=wait,
            )
        return probe

    def acquire_slot(self, timeout: float) -> object | None:
        """Take one of the ``max_connections`` slots (and a shared one), waiting at most ``timeout`` s.

        Returns a token for :meth:`release_slot`, or None when none came free in time.
        """
        self._check_fork()
        started = self.clock()
        if not self._slots.acquire(timeout=max(0.0, timeout)):
            return None
        if self.shared_slots is None:
            return _LOCAL_SLOT
        left = max(0.0, timeout - (self.clock() - started))
        token = self.shared_slots.acquire(left, lease=timeout)
        if token is None:
            self._release_local()
            return None
        return token

    def try_shared_slot(self, lease: float) -> object | None:
        """Take a shared slot without waiting (the async client's path): a token, or None when all are taken."""
        if self.shared_slots is None:
            return _LOCAL_SLOT
        return self.shared_slots.try_acquire(lease)

    def release_shared_slot(self, token: object) -> None:
        """Give back a slot taken with :meth:`try_shared_slot`."""
        if self.shared_slots is not None and token is not _LOCAL_SLOT:
            self.shared_slots.release(token)

    def release_slot(self, token: object = None) -> None:
        """Give a slot back."""
        self.release_shared_slot(token)
        self._release_local()

    def _release_local(self) -> None:
        try:
            self._slots.release()
        except ValueError:  # a slot taken before a fork, released in the child after the reset
            pass

    def enter_send(self, key: str) -> str | None:
        """Register an identical send (by its ``limit_key``) as in flight; None when one is already on its way."""
        self._check_fork()
        with self._in_flight_lock:
            if key in self._in_flight:
                return None
            self._in_flight.add(key)
        return key

    def leave_send(self, key: str) -> None:
        """Forget an in-flight send."""
        with self._in_flight_lock:
            self._in_flight.discard(key)


_LOCAL_SLOT = object()
