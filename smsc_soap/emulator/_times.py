"""The service's time formats: the ``time``/``tz`` of a send, and the Moscow dates of a status reply."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ._errors import BadDate

__all__ = ["MOSCOW", "format_moscow", "parse_send_time", "parse_tz"]

#: Moscow time, UTC+3 all year round since 2014; the service's dates and ``tz`` are relative to it.
MOSCOW = timezone(timedelta(hours=3), "MSK")

_ABSOLUTE = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})")
_DOTTED = re.compile(r"(\d{2})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2})")
_WINDOW = re.compile(r"(\d{1,2})-(\d{1,2})")
_TIMESTAMP = re.compile(r"0(\d{1,11})")
_RELATIVE = re.compile(r"\+(\d{1,6})")
_TZ = re.compile(r"[+-]?\d{1,2}")


def format_moscow(timestamp: float) -> str:
    """Return ``timestamp`` as the service writes dates: ``DD.MM.YYYY hh:mm:ss`` in Moscow time."""
    return datetime.fromtimestamp(int(timestamp), MOSCOW).strftime("%d.%m.%Y %H:%M:%S")


def parse_tz(text: str | None, default: int) -> int:
    """Return the ``tz`` offset in hours from Moscow (``default`` when absent); bad values are error 5."""
    if text is None or text.strip() == "":
        return default
    text = text.strip()
    if not _TZ.fullmatch(text) or not -15 <= int(text) <= 11:
        raise BadDate(f"tz must be whole hours relative to Moscow, got {text!r}")
    return int(text)


def parse_send_time(text: str | None, *, now: float, tz: int) -> float:
    """Return when a message should go (Unix seconds) for a ``time`` value; bad values are error 5.

    Formats: ``DDMMYYhhmm``, ``DD.MM.YY hh:mm`` and the hour window ``h1-h2`` in the ``tz`` zone,
    ``0<unix seconds>``, ``+<minutes>``; ``0``, empty, or a moment already past mean now.
    """
    if text is None:
        return now
    text = text.strip()
    if text in ("", "0"):
        return now
    zone = timezone(timedelta(hours=3 + tz))
    match = _ABSOLUTE.fullmatch(text) or _DOTTED.fullmatch(text)
    if match:
        day, month, year, hour, minute = (int(group) for group in match.groups())
        try:
            moment = datetime(2000 + year, month, day, hour, minute, tzinfo=zone)
        except ValueError:
            raise BadDate(f"time {text!r} is not a real date") from None
        return max(now, moment.timestamp())
    if (window := _WINDOW.fullmatch(text)) is not None:
        first, last = int(window.group(1)), int(window.group(2))
        if not (0 <= first <= 24 and 0 <= last <= 24):
            raise BadDate(f"time window {text!r} must name hours 0-24")
        local = datetime.fromtimestamp(now, zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if local.hour < first:
            return (midnight + timedelta(hours=first)).timestamp()
        if local.hour < last:
            return now
        return (midnight + timedelta(days=1, hours=first)).timestamp()
    if (stamp := _TIMESTAMP.fullmatch(text)) is not None:
        return max(now, float(stamp.group(1)))
    if (relative := _RELATIVE.fullmatch(text)) is not None:
        return now + int(relative.group(1)) * 60
    raise BadDate(f"time {text!r} is in none of the service's formats")
