"""The request errors the emulator answers with: one class per SMSC code, rendered in one place."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadCredentials",
    "BadDate",
    "BadNumber",
    "BadParameters",
    "Forbidden",
    "IpBlocked",
    "MessageNotFound",
    "NoFunds",
    "RequestError",
    "TooManyRequests",
    "Undeliverable",
]


class RequestError(Exception):
    """A request the emulated service refuses; the reply carries ``code`` (and ``id`` for 3, 6, 7, 8)."""

    code: ClassVar[int] = 0

    def __init__(self, reason: str, *, id: str | None = None) -> None:
        super().__init__(f"error {self.code}: {reason}")
        self.reason = reason
        self.id = id


class BadParameters(RequestError):
    """Error 1: a parameter is missing or malformed."""

    code = 1


class BadCredentials(RequestError):
    """Error 2: wrong login/password or API key."""

    code = 2


class NoFunds(RequestError):
    """Error 3 on a send: the balance does not cover the cost."""

    code = 3


class MessageNotFound(RequestError):
    """Error 3 on a status request: no message has this id and phone."""

    code = 3


class IpBlocked(RequestError):
    """Error 4: the caller's IP is blocked after too many authorisation failures."""

    code = 4


class BadDate(RequestError):
    """Error 5: ``time`` or ``tz`` is not in a format the service knows."""

    code = 5


class Forbidden(RequestError):
    """Error 6: the sender name is not registered or the text trips the spam filter."""

    code = 6


class BadNumber(RequestError):
    """Error 7: no recipient has a valid phone number format."""

    code = 7


class Undeliverable(RequestError):
    """Error 8: the message cannot be delivered to any of the numbers."""

    code = 8


class TooManyRequests(RequestError):
    """Error 9: a duplicate send, a rate limit or too many concurrent requests."""

    code = 9
