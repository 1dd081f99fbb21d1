"""Keep the envelope (which holds the password) out of traceback locals when a call is interrupted.

A send cut short by ``task.cancel()``, an ``asyncio.wait_for`` timeout or Ctrl-C unwinds through the HTTP
stack with something that is not an ``SmscError``. requests, urllib3, http.client, httpx and httpcore hold
the request body in their locals (http.client even joins headers and body into one plain ``bytes``), and
error reporters (Sentry, rich, ``pytest -l``) render every frame's locals. So the transports hold the body
only inside an :class:`Envelope`, whose repr is redacted, and clear the locals of every finished frame
below them before an exception leaves (:func:`forget_locals`).
"""

from __future__ import annotations

from .types import exception_chain

__all__ = ["Envelope", "forget_locals"]


class Envelope:
    """Request bytes whose repr never shows them; :meth:`reveal` hands them to the socket layer."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)

    def reveal(self) -> bytes:
        """The bytes to write; call it only in the expression that passes them on."""
        return self._data

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Envelope(<{len(self._data)} bytes, redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a request envelope holds credentials; it cannot be pickled")


def forget_locals(exc: BaseException) -> None:
    """Clear the locals of the finished frames in ``exc``'s traceback and its whole chain.

    Call it from the frame that catches ``exc``: every frame below that one in ``exc``'s traceback has
    finished (the exception unwound through it). Frames still running (the caller's and everything above
    it) cannot be cleared and are left alone; they must not hold the raw body themselves. A generator or
    coroutine frame met only in a chained exception is left alone too: it may be suspended in another task,
    and clearing it would close it.
    """
    from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, CO_ITERABLE_COROUTINE

    resumable = CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE
    finished: set[int] = set()
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    while tb is not None:
        finished.add(id(tb.tb_frame))
        tb = tb.tb_next
    for item in exception_chain(exc):
        tb = item.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if id(frame) in finished or not frame.f_code.co_flags & resumable:
                try:
                    frame.clear()
                except RuntimeError:  # still executing: the caller's frames
                    pass
            tb = tb.tb_next
