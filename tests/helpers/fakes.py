"""Time that moves only when a test says so: a fake monotonic clock, a fake sleep, exact delays."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smsc_soap import RetryPolicy


class FakeClock:
    """A monotonic clock that moves only when the fake sleep (or a test) advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeSleep:
    """Records every requested delay and advances the fake clock instead of sleeping.

    Call it for ``SoapSmsc(sleep=...)``; pass :meth:`asleep` to ``AsyncSoapSmsc(sleep=...)``.
    """

    clock: FakeClock = field(default_factory=FakeClock)
    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.now += seconds

    async def asleep(self, seconds: float) -> None:
        """The same, as the coroutine function the async client awaits."""
        self(seconds)


class PinnedPolicy(RetryPolicy):
    """A retry policy whose jitter is the identity, so delays are exact."""

    def jitter(self, delay: float) -> float:
        return delay


def wait_until(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds (generous: a busy machine).

    For waiting on another thread or process that has no event to wait on; never a measure of speed.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s" + (f": {what}" if what else ""))
        time.sleep(0.005)
