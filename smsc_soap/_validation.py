"""Checks of the explicit arguments (phones, id, sender, time, all), run before any I/O."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from ._exceptions import SmscValidationError
from ._text import check_text

__all__ = ["MAX_MES", "check_all", "check_id", "check_sender", "check_time", "new_message_id"]

MAX_MES = 1000
_ID_TEXT = re.compile(r"[A-Za-z0-9._-]{1,40}\Z")
_ID_MAX = 2147483647


def new_message_id() -> str:
    """Return a fresh message id: 24 hex characters (96 random bits), valid for the service."""
    return secrets.token_hex(12)


def check_id(value: object, field: str = "id") -> str:
    """Return a valid message id: an int 1..2147483647, or 1-40 of ``[A-Za-z0-9._-]``."""
    if isinstance(value, bool):
        raise SmscValidationError(f"{field} must be an int or a string, not bool", field=field)
    if isinstance(value, int):
        if not 1 <= value <= _ID_MAX:
            raise SmscValidationError(
                f"{field} must be between 1 and {_ID_MAX} when numeric", field=field
            )
        return str(value)
    text = check_text(value, field, max_length=40)
    if not _ID_TEXT.match(text):
        raise SmscValidationError(
            f"{field} must be 1 to 40 Latin letters, digits, '.', '_' or '-'", field=field
        )
    if text.isdigit() and not 1 <= int(text) <= _ID_MAX:
        raise SmscValidationError(
            f"{field} must be between 1 and {_ID_MAX} when numeric", field=field
        )
    return text


_SENDER_ALNUM = re.compile(r"[A-Za-z0-9 .\-_!&'()+,/:?@#*]{1,11}\Z")
_SENDER_DIGITS = re.compile(r"\+?[0-9]{1,15}\Z")


def check_sender(value: object, field: str = "sender") -> str:
    """Return a valid sender name: up to 11 Latin characters, or up to 15 digits."""
    text = check_text(value, field, single_line=True, max_length=16)
    if _SENDER_DIGITS.match(text) or _SENDER_ALNUM.match(text):
        return text
    raise SmscValidationError(
        f"{field} must be up to 11 Latin letters, digits, spaces and punctuation, "
        "or up to 15 digits",
        field=field,
    )


def check_time(value: object, field: str = "time") -> str:
    """Return a sending time in one of the service's formats (see smsc_soap.format_time for helpers)."""
    from ._timefmt import format_time

    return format_time(value, field=field)


def check_all(value: object) -> str:
    """Return the status detail level ``all`` (0, 1 or 2) as text."""
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise SmscValidationError("all must be 0, 1 or 2", field="all")
    return str(value)


def check_phone_list(phones: object, field: str = "phones") -> list[str]:
    """Split ``phones`` (a string with , or ; separators, or an iterable of strings) into items."""
    if isinstance(phones, str | bytes):
        text = check_text(phones, field, single_line=True)
        items = [p.strip() for p in re.split(r"[,;]", text)]
    elif isinstance(phones, Iterable) and not isinstance(phones, dict):
        items = [check_text(p, field, single_line=True).strip() for p in phones]
    else:
        raise SmscValidationError(
            f"{field} must be a string or an iterable of strings, not {type(phones).__name__}",
            field=field,
        )
    items = [p for p in items if p]
    if not items:
        raise SmscValidationError(f"{field} must name at least one recipient", field=field)
    return items


def check_phones(phones: object, field: str = "phones") -> str:
    """Return the recipients as the comma-separated text the service takes."""
    return ",".join(check_phone_list(phones, field))


def check_mes(mes: object, field: str = "mes") -> str:
    """Return a message text of 1 to 1000 characters."""
    return check_text(mes, field, max_length=MAX_MES)
