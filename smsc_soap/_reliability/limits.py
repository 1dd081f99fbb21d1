"""Where a client keeps the limits it may share with other processes: the limits-store protocol.

A :class:`LimitsStore` hands out the three shared structures of :class:`~smsc_soap._budget.ClientBudget`:
rate windows (:class:`Window`), the IP-block breaker (:class:`Breaker`) and, for stores shared between
processes, concurrency slots with a lease (:class:`Slots`). :class:`LocalStore` keeps them in this
process (the default); ``smsc_soap._redis_limits.RedisLimitsStore`` keeps them in Redis so that a fleet
of workers under one login shares them. Keys never carry a secret: windows are keyed by what the
request asks about (message id and phone, or the cost request's fields), never by its body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .._exceptions import SmscConfigurationError, SmscError

__all__ = [
    "SHARED_MAX_IN_FLIGHT",
    "Breaker",
    "LimitsStore",
    "LocalStore",
    "Slots",
    "Window",
    "open_store",
]

#: SMSC answers error 9 to 15 or more concurrent requests under one login (R2).
SHARED_MAX_IN_FLIGHT = 14

Clock = Callable[[], float]


class Window(Protocol):
    """A sliding window: at most ``limit`` admissions per ``period`` seconds per key."""

    def acquire(self, key: str | bytes) -> float | None:
        """Admit one request for ``key`` (None), or return the seconds until one would be admitted."""
        ...

    def reset_locks(self) -> None:
        """Make the window usable in a forked child."""
        ...


class Breaker(Protocol):
    """The IP-block circuit breaker (see ``CircuitBreaker``)."""

    @property
    def is_open(self) -> bool:
        """Whether calls are currently refused."""
        ...

    def admit(self, operation: str | None = None) -> bool:
        """Let a call through (returning whether it is the probe) or raise CircuitOpenError."""
        ...

    def record(self, probe: bool, error: SmscError | None) -> None:
        """Update the state after a call."""
        ...

    def release_probe(self) -> None:
        """Free the probe slot when the probe never left the process."""
        ...

    def reset_locks(self) -> None:
        """Make the breaker usable in a forked child."""
        ...


class Slots(Protocol):
    """Concurrency slots shared between processes, each held for at most a lease."""

    def try_acquire(self, lease: float) -> object | None:
        """Take a slot for at most ``lease`` seconds without waiting: a token, or None when all are taken."""
        ...

    def acquire(self, timeout: float, lease: float) -> object | None:
        """Take a slot, waiting up to ``timeout`` seconds: a token, or None."""
        ...

    def release(self, token: object) -> None:
        """Give a slot back (a slot whose lease ran out is already free)."""
        ...


@runtime_checkable
class LimitsStore(Protocol):
    """Makes the windows, breaker and slots of one client; ``name`` scopes them to an account."""

    def window(self, name: str, limit: int, period: float) -> Window:
        """Return the window ``name`` (e.g. ``status``) of this account."""
        ...

    def breaker(self, cooldown: float) -> Breaker:
        """Return the IP-block breaker (shared by every account using the store)."""
        ...

    def slots(self, limit: int) -> Slots | None:
        """Return the account's shared slots, or None when the store is private to this process."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...


class LocalStore:
    """The in-process store: every structure lives in this client (the default)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def window(self, name: str, limit: int, period: float) -> Window:
        """A per-client sliding window."""
        from .budget import RateWindow

        return RateWindow(limit, period, self._clock)

    def breaker(self, cooldown: float) -> Breaker:
        """A per-client breaker."""
        from .budget import CircuitBreaker

        return CircuitBreaker(cooldown, self._clock)

    def slots(self, limit: int) -> Slots | None:
        """None: the client's own semaphore is the only bound."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "LocalStore()"


def open_store(
    value: str | LimitsStore | None, *, clock: Clock, account: str
) -> tuple[LimitsStore, bool]:
    """Return the store for a client's ``limits_store`` setting and whether the client owns it.

    ``None`` is the in-process store; a ``redis://`` / ``rediss://`` / ``unix://`` URL opens a
    :class:`~smsc_soap._redis_limits.RedisLimitsStore` for ``account`` (which needs the ``redis``
    extra); a store object is used as given (and not closed by the client).
    """
    if value is None:
        return LocalStore(clock), True
    if isinstance(value, str):
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in ("redis", "rediss", "unix"):
            raise SmscConfigurationError(
                "limits_store must be a redis://, rediss:// or unix:// URL, or a store object",
                field="limits_store",
            )
        from .redis_limits import RedisLimitsStore

        return RedisLimitsStore(value, account=account, clock=clock), True
    if isinstance(value, LimitsStore):
        return value, False
    raise SmscConfigurationError(
        "limits_store must be None, a redis:// URL or a LimitsStore", field="limits_store"
    )
