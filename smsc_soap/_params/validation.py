"""Checks of the explicit arguments (phones, mes, id, sender, time, all), run before any I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from .._exceptions import SmscValidationError
from .text import check_text

__all__ = [
    "MAX_MES",
    "MES_UNUSED",
    "check_all",
    "check_binary_mes",
    "check_hex_mes",
    "check_id",
    "check_mes",
    "check_phone_list",
    "check_phones",
    "check_sender",
    "check_time",
    "derive_message_id",
    "new_message_id",
]

MAX_MES = 1000
_ID_TEXT = re.compile(r"[A-Za-z0-9._-]{1,40}\Z")
_ID_MAX = 2147483647


def _id_text(digest: bytes) -> str:
    # A letter first: an all-digit id must be 1..2147483647 (S:39), which a random one may not be.
    return "m" + base64.b32encode(digest[:15]).decode("ascii").lower()


def new_message_id() -> str:
    """Return a fresh random message id: ``m`` and 24 base-32 characters (120 random bits)."""
    return _id_text(secrets.token_bytes(15))


#: Length of the ids made by :func:`new_message_id` and :func:`derive_message_id`.
ID_LENGTH = 25


def derive_message_id(key: bytes, operation: str, fields: Mapping[str, str], minute: int) -> str:
    """Return the default id of a send: an HMAC under ``key`` of its content and ``minute``.

    ``fields`` are the request's fields without credentials and without ``id`` (recipients, text,
    sender, time and ``query`` with every option). Identical sends within one minute of the same key
    get the same id, so the service's duplicate rule (one identical request per minute, S:165) applies
    to them; any other content, or another minute, gets another id. ``key`` is random per client,
    never a credential: an id shows nothing of the text it was made from.
    """
    content = "\0".join(
        [operation, str(minute), *(f"{k}={fields[k]}" for k in sorted(fields) if k != "id")]
    )
    return _id_text(hmac.new(key, content.encode("utf-8"), hashlib.sha256).digest())


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
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+(?:\n~~~\npid: ([0-9]{1,3}), dcs: ([0-9]{1,3}))?\Z")


def check_mes(mes: object, field: str = "mes", *, kind: str | None = None) -> str:
    """Return a message text of at most 1000 characters; empty only where ``kind`` does not use it."""
    text = check_text(mes, field, max_length=MAX_MES, allow_empty=kind in MES_UNUSED)
    if kind == "push" and "\n" not in text.strip():
        raise SmscValidationError(
            f"{field} of a WAP-push must be the link, a newline, then the title", field=field
        )
    return text


def check_hex_mes(mes: str, field: str = "mes") -> str:
    """Return ``mes`` of a ``bin=2`` message: an even-length hex string (UDH first, 00 for none).

    The hex may be followed by the plain-text pid/dcs suffix of S:62-63, with its exact spacing:
    a newline, ``~~~``, a newline, then ``pid: x, dcs: y`` (each 0..255).
    """
    match = _HEX.match(mes)
    if match is None:
        raise SmscValidationError(
            f"{field} must be hex digits in pairs when bin=2 (start with 00 for no UDH), "
            "optionally followed by '\\n~~~\\npid: x, dcs: y'",
            field=field,
        )
    if any(value is not None and int(value) > 255 for value in match.groups()):
        raise SmscValidationError(f"{field}: pid and dcs must be 0 to 255", field=field)
    return mes


def check_binary_mes(mes: object, field: str = "mes") -> str:
    """Return ``mes`` of a ``bin=1`` message, whose bytes travel as text inside the XML envelope.

    XML 1.0 cannot carry most control characters (a UDH starts with one, and 00 marks "no UDH"), so
    such a text is refused with a pointer to ``bin=2``, where the same bytes travel as hex.
    """
    try:
        return check_mes(mes, field, kind="bin")
    except SmscValidationError as exc:
        if "control character" not in exc.message:
            raise
        message = (
            f"{exc.message}. A bin=1 text with a UDH or zero bytes cannot travel in a SOAP "
            "(XML 1.0) request: send the bytes as hex with bin=2 (bytes.hex(), 00 first for no UDH)"
        )
    raise SmscValidationError(message, field=field)
