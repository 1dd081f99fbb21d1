"""The deadline watchdog of the sync transports: one daemon thread that shuts a late call's socket down.

Socket timeouts bound each ``recv``, not a whole reply: a server that drips one header byte per second
would hold a call forever. Arming the socket here bounds the call by its deadline however the server
paces its bytes. Arming and disarming cost a lock and a heap push; the thread is woken only when a new
deadline is earlier than the one it waits for (calls share one deadline setting, so almost never).
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
import weakref

__all__ = ["WATCHDOG", "Watchdog"]


class Watchdog:
    """Shuts down the socket of a call whose deadline passed, unless the call disarmed it first."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, socket.socket] = {}
        self._tokens = itertools.count(1)
        self._pid = -1
        #: The deadline the thread sleeps towards (inf: none); a later one needs no wake-up.
        self._waiting_for = float("inf")
        #: How often the thread was woken by an arm (for tests and the benchmark).
        self.wakeups = 0
        if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock. Another thread of the parent may have held the old one
        (every call arms and disarms), and the child would then block on it for ever."""
        self._cond = threading.Condition(threading.Lock())
        self._heap, self._armed = [], {}
        self._waiting_for = float("inf")
        self._pid = -1  # the first arm starts the child's own thread

    def arm(self, sock: socket.socket, deadline_at: float) -> int:
        """Shut ``sock`` down at ``deadline_at`` (monotonic) unless disarmed first; returns a token."""
        with self._cond:
            if self._pid != os.getpid():
                # After a fork the thread is gone and the heap holds the parent's sockets.
                self._pid = os.getpid()
                self._heap, self._armed = [], {}
                self._waiting_for = float("inf")
                threading.Thread(target=self._run, name="smsc-soap-deadline", daemon=True).start()
            token = next(self._tokens)
            self._armed[token] = sock
            heap = self._heap
            if len(heap) > 64 and len(heap) > 4 * len(self._armed):
                # Disarmed entries wait in the heap until their deadline; drop them in bulk.
                heap[:] = [entry for entry in heap if entry[1] in self._armed]
                heapq.heapify(heap)
            heapq.heappush(heap, (deadline_at, token))
            if deadline_at < self._waiting_for:
                self._waiting_for = deadline_at
                self.wakeups += 1
                self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        """Forget ``token``; its socket is left alone."""
        with self._cond:
            self._armed.pop(token, None)

    def pending(self) -> tuple[int, int]:
        """How many sockets are armed, and how many entries the heap holds (for tests)."""
        with self._cond:
            return len(self._armed), len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][1] not in self._armed:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._waiting_for = float("inf")
                        self._cond.wait()
                        continue
                    deadline_at, token = self._heap[0]
                    wait = deadline_at - time.monotonic()
                    if wait <= 0:
                        break
                    self._waiting_for = deadline_at
                    self._cond.wait(min(wait, 60.0))
                heapq.heappop(self._heap)
                sock = self._armed.pop(token)
            try:
                # The plain socket's shutdown (not SSLSocket's): it wakes the blocked reader at once.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _after_fork(ref: weakref.ref[Watchdog]) -> None:
    watchdog = ref()
    if watchdog is not None:
        watchdog._after_fork()


WATCHDOG = Watchdog()
