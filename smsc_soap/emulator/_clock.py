"""Clocks for the emulator: real time by default, a hand-moved one for deterministic tests."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current Unix time in seconds."""

    def now(self) -> float:
        """Return the current Unix time in seconds."""
        ...


class SystemClock:
    """The real wall clock (``time.time``)."""

    def now(self) -> float:
        """Return the real current Unix time."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until a test moves it with :meth:`advance` or :meth:`set`."""

    def __init__(self, start: float | None = None) -> None:
        self._start = float(int(time.time()) if start is None else start)
        self._now = self._start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the clock's current Unix time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward; use set() to jump elsewhere")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        """Put the clock at ``timestamp`` (Unix seconds)."""
        with self._lock:
            self._now = float(timestamp)

    def reset(self) -> None:
        """Put the clock back where it started."""
        self.set(self._start)

    def __repr__(self) -> str:
        return f"ManualClock({self.now()!r})"
