"""The ``time``, ``tz`` and ``valid`` arguments: the service's formats, checked, and Python values converted.

The service reads ``time`` in one of these forms: ``DDMMYYhhmm`` or ``DD.MM.YY hh:mm`` (in the ``tz`` zone),
an hour window ``h1-h2``, ``0<unix seconds>``, ``+<minutes>`` from now, or ``0`` for "now". ``tz`` is given in
whole hours relative to Moscow (UTC+3); without it the account's own setting applies.

Python values map as follows: an aware :class:`~datetime.datetime` becomes ``DDMMYYhhmm`` in Moscow time
(seconds are dropped) and the request then carries ``tz=0`` so the account setting cannot shift it; a naive
datetime is refused, because its zone would be a guess. A :class:`~datetime.timedelta` becomes ``+m``
(whole minutes, at least 1); ``hours(9, 21)`` or the tuple ``(9, 21)`` becomes the window ``9-21``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .._exceptions import SmscValidationError
from .text import check_text

__all__ = [
    "MOSCOW",
    "TZ_MAX",
    "TZ_MIN",
    "format_time",
    "format_tz",
    "format_valid",
    "hours",
    "is_absolute_time",
    "parse_moscow_date",
]

#: Moscow time, UTC+3 all year round since 2014; the service's ``time`` and ``tz`` are relative to it.
MOSCOW = timezone(timedelta(hours=3), "MSK")

#: ``tz`` bounds in hours from Moscow: UTC-12 is Moscow-15, UTC+14 is Moscow+11.
TZ_MIN, TZ_MAX = -15, 11

_ABSOLUTE = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\Z")
_DOTTED = re.compile(r"(\d{2})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2})\Z")
_WINDOW = re.compile(r"(\d{1,2})-(\d{1,2})\Z")
_TIMESTAMP = re.compile(r"0\d{9,10}\Z")
_RELATIVE = re.compile(r"\+\d{1,6}\Z")
_HHMM = re.compile(r"(\d{2}):(\d{2})\Z")
_TZ_TEXT = re.compile(r"[+-]?\d{1,2}\Z")
_MAX_RELATIVE_MINUTES = 999_999

_FORMATS = (
    "an aware datetime, a timedelta of whole minutes, an hour window (h1, h2), or a string "
    "DDMMYYhhmm, 'DD.MM.YY hh:mm', 'h1-h2', '0<unix seconds>', '+<minutes>' or '0'"
)


def parse_moscow_date(text: str) -> datetime:
    """Return the service's date ``DD.MM.YYYY hh:mm:ss`` (Moscow time) as an aware datetime.

    Raises ValueError when ``text`` is not in that form.
    """
    return datetime.strptime(text.strip(), "%d.%m.%Y %H:%M:%S").replace(tzinfo=MOSCOW)


def hours(first: int, last: int) -> str:
    """Return the hour window ``first-last`` (0 <= first < last <= 24): send now if inside it, else at ``first``."""
    return _window(first, last, "time")


def _window(first: object, last: object, field: str) -> str:
    for value in (first, last):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SmscValidationError(f"{field}: an hour window takes two ints", field=field)
    assert isinstance(first, int) and isinstance(last, int)
    if not (0 <= first < last <= 24):
        raise SmscValidationError(
            f"{field}: an hour window h1-h2 needs 0 <= h1 < h2 <= 24", field=field
        )
    return f"{first}-{last}"


def is_absolute_time(value: object) -> bool:
    """Tell whether ``value`` is a ``time`` in the absolute form (aware datetime, DDMMYYhhmm, DD.MM.YY hh:mm)."""
    if isinstance(value, datetime):
        return True
    if isinstance(value, str):
        text = value.strip()
        return bool(_ABSOLUTE.match(text) or _DOTTED.match(text))
    return False


def format_time(value: object, *, field: str = "time") -> str:
    """Return ``value`` as one of the service's ``time`` formats, or raise naming ``field``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise SmscValidationError(
                f"{field} is a naive datetime; give it a tzinfo (e.g. datetime.now(timezone.utc)) "
                "so it can be converted to Moscow time",
                field=field,
            )
        return value.astimezone(MOSCOW).strftime("%d%m%y%H%M")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds % 60 or not 60 <= seconds <= _MAX_RELATIVE_MINUTES * 60:
            raise SmscValidationError(
                f"{field} as a timedelta must be whole minutes, from 1 to {_MAX_RELATIVE_MINUTES}",
                field=field,
            )
        return f"+{int(seconds) // 60}"
    if isinstance(value, tuple):
        if len(value) != 2:
            raise SmscValidationError(f"{field}: an hour window is a pair (h1, h2)", field=field)
        return _window(value[0], value[1], field)
    if isinstance(value, bool) or (isinstance(value, int) and value != 0):
        raise SmscValidationError(f"{field} must be {_FORMATS}", field=field)
    text = check_text(str(value) if isinstance(value, int) else value, field, single_line=True)
    text = text.strip()
    if text == "0":
        return text
    match = _ABSOLUTE.match(text) or _DOTTED.match(text)
    if match:
        day, month, year, hour, minute = (int(g) for g in match.groups())
        try:
            datetime(2000 + year, month, day, hour, minute)
        except ValueError:
            raise SmscValidationError(
                f"{field} {text!r} is not a real date and time", field=field
            ) from None
        return text
    if (window := _WINDOW.match(text)) is not None:
        return _window(int(window.group(1)), int(window.group(2)), field)
    if _TIMESTAMP.match(text) or _RELATIVE.match(text):
        return text
    raise SmscValidationError(f"{field} must be {_FORMATS}", field=field)


def format_tz(value: object, *, field: str = "tz") -> str:
    """Return ``tz`` (whole hours relative to Moscow, -15..11) as text; an int or a timedelta from UTC."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds % 3600:
            raise SmscValidationError(
                f"{field} as a UTC offset must be whole hours (the service has no half-hour zones)",
                field=field,
            )
        value = int(seconds) // 3600 - 3
    elif isinstance(value, str) and _TZ_TEXT.match(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise SmscValidationError(
            f"{field} must be an int (hours relative to Moscow) or a timedelta UTC offset",
            field=field,
        )
    if not TZ_MIN <= value <= TZ_MAX:
        raise SmscValidationError(
            f"{field} must be between {TZ_MIN} and {TZ_MAX} hours relative to Moscow "
            "(UTC-12 to UTC+14)",
            field=field,
        )
    return str(value)


def format_valid(value: object, *, field: str = "valid") -> str:
    """Return the lifetime ``valid``: 1..24 whole hours, or ``hh:mm`` from 00:01 to 24:00 (or a timedelta)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds % 60 or not 60 <= seconds <= 24 * 3600:
            raise SmscValidationError(
                f"{field} as a timedelta must be whole minutes from 1 minute to 24 hours",
                field=field,
            )
        minutes = int(seconds) // 60
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if isinstance(value, bool):
        raise SmscValidationError(f"{field} must be 1..24 hours or 'hh:mm', not bool", field=field)
    if isinstance(value, int):
        if not 1 <= value <= 24:
            raise SmscValidationError(f"{field} must be 1 to 24 hours, got {value}", field=field)
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return format_valid(int(text), field=field)
        match = _HHMM.match(text)
        if match:
            hh, mm = int(match.group(1)), int(match.group(2))
            if mm <= 59 and 1 <= hh * 60 + mm <= 24 * 60:
                return text
    raise SmscValidationError(
        f"{field} must be 1 to 24 hours, or 'hh:mm' from 00:01 to 24:00", field=field
    )
