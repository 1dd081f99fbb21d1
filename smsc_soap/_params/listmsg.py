"""The ``list`` option: different texts to different numbers in one request.

The service takes one line per message, ``phones:mes``, or ``sender,tz|phones:mes`` to give a line its own
sender name and time zone (the time zone counts only when ``time`` is absolute, DDMMYYhhmm or
DD.MM.YY hh:mm). Lines are separated by a newline, so a newline inside a text is written as the two
characters ``\\n``; a carriage return before it is dropped. A text that already holds a literal
backslash followed by ``n`` is refused, since the service could not tell it from a newline. Every
message of the list gets the same id.

With ``nl=True`` (S:121, the multi-line mode) texts keep their real newlines and a backslash-n stays
two characters; a line inside a text that would read as the start of another message (recipients or
a ``sender|`` prefix, then ``:`` or ``;``) is refused, since the service could not tell them apart.

With ``list`` the request's own ``phones`` and ``mes`` are sent empty (the WSDL requires the elements):
pass ``""`` for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._exceptions import SmscValidationError
from .recipients import normalise_recipients
from .text import check_text
from .timefmt import format_tz
from .validation import MAX_MES, check_sender

__all__ = ["ListMessage", "encode_line", "encode_list", "plain_line"]

_SENDER_FORBIDDEN = frozenset(",|:;")
#: One phone number the full check would keep as it is: 7-15 digits, a ``+`` only before a non-zero.
_PLAIN_PHONE = re.compile(r"(?:\+[1-9][0-9]{6,14}|[0-9]{7,15})\Z")
#: A text the full check would keep as it is: no control character (no newline, no CR, no tab), no
#: backslash, no lone surrogate, no U+FFFE/U+FFFF.
_PLAIN_MES = re.compile("[^\x00-\x1f\\\\\ud800-\udfff\ufffe\uffff]+\\Z")


@dataclass(frozen=True, slots=True)
class ListMessage:
    """One line of a ``list`` send: its recipients, its text, and optionally its own sender and tz."""

    phones: str | Sequence[str]
    mes: str
    sender: str | None = None
    tz: int | None = None


def plain_line(item: object, kind: str | None = None) -> tuple[str, str] | None:
    """``(phone, mes)`` when ``item`` is the common case the full check would pass unchanged, else None.

    The common case: a ``(phone, mes)`` tuple (or a ListMessage without sender and tz) of one plain
    phone number and a one-line text without backslashes or control characters, up to ``MAX_MES``
    characters and not blank. Its line is ``phone:mes`` whatever ``nl`` is. Anything else (None) goes
    through the full check, which gives the same line or the error naming the field.
    """
    if type(item) is tuple:
        if len(item) != 2:
            return None
        phones, mes = item
    elif type(item) is ListMessage:
        if item.sender is not None or item.tz is not None:
            return None
        phones, mes = item.phones, item.mes
    else:
        return None
    if (
        kind != "mail"
        and type(phones) is str
        and type(mes) is str
        and len(mes) <= MAX_MES
        and _PLAIN_PHONE.match(phones) is not None
        and _PLAIN_MES.match(mes) is not None
        and not mes.isspace()
    ):
        return phones, mes
    return None


def _line(index: int, item: object, kind: str | None, nl: bool = False) -> str:
    plain = plain_line(item, kind)
    if plain is not None:
        return f"{plain[0]}:{plain[1]}"
    return _checked_line(index, item, kind, nl)


def _checked_line(index: int, item: object, kind: str | None, nl: bool = False) -> str:
    field = f"list[{index}]"
    if isinstance(item, tuple):
        if len(item) not in (2, 3, 4):
            raise SmscValidationError(
                f"{field} must be a ListMessage or a tuple (phones, mes[, sender[, tz]])",
                field="list",
            )
        item = ListMessage(*item)
    if not isinstance(item, ListMessage):
        raise SmscValidationError(
            f"{field} must be a ListMessage or a (phones, mes) tuple, not {type(item).__name__}",
            field="list",
        )
    phones = ",".join(normalise_recipients(item.phones, field=f"{field}.phones", kind=kind))
    mes = check_text(item.mes, f"{field}.mes", max_length=MAX_MES)
    mes = mes.replace("\r\n", "\n").replace("\r", "\n")
    if nl:
        for number, text in enumerate(mes.split("\n")[1:], 2):
            if _starts_a_message(text, kind):
                raise SmscValidationError(
                    f"{field}.mes line {number} reads as the start of another message "
                    "('phones:mes' or 'sender|'): with nl=True reword it",
                    field="list",
                )
    else:
        if "\\n" in mes:
            raise SmscValidationError(
                f"{field}.mes holds a literal backslash-n, which the service would read as a "
                "newline (pass nl=True to send texts as they are)",
                field="list",
            )
        mes = mes.replace("\n", "\\n")
    prefix = ""
    if item.sender is not None:
        sender = check_sender(item.sender, f"{field}.sender")
        if _SENDER_FORBIDDEN.intersection(sender):
            raise SmscValidationError(
                f"{field}.sender must not contain ',', '|', ':' or ';' inside a list",
                field="list",
            )
        prefix = sender
        if item.tz is not None:
            prefix += "," + format_tz(item.tz, field=f"{field}.tz")
        prefix += "|"
    elif item.tz is not None:
        raise SmscValidationError(
            f"{field}.tz needs a sender: the line form is 'sender,tz|phones:mes'", field="list"
        )
    return f"{prefix}{phones}:{mes}"


def _starts_a_message(line: str, kind: str | None) -> bool:
    """Whether a text line, inside an nl=1 list, would read as the start of a message line."""
    head, bar, _rest = line.partition("|")
    if bar and ":" not in head and ";" not in head:
        return True
    cut = min((i for i in (line.find(":"), line.find(";")) if i >= 0), default=-1)
    if cut < 0:
        return False
    try:
        normalise_recipients(line[:cut], field="list", kind=kind)
    except SmscValidationError:
        return False
    return True


#: Check one item of a list and return its line (``index`` names it in errors); bulk batching uses it.
encode_line = _line


def encode_list(
    messages: Iterable[ListMessage | tuple[object, ...]] | object,
    kind: str | None = None,
    *,
    nl: bool = False,
) -> str:
    """Return the ``list`` value for ``messages``: one checked ``[sender[,tz]|]phones:mes`` line each.

    ``nl=True`` keeps real newlines inside texts (the service's multi-line mode, sent with ``nl=1``).
    """
    if isinstance(messages, str | bytes) or not isinstance(messages, Iterable):
        raise SmscValidationError(
            "list must be a sequence of ListMessage or (phones, mes) pairs", field="list"
        )
    lines = [_line(index, item, kind, nl) for index, item in enumerate(messages)]
    if not lines:
        raise SmscValidationError("list must hold at least one message", field="list")
    return "\n".join(lines)
