"""Recipients: phone numbers normalised, groups, e-mail addresses and Telegram ids, each where it belongs.

* A phone number loses spaces, brackets, dots and dashes; a leading ``+`` is kept, because it switches
  off the service's automatic correction of the number. What remains is 7 to 15 ASCII digits.
* ``G<n>`` names a group of numbers kept in the account: allowed everywhere a send takes phones, but it
  fans out to every number of the group (and is billed so).
* E-mail addresses are recipients only of e-mail messages (``mail``); Telegram nicknames and ``#ID`` only
  of Telegram messages (``tg``), which also take phone numbers.
* Items are separated by ``,`` or ``;`` (or given as an iterable); duplicates are dropped, first kept.

A bad item is named by its position and a shortened form, never echoed in full.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._exceptions import SmscValidationError
from .text import check_text

__all__ = [
    "PHONE_MAX_DIGITS",
    "PHONE_MIN_DIGITS",
    "classify_recipient",
    "mask",
    "normalise_recipients",
    "phone_number",
]

PHONE_MIN_DIGITS = 7
PHONE_MAX_DIGITS = 15

_PHONE_JUNK = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"(\+?)([0-9]+)\Z")
_GROUP = re.compile(r"G[0-9]{1,10}\Z")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\Z")
_TG_ID = re.compile(r"#[0-9]{1,20}\Z")
_TG_NICK = re.compile(r"@?[A-Za-z][A-Za-z0-9_]{4,31}\Z")


def mask(item: str) -> str:
    """Return a short form of ``item`` for error messages: at most its first 4 and last 2 characters."""
    if len(item) <= 8:
        return item[:3] + "…" if len(item) > 3 else item
    return f"{item[:4]}…{item[-2:]}"


def _split(phones: object, field: str) -> list[str]:
    if isinstance(phones, str | bytes | bytearray):
        text = check_text(phones, field, single_line=True, allow_empty=True)
        return [p.strip() for p in re.split(r"[,;]", text)]
    if isinstance(phones, Iterable) and not isinstance(phones, dict):
        items: list[str] = []
        for index, item in enumerate(phones):
            text = check_text(item, f"{field}[{index}]", single_line=True, allow_empty=True)
            items.extend(p.strip() for p in re.split(r"[,;]", text))
        return items
    raise SmscValidationError(
        f"{field} must be a string or an iterable of strings, not {type(phones).__name__}",
        field=field,
    )


def phone_number(item: str) -> str | None:
    """Return the normalised phone number, or None when ``item`` is not one (the 7-15 digit rule).

    The one phone rule of the project: the client checks recipients with it and the emulator
    accepts numbers by it.
    """
    match = _PHONE.match(_PHONE_JUNK.sub("", item))
    if match is None:
        return None
    plus, digits = match.groups()
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return None
    if plus and digits.startswith("0"):
        return None  # no international number starts with 0
    return plus + digits


def normalise_recipients(
    phones: object,
    *,
    field: str = "phones",
    kind: str | None = None,
    groups: bool = True,
    dedupe: bool = True,
    allow_empty: bool = False,
) -> list[str]:
    """Return the checked, normalised recipients for a message of ``kind`` (``mail``, ``tg`` or None)."""
    items = _split(phones, field)
    result: list[str] = []
    seen: set[str] = set()
    position = 0
    for raw in items:
        if not raw:
            continue
        position += 1
        value = _classify(raw, kind, groups)
        if value is None:
            raise SmscValidationError(
                f"{field}: recipient #{position} ({mask(raw)!r}) is not {_expected(kind, groups)}",
                field=field,
            )
        key = value.lstrip("+").lower()
        if dedupe and key in seen:
            continue
        seen.add(key)
        result.append(value)
    if not result and not allow_empty:
        raise SmscValidationError(f"{field} must name at least one recipient", field=field)
    return result


def classify_recipient(item: str, kind: str | None, *, groups: bool = True) -> str | None:
    """Return ``item`` normalised as a recipient of a message of ``kind``, or None when it is not one."""
    return _classify(item, kind, groups)


def _classify(item: str, kind: str | None, groups: bool) -> str | None:
    if groups and _GROUP.match(item):
        return item
    if kind == "mail":
        return item if _EMAIL.match(item) else None
    if kind == "any" and _EMAIL.match(item):
        return item
    if kind in ("tg", "any") and (_TG_ID.match(item) or _TG_NICK.match(item)):
        return item
    return phone_number(item)


def _expected(kind: str | None, groups: bool) -> str:
    group = " or a group G<n>" if groups else ""
    if kind == "mail":
        return f"an e-mail address{group} (mail=True sends e-mail)"
    if kind == "tg":
        return (
            f"a phone number (7-15 digits, optional leading +), a Telegram nickname or #ID{group}"
        )
    if kind == "any":
        return f"a phone number, an e-mail address, a Telegram nickname or #ID{group}"
    return (
        f"a phone number (7-15 digits, optional leading +){group}; e-mail addresses need "
        "mail=True and Telegram nicknames or #ID need tg=True"
    )
