"""Checks of the explicit arguments (phones, mes, id, sender, time, all), run before any I/O."""

from __future__ import annotations

import re
import secrets

from .._exceptions import SmscValidationError
from .text import check_text

__all__ = [
    "MAX_MES",
    "MES_UNUSED",
    "check_all",
    "check_hex_mes",
    "check_id",
    "check_mes",
    "check_phone_list",
    "check_phones",
    "check_sender",
    "check_time",
    "new_message_id",
]

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


_SENDER_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\Z")


def check_sender(value: object, field: str = "sender", *, kind: str | None = None) -> str:
    """Return a valid sender: up to 11 Latin characters or 15 digits (an e-mail address for ``mail``)."""
    if kind == "mail":
        text = check_text(value, field, single_line=True, max_length=254)
        if _SENDER_EMAIL.match(text):
            return text
        raise SmscValidationError(f"{field} of an e-mail must be an e-mail address", field=field)
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
    from .timefmt import format_time

    return format_time(value, field=field)


def check_all(value: object) -> str:
    """Return the status detail level ``all`` (0, 1 or 2) as text."""
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise SmscValidationError("all must be 0, 1 or 2", field="all")
    return str(value)


def check_phone_list(
    phones: object,
    field: str = "phones",
    *,
    kind: str | None = None,
    groups: bool = True,
    dedupe: bool = True,
) -> list[str]:
    """Split and normalise ``phones`` (text with , or ; separators, or an iterable) for ``kind``."""
    from .recipients import normalise_recipients

    return normalise_recipients(phones, field=field, kind=kind, groups=groups, dedupe=dedupe)


def check_phones(
    phones: object,
    field: str = "phones",
    *,
    kind: str | None = None,
    groups: bool = True,
    dedupe: bool = True,
) -> str:
    """Return the recipients as the comma-separated text the service takes."""
    return ",".join(check_phone_list(phones, field, kind=kind, groups=groups, dedupe=dedupe))


#: Message kinds whose text the service does not use, so ``mes`` may be empty.
MES_UNUSED = frozenset({"hlr", "ping"})
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+\Z")


def check_mes(mes: object, field: str = "mes", *, kind: str | None = None) -> str:
    """Return a message text of at most 1000 characters; empty only where ``kind`` does not use it."""
    text = check_text(mes, field, max_length=MAX_MES, allow_empty=kind in MES_UNUSED)
    if kind == "push" and "\n" not in text.strip():
        raise SmscValidationError(
            f"{field} of a WAP-push must be the link, a newline, then the title", field=field
        )
    return text


def check_hex_mes(mes: str, field: str = "mes") -> str:
    """Return ``mes`` of a ``bin=2`` message: an even-length hex string (UDH first, 00 for none)."""
    if not _HEX.match(mes):
        raise SmscValidationError(
            f"{field} must be hex digits in pairs when bin=2 (start with 00 for no UDH)",
            field=field,
        )
    return mes
