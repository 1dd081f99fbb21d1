"""The service's limits (error 9), IP blocks (error 4) and the per-subscriber flood rule.

Every counter here expires incrementally: each keeps, beside its dictionary, a queue of
``(expires_at, key)`` in the order the entries were touched, and every call first pops what is due. A
key touched again leaves a stale queue entry behind, which is recognised (the key's own deadline is
later) and skipped. So a request costs amortised O(1) however many keys a long-running server holds, and
nothing ever rebuilds a whole dictionary under the lock.

Nothing here is thread-safe on its own: :class:`~smsc_soap.emulator.Emulator` calls it under its lock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._errors import IpBlocked, TooManyRequests

__all__ = ["Guards", "Limits", "SlidingWindows", "Stamps"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Limits:
    """The service's limits; the defaults are SMSC's documented ones.

    ``flood_messages`` and ``flood_gap`` are the SOAP page's rule (more than 50 messages to one
    subscriber, each less than 2 minutes after the previous one, are blocked); ``error_streak`` within
    ``error_window`` blocks an IP for ``error_block_seconds`` (R5: 100 erroneous requests in a row
    within 10 minutes block it for 10 minutes).
    """

    duplicate_window: float = 60.0
    cost_per_minute: int = 5
    status_per_minute: int = 5
    balance_per_minute: int = 10
    concurrent: int = 15
    auth_failures: int = 5
    auth_window: float = 30 * 60.0
    block_seconds: float = 30 * 60.0
    error_streak: int = 100
    error_window: float = 10 * 60.0
    error_block_seconds: float = 10 * 60.0
    flood_messages: int = 50
    flood_gap: float = 120.0


class Stamps(Generic[K]):
    """Keys with the moment each was last seen, forgotten ``ttl`` seconds after that moment."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._last: dict[K, float] = {}
        self._queue: deque[tuple[float, K]] = deque()

    def expire(self, now: float) -> None:
        """Forget every key last seen ``ttl`` or more seconds before ``now``."""
        queue, last, ttl = self._queue, self._last, self.ttl
        while queue and queue[0][0] <= now:
            _, key = queue.popleft()
            seen = last.get(key)
            if seen is not None and seen + ttl <= now:
                del last[key]

    def get(self, key: K, now: float) -> float | None:
        """Return when ``key`` was last seen, if within ``ttl`` of ``now``."""
        self.expire(now)
        return self._last.get(key)

    def touch(self, key: K, now: float) -> None:
        """Record ``key`` as seen at ``now``."""
        self._last[key] = now
        self._queue.append((now + self.ttl, key))

    def __len__(self) -> int:
        return len(self._last)


