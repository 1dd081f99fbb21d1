"""The emulator pushes status reports and inbound messages to a callback URL, as SMSC does.

A :class:`CallbackPusher` watches the messages the model accepts (through ``Emulator.listeners``) and,
on a daemon thread, notices each status change (the model derives statuses from its clock, so the
pusher looks again every ``poll_interval`` seconds, and at once when a test moves a ManualClock; a jump
past several changes pushes each of them, oldest first). Each change is POSTed as form fields
``id, phone, status, err, time, cnt`` (plus ``sha1`` when a secret is set, see
:func:`smsc_soap.callbacks.sign_callback`); inbound messages as ``id, phone, mes, to, time``.
A delivery the receiver does not answer with 2xx is tried again with exponential backoff, at most
``max_attempts`` times, in order (a later report never overtakes an earlier one). Only loopback URLs
are accepted unless ``allow_remote=True``, so a test can never make the emulator reach another host.
"""

from __future__ import annotations

import http.client
import ipaddress
import itertools
import threading
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .._codes import MessageStatus
from .._secrets import Secret
from ._model import Emulator, Message

__all__ = ["CallbackAttempt", "CallbackPusher", "is_loopback_url"]

_WAITING = int(MessageStatus.WAITING)
_MAX_LOG = 10_000


def is_loopback_url(url: str) -> bool:
    """Tell whether ``url``'s host is this machine (127.0.0.0/8, ::1 or ``localhost``); no DNS lookup."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    """One POST of a pushed callback: its fields, the attempt number, and the HTTP status or error."""

    form: dict[str, str]
    attempt: int
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver accepted it (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class _Delivery:
    form: dict[str, str]
    attempts: int = 0


@dataclass(slots=True)
class _Watched:
    message: Message
    phone: str
    last: int = _WAITING


@dataclass(slots=True)
class _State:
    new: list[Message] = field(default_factory=list)
    watched: list[_Watched] = field(default_factory=list)
    queue: deque[_Delivery] = field(default_factory=deque)


class CallbackPusher:
    """POSTs every status change of ``emulator``'s messages, and injected inbound messages, to ``url``."""

    def __init__(
        self,
        emulator: Emulator,
        url: str,
        *,
        secret: str | Secret | None = None,
        allow_remote: bool = False,
        max_attempts: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        poll_interval: float = 0.05,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("callback_url must be an http:// or https:// URL with a host")
        if not allow_remote and not is_loopback_url(url):
            raise ValueError(
                f"callback_url host {parts.hostname!r} is not this machine; pass "
                "allow_remote=True (--callback-url on the command line) to push elsewhere"
            )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError("max_attempts must be an int of at least 1")
        for name, value in (("backoff", backoff), ("timeout", timeout)):
            if not value > 0:
                raise ValueError(f"{name} must be positive seconds")
        if isinstance(secret, str):
            secret = Secret(secret) if secret else None
        self.emulator = emulator
        self.url = url
        self._parts = parts
        self._secret = secret
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max(max_backoff, backoff)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.attempts: deque[CallbackAttempt] = deque(maxlen=_MAX_LOG)
        self.dropped: deque[dict[str, str]] = deque(maxlen=_MAX_LOG)
        self.errors: list[BaseException] = []
        self._state = _State()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = False
        self._scans = 0
        self._tried = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inbound_ids = itertools.count(1)

    # ----- lifecycle -----------------------------------------------------------------------------

    def start(self) -> CallbackPusher:
        """Start watching the emulator and pushing, on a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the callback pusher is already running")
        self._stop.clear()
        self.emulator.listeners.append(self._accepted)
        self._thread = threading.Thread(target=self._run, name="smsc-emulator-push", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop pushing (what is still queued is dropped) and join the thread."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=self.timeout + 5)
        try:
            self.emulator.listeners.remove(self._accepted)
        except ValueError:
            pass
        self._thread = None
        with self._idle:
            self._idle.notify_all()

    def reset(self) -> None:
        """Forget watched messages, queued deliveries and the attempt log."""
        with self._lock:
            self._state = _State()
            self.attempts.clear()
            self.dropped.clear()
            self.errors.clear()

    def kick(self) -> None:
        """Look for status changes now (called when a test moves the clock)."""
        self._wake.set()

    # ----- inputs --------------------------------------------------------------------------------

    def _accepted(self, message: Message) -> None:
        with self._lock:
            self._state.new.append(message)
        self._wake.set()

    def receive(self, phone: str, mes: str, to: str = "") -> dict[str, str]:
        """Queue an inbound message from ``phone`` to the account's number ``to``; return its form."""
        form = {
            "id": str(next(self._inbound_ids)),
            "phone": phone,
            "mes": mes,
            "to": to,
            "time": str(int(self.emulator.clock.now())),
        }
        self._sign(form)
        with self._lock:
            self._state.queue.append(_Delivery(form))
        self._wake.set()
        return dict(form)

    def _sign(self, form: dict[str, str]) -> None:
        if self._secret is not None:
            from ..callbacks import sign_callback

            form["sha1"] = sign_callback(form, self._secret)

    # ----- waiting (tests) -----------------------------------------------------------------------

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until the statuses as of now are pushed and nothing is queued; False on timeout."""
        with self._idle:
            # Two scans: one that may have started before the call could have read an older clock.
            target = self._scans + 2
        self._wake.set()
        with self._idle:
            return self._idle.wait_for(
                lambda: (
                    self._thread is None
                    or (
                        self._scans >= target
                        and not self._busy
                        and not self._state.queue
                        and not self._state.new
                    )
                ),
                timeout=timeout,
            )

    def wait_attempts(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` POSTs (successful or not) were made in all; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._tried >= count, timeout=timeout)

    # ----- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._scan()
                delivery = self._head()
                if delivery is None:
                    self._wake.wait(self.poll_interval)
                    self._wake.clear()
                    continue
                self._deliver(delivery)
            except Exception as error:  # a bug here must fail the test, not kill pushing silently
                self.errors.append(error)
                self._stop.wait(self.poll_interval)

    def _head(self) -> _Delivery | None:
        with self._idle:
            if self._state.queue:
                self._busy = True
                return self._state.queue[0]
            self._busy = False
            self._idle.notify_all()
            return None

    def _scan(self) -> None:
        """Queue a report for every recipient whose status differs from the one last pushed."""
        with self._lock:
            state = self._state
            self._busy = True
            fresh, state.new = state.new, []
            for message in fresh:
                state.watched.extend(_Watched(message, phone) for phone in message.phones)
            watched = list(state.watched)
        changes: list[dict[str, str]] = []
        keep: list[_Watched] = []
        for item in watched:
            steps = self._steps(item)
            for status, err, changed in steps:
                changes.append(
                    {
                        "id": item.message.id,
                        "phone": item.phone,
                        "status": str(status),
                        "err": str(err),
                        "time": str(int(changed)),
                        "cnt": str(item.message.parts),
                    }
                )
            if steps:
                item.last = steps[-1][0]
            if not MessageStatus(item.last).is_final:
                keep.append(item)
        for form in changes:
            self._sign(form)
        with self._idle:
            if state is self._state:  # else reset() came meanwhile: drop what was found
                state.watched = keep  # only this thread changes it
                state.queue.extend(_Delivery(form) for form in changes)
            self._scans += 1
            self._idle.notify_all()

    def _steps(self, item: _Watched) -> list[tuple[int, int, float]]:
        """The changes since the last pushed status, oldest first (a clock jump may pass several)."""
        now = self.emulator.status_of(item.message, item.phone)
        steps: list[tuple[int, int, float]] = []
        current = now
        while current[0] != item.last and len(steps) < 8:
            steps.append(current)
            # What was the status just before this change? Walk back until the last one pushed.
            current = self.emulator.status_at(item.message, item.phone, current[2] - 0.001)
            if current[2] >= steps[-1][2]:
                break  # no earlier change (e.g. refused at once)
        steps.reverse()
        return steps

    def _deliver(self, delivery: _Delivery) -> None:
        delivery.attempts += 1
        status, error = self._post(delivery.form)
        attempt = CallbackAttempt(dict(delivery.form), delivery.attempts, status, error)
        with self._idle:
            self.attempts.append(attempt)
            self._tried += 1
            self._idle.notify_all()
        if attempt.ok or delivery.attempts >= self.max_attempts:
            with self._lock:
                if self._state.queue and self._state.queue[0] is delivery:
                    self._state.queue.popleft()
                if not attempt.ok:
                    self.dropped.append(dict(delivery.form))
            return
        self._stop.wait(self.retry_delay(delivery.attempts))

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try: doubling from ``backoff``, capped."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempts - 1)))

    def _post(self, form: dict[str, str]) -> tuple[int | None, str | None]:
        parts = self._parts
        body = urlencode(form).encode("utf-8")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self.timeout
            )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(
                "POST",
                path,
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": "smsc-soap-emulator",
                },
            )
            response = connection.getresponse()
            response.read(65536)
            return response.status, None
        except (OSError, http.client.HTTPException) as error:
            return None, f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    @property
    def display_url(self) -> str:
        """The URL without its query string (which may carry a secret), for messages."""
        return f"{self._parts.scheme}://{self._parts.netloc.rpartition('@')[2]}{self._parts.path}"

    def __repr__(self) -> str:
        return f"<CallbackPusher {self.display_url}>"
