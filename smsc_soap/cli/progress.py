"""Progress on stderr for ``bulk``: a tqdm bar on a terminal, else a plain line every ``interval`` s.

Two displays share one throttle and one way to finish: :class:`CheckProgress` for the pass that checks
every row (by bytes of the file, a transient bar) and :class:`Progress` for the run (rows read of the
total, with their rate, the ETA and messages sent per second). tqdm fits a bar to ``width`` columns
(the terminal's own width when None), so it never wraps; tqdm is imported only when a display is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .._bulk.session import BulkProgress

__all__ = ["PLAIN_PROGRESS_INTERVAL", "CheckProgress", "Progress"]

#: Seconds between two plain progress lines when stderr is not a terminal.
PLAIN_PROGRESS_INTERVAL = 10.0
# The most useful first: a narrow terminal cuts the end (tqdm trims to the width), the bar takes the rest.
_BAR_FORMAT = (
    "{percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}] {bar}"
)
_PLAIN_FORMAT = (
    "progress: {n_fmt}/{total_fmt} rows ({percentage:.0f}%), {elapsed} elapsed, ETA {remaining}, "
    "{rate_fmt}{postfix}"
)
_CHECK_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} [{elapsed}<{remaining}] {bar}"


class _Display:
    """A tqdm bar on a terminal (``terminal=True``), else plain lines at most every ``interval`` s."""

    def __init__(
        self,
        stream: TextIO,
        *,
        terminal: bool,
        width: int | None,
        clock: Callable[[], float],
        interval: float,
        **bar: Any,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.interval = interval
        self.started = self.last = clock()
        self.bar: Any = None
        if terminal:
            from tqdm import tqdm

            self.bar = tqdm(
                file=stream, ncols=width, dynamic_ncols=width is None, mininterval=0.5, **bar
            )

    def _advance(self, done: int) -> None:
        self.bar.update(max(0, done - self.bar.n))

    def _due(self, now: float) -> bool:
        """Whether a plain line is due at ``now`` (and, if so, the next one ``interval`` s later)."""
        if now - self.last < self.interval:
            return False
        self.last = now
        return True

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Finish the bar (a terminal): left with its last state, or removed if transient."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Progress(_Display):
    """Progress of a run: rows read of ``total`` with their rate and the ETA, messages sent per second."""

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        terminal: bool,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_PROGRESS_INTERVAL,
    ) -> None:
        super().__init__(
            stream,
            terminal=terminal,
            width=width,
            clock=clock,
            interval=interval,
            total=total,
            unit="row",
            bar_format=_BAR_FORMAT,
            smoothing=0.1,
        )
        self.total = total

    def _postfix(self, progress: BulkProgress, elapsed: float) -> str:
        rate = progress.items_sent / elapsed if elapsed > 0 else 0.0
        text = f"{rate:.1f} msg/s, sent {progress.items_sent:,}"
        if progress.items_failed:
            text += f", failed {progress.items_failed:,}"
        return text

    def __call__(self, progress: BulkProgress) -> None:
        now = self.clock()
        postfix = self._postfix(progress, now - self.started)
        if self.bar is not None:
            self.bar.set_postfix_str(postfix, refresh=False)
            self._advance(progress.items_read)
        elif self._due(now):
            from tqdm import tqdm

            self._line(
                tqdm.format_meter(
                    progress.items_read,
                    self.total,
                    now - self.started,
                    unit="row",
                    bar_format=_PLAIN_FORMAT,
                    postfix=postfix,
                )
            )


class CheckProgress(_Display):
    """Progress of the checking pass, by bytes of the file: a transient bar, or plain lines."""

    def __init__(
        self,
        stream: TextIO,
        size: int,
        *,
        terminal: bool,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        interval: float = PLAIN_PROGRESS_INTERVAL,
    ) -> None:
        super().__init__(
            stream,
            terminal=terminal,
            width=width,
            clock=clock,
            interval=interval,
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="checking rows",
            leave=False,
            bar_format=_CHECK_FORMAT,
        )
        self.size = size

    def __call__(self, rows: int, bytes_read: int) -> None:
        done = min(bytes_read, self.size)
        if self.bar is not None:
            self._advance(done)
        elif self._due(self.clock()):
            share = f", {done / self.size:.0%} of the file" if self.size else ""
            self._line(f"checking rows: {rows:,} read{share}")
