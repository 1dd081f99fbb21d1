"""The ``time`` argument: the service's formats, checked, and Python values converted to them."""

from __future__ import annotations

import re

from ._exceptions import SmscValidationError
from ._text import check_text

__all__ = ["format_time"]

_ABSOLUTE = re.compile(r"(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\Z")
_DOTTED = re.compile(r"(\d{2})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2})\Z")
_WINDOW = re.compile(r"(\d{1,2})-(\d{1,2})\Z")
_TIMESTAMP = re.compile(r"0\d{9,10}\Z")
_RELATIVE = re.compile(r"\+\d{1,6}\Z")


def format_time(value: object, *, field: str = "time") -> str:
    """Check a ``time`` value in one of the formats DDMMYYhhmm, DD.MM.YY hh:mm, h1-h2, 0ts, +m or 0."""
    text = check_text(str(value) if isinstance(value, int) else value, field, single_line=True)
    text = text.strip()
    if text == "0":
        return text
    match = _ABSOLUTE.match(text) or _DOTTED.match(text)
    if match:
        day, month, _year, hour, minute = (int(g) for g in match.groups())
        if 1 <= day <= 31 and 1 <= month <= 12 and hour <= 23 and minute <= 59:
            return text
    elif (window := _WINDOW.match(text)) is not None:
        h1, h2 = int(window.group(1)), int(window.group(2))
        if 0 <= h1 <= 24 and 0 <= h2 <= 24:
            return text
    elif _TIMESTAMP.match(text) or _RELATIVE.match(text):
        return text
    raise SmscValidationError(
        f"{field} must be DDMMYYhhmm, 'DD.MM.YY hh:mm', an hour window 'h1-h2', "
        "'0<unix seconds>', '+<minutes>' or 0",
        field=field,
    )