class SlidingWindows(Generic[K]):
    """Per key, the moments of the events of the last ``window`` seconds (a sliding window count)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._times: dict[K, deque[float]] = {}
        self._queue: deque[tuple[float, K]] = deque()

    def expire(self, now: float) -> None:
        """Drop the events older than the window, and the keys left with none."""
        queue, times, window = self._queue, self._times, self.window
        while queue and queue[0][0] <= now:
            _, key = queue.popleft()
            events = times.get(key)
            if events is None:
                continue
            while events and events[0] + window <= now:
                events.popleft()
            if not events:
                del times[key]

    def count(self, key: K, now: float) -> int:
        """Return how many events ``key`` had within the window."""
        self.expire(now)
        events = self._times.get(key)
        return len(events) if events is not None else 0

    def add(self, key: K, now: float) -> int:
        """Record an event of ``key`` at ``now``; return the count including it."""
        self.expire(now)
        events = self._times.setdefault(key, deque())
        events.append(now)
        self._queue.append((now + self.window, key))
        return len(events)

    def clear(self, key: K) -> None:
        """Forget the events of ``key``."""
        self._times.pop(key, None)

    def __len__(self) -> int:
        return len(self._times)


class Guards:
    """The counters behind errors 4 and 9 and the flood rule, for one emulated service."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.reset()

    def reset(self) -> None:
        """Forget every counter and block."""
        limits = self.limits
        self.recent_sends: Stamps[tuple[str, ...]] = Stamps(limits.duplicate_window)
        self.rates: SlidingWindows[tuple[str, ...]] = SlidingWindows(60.0)
        self.auth_failures: SlidingWindows[str] = SlidingWindows(limits.auth_window)
        self.error_streaks: SlidingWindows[str] = SlidingWindows(limits.error_window)
        self.blocked_until: dict[str, tuple[float, str]] = {}
        # Per subscriber: (last message time, messages in the current run of short gaps).
        self._flood: dict[str, tuple[float, int]] = {}
        self._flood_queue: deque[tuple[float, str]] = deque()
        self.in_flight: dict[str, int] = {}

    # ----- IP blocks -----------------------------------------------------------------------------

    def check_ip(self, ip: str, now: float) -> None:
        """Raise error 4 while ``ip`` is blocked."""
        block = self.blocked_until.get(ip)
        if block is None:
            return
        until, why = block
        if now < until:
            raise IpBlocked(f"IP {ip} is blocked until {int(until - now)} s from now ({why})")
        del self.blocked_until[ip]

    def auth_failed(self, ip: str, now: float) -> None:
        """Count an authorisation failure of ``ip``; block it at the limit (R5)."""
        limits = self.limits
        if self.auth_failures.add(ip, now) >= limits.auth_failures:
            self.auth_failures.clear(ip)
            self.blocked_until[ip] = (
                now + limits.block_seconds,
                f"{limits.auth_failures} authorisation failures within "
                f"{int(limits.auth_window // 60)} minutes",
            )

    def request_failed(self, ip: str, now: float) -> None:
        """Count an erroneous request of ``ip`` in its current streak; block it at the limit (R5)."""
        limits = self.limits
        if self.error_streaks.add(ip, now) >= limits.error_streak:
            self.error_streaks.clear(ip)
            self.blocked_until[ip] = (
                now + limits.error_block_seconds,
                f"{limits.error_streak} erroneous requests in a row within "
                f"{int(limits.error_window // 60)} minutes",
            )

    def request_succeeded(self, ip: str) -> None:
        """End the error streak of ``ip``."""
        self.error_streaks.clear(ip)

    def unblock(self, ip: str | None = None) -> list[str]:
        """Lift the block of ``ip`` and forget its failures (every IP's when None); return the IPs freed."""
        if ip is None:
            freed = sorted(self.blocked_until)
            self.blocked_until.clear()
            self.auth_failures = SlidingWindows(self.limits.auth_window)
            self.error_streaks = SlidingWindows(self.limits.error_window)
            return freed
        self.auth_failures.clear(ip)
        self.error_streaks.clear(ip)
        return [ip] if self.blocked_until.pop(ip, None) is not None else []

    # ----- rates and duplicates ------------------------------------------------------------------

    def rate(self, key: tuple[str, ...], limit: int, now: float) -> None:
        """Count a request of kind ``key``; raise error 9 when more than ``limit`` came within 60 s."""
        if self.rates.count(key, now) >= limit:
            raise TooManyRequests(f"more than {limit} such requests within a minute")
        self.rates.add(key, now)

    def check_duplicate(self, key: tuple[str, ...], now: float) -> None:
        """Raise error 9 when an identical send came less than ``duplicate_window`` seconds ago."""
        if self.recent_sends.get(key, now) is not None:
            raise TooManyRequests("an identical send request came less than a minute ago")

    # ----- the flood rule ------------------------------------------------------------------------

    def flood(self, phone: str, now: float) -> bool:
        """Count a message to ``phone``; tell whether it is blocked by the flood rule.

        A message less than ``flood_gap`` seconds after the previous one to the same number continues
        the run; once the run holds more than ``flood_messages`` messages, each further message of the
        run is blocked. A longer pause starts a new run.
        """
        limits = self.limits
        queue, runs = self._flood_queue, self._flood
        while queue and queue[0][0] <= now:
            _, key = queue.popleft()
            entry = runs.get(key)
            if entry is not None and entry[0] + limits.flood_gap <= now:
                del runs[key]
        entry = runs.get(phone)
        run = entry[1] + 1 if entry is not None and now - entry[0] < limits.flood_gap else 1
        runs[phone] = (now, run)
        queue.append((now + limits.flood_gap, phone))
        return run > limits.flood_messages

    # ----- concurrency ---------------------------------------------------------------------------

    def enter(self, key: str) -> int:
        """Count a request under ``key`` as in flight; return how many are now."""
        count = self.in_flight.get(key, 0) + 1
        self.in_flight[key] = count
        return count

    def leave(self, key: str) -> None:
        """Count a request under ``key`` as finished."""
        left = self.in_flight.get(key, 0) - 1
        if left > 0:
            self.in_flight[key] = left
        else:
            self.in_flight.pop(key, None)

    def sizes(self) -> Iterator[tuple[str, int]]:
        """Yield the size of every counter (for tests that check nothing grows without bound)."""
        yield "recent_sends", len(self.recent_sends)
        yield "rates", len(self.rates)
        yield "auth_failures", len(self.auth_failures)
        yield "error_streaks", len(self.error_streaks)
        yield "flood", len(self._flood)
        yield "in_flight", len(self.in_flight)
