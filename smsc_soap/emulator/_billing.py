"""Billing: tariffs, what a message is priced as (``translit``, message kinds) and money formatting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .._params.segments import count_parts

__all__ = ["Tariff", "billed_text", "money", "parts_of", "transliterate"]

_MONEY = Decimal("0.01")

# translit=1: Cyrillic to readable Latin (the usual Russian/Ukrainian romanisation).
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "yo", "є": "ye",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi", "й": "j", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h",
    "ц": "c", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "'", "э": "e", "ю": "yu",
    "я": "ya",
}  # fmt: skip
# translit=2: Cyrillic letters written with Latin look-alikes ("MPOPOBO"), one for one.
_LOOKALIKE = {
    "а": "a", "б": "6", "в": "B", "г": "r", "д": "g", "е": "e", "ё": "e", "ж": "*", "з": "3",
    "и": "u", "й": "u", "к": "K", "л": "JI", "м": "M", "н": "H", "о": "o", "п": "n", "р": "p",
    "с": "c", "т": "T", "у": "y", "ф": "cp", "х": "x", "ц": "U", "ч": "4", "ш": "W", "щ": "W",
    "ъ": "b", "ы": "bI", "ь": "b", "э": "3", "ю": "I-O", "я": "9I", "і": "i", "ї": "i", "є": "e",
    "ґ": "r",
}  # fmt: skip


def transliterate(text: str, mode: int) -> str:
    """Return ``text`` as the service sends it with ``translit=mode`` (0: unchanged)."""
    if mode not in (1, 2):
        return text
    table = _TRANSLIT if mode == 1 else _LOOKALIKE
    out = []
    for char in text:
        lower = char.lower()
        latin = table.get(lower)
        if latin is None:
            out.append(char)
        elif char != lower and mode == 1:
            out.append(latin.capitalize())
        else:
            out.append(latin)
    return "".join(out)


def billed_text(mes: str, query: Mapping[str, str]) -> str:
    """Return the text as it travels: transliterated when the request asks for ``translit``."""
    mode = query.get("translit", "0")
    return transliterate(mes, int(mode)) if mode in ("1", "2") else mes


def parts_of(mes: str, kind: str | None) -> int:
    """Return how many SMS parts a message is billed as, per recipient.

    A plain SMS (or flash, viber...) pays per part of its text. An HLR request, a ping-SMS, an MMS,
    an e-mail and a Telegram message are one unit per recipient, whatever their text (assumption: the
    documents price these per message).
    """
    if kind in ("hlr", "ping", "mms", "mail", "tg"):
        return 1
    return max(1, count_parts(mes))


def money(value: Decimal) -> str:
    """Return an amount as the service writes it, with two decimals."""
    return str(value.quantize(_MONEY))


@dataclass(frozen=True, slots=True)
class Tariff:
    """Prices per SMS part: one default price and optional prices by number prefix (longest wins)."""

    price_per_part: Decimal = Decimal("1.95")
    by_prefix: Mapping[str, Decimal] = field(default_factory=dict)

    def price(self, phone: str) -> Decimal:
        """Return the price of one SMS part to ``phone`` (digits only; e-mail and nicknames pay the default)."""
        if not self.by_prefix:
            return self.price_per_part
        for length in range(len(phone), 0, -1):
            price = self.by_prefix.get(phone[:length])
            if price is not None:
                return price
        return self.price_per_part
