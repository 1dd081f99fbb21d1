"""Keep the envelope (which holds the password) out of traceback locals when a call is interrupted.

A send cut short by ``task.cancel()``, an ``asyncio.wait_for`` timeout or Ctrl-C unwinds through the HTTP
stack with something that is not an ``SmscError``. requests, urllib3, http.client, httpx and httpcore hold
the request body in their locals (http.client even joins headers and body into one plain ``bytes``), and
error reporters (Sentry, rich, ``pytest -l``) render every frame's locals. So the transports hold the body
only inside an :class:`Envelope`, whose repr is redacted, and clear the locals of every finished frame
below them before an exception leaves (:func:`forget_locals`).
"""

from __future__ import annotations

import traceback

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

    Frames still running (the caller's and everything above it) cannot be cleared and are left alone;
    they must not hold the raw body themselves.
    """
    for item in exception_chain(exc):
        traceback.clear_frames(item.__traceback__)
