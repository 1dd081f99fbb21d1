"""How a text splits into SMS parts: the one place that counts septets, code units and parts.

A text that fits the GSM 03.38 default alphabet (3GPP TS 23.038, basic table plus the extension table,
whose characters take an escape septet and so count double) travels as GSM-7: 160 septets in a single
SMS, 153 per part once it is split (the concatenation header takes the rest). Any other text travels as
UCS-2 (UTF-16 code units, so a character outside the BMP such as an emoji counts 2): 70 in a single SMS,
67 per part. An escape pair or a surrogate pair is never cut between two parts, as handsets would
otherwise show garbage, so a part may hold one unit less than its maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Segments", "count_parts", "estimate_cost", "segments"]

# The GSM 03.38 basic table, in code order (0x1B, the escape to the extension table, is left out).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs the escape septet plus its own.
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM_ALL = _GSM_BASIC | _GSM_EXTENSION

_GSM_SINGLE, _GSM_MULTI = 160, 153
_UCS2_SINGLE, _UCS2_MULTI = 70, 67


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text is encoded and split: its length in units, the parts it takes and the room left."""

    encoding: Literal["gsm7", "ucs2"]
    length: int
    parts: int
    per_part: int
    chars_left_in_part: int


def _units(mes: str) -> tuple[Literal["gsm7", "ucs2"], list[int]]:
    """Return the encoding and the width of every character in that encoding's units."""
    widths: list[int] = []
    for char in mes:
        if char in _GSM_BASIC:
            widths.append(1)
        elif char in _GSM_EXTENSION:
            widths.append(2)
        else:
            return "ucs2", [2 if ord(c) > 0xFFFF else 1 for c in mes]
    return "gsm7", widths


def _pack(widths: list[int], capacity: int) -> tuple[int, int]:
    """Fill parts of ``capacity`` units greedily without cutting a character; return (parts, used)."""
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:
            parts, used = parts + 1, 0
        used += width
    return parts, used


def segments(mes: str) -> Segments:
    """Return how ``mes`` is encoded and into how many SMS parts it splits (0 parts for "")."""
    return Segments(*_count(mes))


def count_parts(mes: str) -> int:
    """Return how many SMS parts ``mes`` takes: ``segments(mes).parts``, without the record."""
    return _count(mes)[2]


def _count(mes: str) -> tuple[Literal["gsm7", "ucs2"], int, int, int, int]:
    """Return the fields of ``segments(mes)``: encoding, length, parts, per part and room left."""
    # The common texts are counted without a per-character loop: set look-ups, ``count`` and ``max``
    # run in C. Only a long text with wide characters (an escape pair or a surrogate pair, which must
    # not be cut) is packed character by character, by :func:`_pack`.
    if _GSM_BASIC.issuperset(mes):
        encoding: Literal["gsm7", "ucs2"] = "gsm7"
        wide = 0  # characters of two units
    elif _GSM_ALL.issuperset(mes):
        encoding = "gsm7"
        wide = sum(map(mes.count, _GSM_EXTENSION))
    else:
        encoding = "ucs2"
        wide = 0 if max(mes) <= "\uffff" else sum(1 for char in mes if char > "\uffff")
    length = len(mes) + wide
    single, multi = (_GSM_SINGLE, _GSM_MULTI) if encoding == "gsm7" else (_UCS2_SINGLE, _UCS2_MULTI)
    if length == 0:
        return encoding, 0, 0, single, single
    if length <= single:
        return encoding, length, 1, single, single - length
    if wide == 0:  # every character is one unit: the parts fill up exactly
        parts = -(-length // multi)
        used = length - multi * (parts - 1)
    else:
        parts, used = _pack(_units(mes)[1], multi)
    return encoding, length, parts, multi, multi - used


def truncate_to_parts(mes: str, max_parts: int) -> str:
    """Return the longest prefix of ``mes`` that takes at most ``max_parts`` parts (``maxsms``)."""
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    if count_parts(mes) <= max_parts:
        return mes
    low, high = 0, len(mes)  # segments(mes[:low]) fits, mes[:high] does not
    while high - low > 1:
        middle = (low + high) // 2
        if count_parts(mes[:middle]) <= max_parts:
            low = middle
        else:
            high = middle
    return mes[:low]


def estimate_cost(mes: str, recipients: int, price_per_part: Decimal) -> Decimal:
    """Return what sending ``mes`` to ``recipients`` numbers costs at ``price_per_part`` per SMS part."""
    if recipients < 0:
        raise ValueError("recipients must not be negative")
    return count_parts(mes) * recipients * price_per_part
