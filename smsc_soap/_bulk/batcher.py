"""Batching: input items read lazily, each checked once into a ``list`` line, packed into batches.

A batch holds at most ``batch_size`` lines and ``max_batch_chars`` characters of ``list`` text (every line
``[sender|]phones:mes`` and its newline). An item is checked exactly once, here, by the same code as
``encode_list`` (:func:`~smsc_soap._params.listmsg.encode_line`); the line it gives is what is journaled
and sent. :func:`estimate_bulk` runs the same batching without sending.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._exceptions import SmscValidationError
from .._params.listmsg import ListMessage, encode_line, plain_line
from .._params.segments import segments

if TYPE_CHECKING:
    from .ledger import Counters

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_BATCH_CHARS",
    "MAX_CONCURRENCY",
    "Batcher",
    "BulkEstimate",
    "Invalid",
    "Item",
    "Line",
    "check_sizes",
    "estimate_bulk",
    "invalid_reason",
]

#: The service refuses 15 or more simultaneous requests under one login.
MAX_CONCURRENCY = 14
DEFAULT_CONCURRENCY = 4
DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_BATCH_CHARS = 20_000

Item = ListMessage | tuple[Any, ...] | SmscValidationError
#: An invalid item as journaled: its index, the reason it is counted under, and the error's text.
Invalid = tuple[int, str, str]
_LIST_FIELD = re.compile(r"list\[\d+\]\.(\w+)")


@dataclass(slots=True)
class Line:
    """One checked item: its index in the input, its ``list`` line, its numbers and its text."""

    item: int
    text: str
    phones: tuple[str, ...]
    mes: str


@dataclass(frozen=True, slots=True)
class BulkEstimate:
    """What a bulk run would send: items, invalid items by reason, recipients, parts, batches and cost."""

    items: int
    valid: int
    invalid: dict[str, int]
    recipients: int
    parts: int
    batches: int
    cost: Decimal | None
    first_errors: tuple[tuple[int, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready data."""
        return {
            "items": self.items,
            "valid": self.valid,
            "invalid": dict(self.invalid),
            "recipients": self.recipients,
            "parts": self.parts,
            "batches": self.batches,
            "cost": None if self.cost is None else str(self.cost),
            "first_errors": [{"item": i, "error": e} for i, e in self.first_errors],
        }


def line_for(index: int, item: Item) -> Line:
    """Check one item (as ``encode_list([item])`` would) and return its line; raise if invalid."""
    plain = plain_line(item)
    if plain is not None:  # the common case, as the full check would write it, in a fraction
        phone, mes = plain
        return Line(index, f"{phone}:{mes}", (phone,), mes)
    if isinstance(item, SmscValidationError):
        raise item
    text = encode_line(0, item, None)
    head = text.split(":", 1)[0]
    phones = tuple(head.rpartition("|")[2].split(","))
    mes = item.mes if isinstance(item, ListMessage) else str(item[1])
    return Line(index, text, phones, mes)


def invalid_reason(error: SmscValidationError) -> str:
    """A short reason to count invalid items by: ``invalid phones``, ``invalid mes``, ..."""
    name = getattr(error, "field", None) or "item"
    match = _LIST_FIELD.match(str(error))
    if match is not None:
        name = match.group(1)
    return f"invalid {name.split('[')[0].split('.')[-1]}"


def iter_lines(
    items: Iterable[Item], start: int
) -> Iterator[tuple[Line | None, int, SmscValidationError | None]]:
    """Yield ``(line, index, None)`` or ``(None, index, error)`` for every item from ``start`` on."""
    for index, item in enumerate(items):
        if index < start:
            continue
        try:
            yield line_for(index, item), index, None
        except SmscValidationError as exc:
            yield None, index, exc


def check_sizes(batch_size: int, max_batch_chars: int, concurrency: int) -> None:
    """Refuse batch sizes and a concurrency the service would not take."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise SmscValidationError("batch_size must be a positive int", field="batch_size")
    if not isinstance(max_batch_chars, int) or max_batch_chars < 1100:
        raise SmscValidationError(
            "max_batch_chars must be at least 1100 (one 1000-character text and its numbers)",
            field="max_batch_chars",
        )
    if not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise SmscValidationError(
            f"concurrency must be 1..{MAX_CONCURRENCY}: the service refuses 15 or more concurrent "
            "requests per login",
            field="concurrency",
        )


class Batcher:
    """Packs checked lines into batches by count and characters; stops reading when told."""

    def __init__(self, batch_size: int, max_batch_chars: int, stop: threading.Event) -> None:
        self.batch_size = batch_size
        self.max_batch_chars = max_batch_chars
        self.stop = stop

    def chunks(
        self, items: Iterable[Item], start: int, counters: Counters
    ) -> Iterator[tuple[list[Line], list[Invalid]]]:
        """Yield each full batch's lines and the invalid items read before them; stop when told.

        ``counters`` learns how many items were read and how many were invalid. The last chunk may
        have no lines (only invalid items, to record on their own).
        """
        lines: list[Line] = []
        invalid: list[Invalid] = []
        chars = 0
        counters.items_read = start
        for line, index, error in iter_lines(items, start):
            if self.stop.is_set():
                return
            counters.items_read = index + 1
            if line is None:
                assert error is not None
                invalid.append((index, invalid_reason(error), str(error)[:300]))
                counters.items_failed += 1
                continue
            size = len(line.text) + 1
            if lines and (len(lines) >= self.batch_size or chars + size > self.max_batch_chars):
                yield lines, invalid
                lines, invalid, chars = [], [], 0
                if self.stop.is_set():
                    return
            lines.append(line)
            chars += size
        if not self.stop.is_set() and (lines or invalid):
            yield lines, invalid


def estimate_bulk(
    messages: Iterable[Item],
    *,
    price_per_part: Decimal | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batch_chars: int = DEFAULT_MAX_BATCH_CHARS,
    keep_errors: int = 20,
) -> BulkEstimate:
    """Validate every item and estimate recipients, SMS parts, batches and cost, without sending."""
    check_sizes(batch_size, max_batch_chars, 1)
    items = valid = recipients = parts = batches = 0
    invalid: dict[str, int] = {}
    first_errors: list[tuple[int, str]] = []
    batch_lines = batch_chars = 0
    for line, index, error in iter_lines(messages, 0):
        items += 1
        if line is None:
            assert error is not None
            reason = invalid_reason(error)
            invalid[reason] = invalid.get(reason, 0) + 1
            if len(first_errors) < keep_errors:
                first_errors.append((index, str(error)))
            continue
        valid += 1
        recipients += len(line.phones)
        parts += segments(line.mes).parts * len(line.phones)
        if batch_lines == 0 or (
            batch_lines >= batch_size or batch_chars + len(line.text) + 1 > max_batch_chars
        ):
            batches += 1
            batch_lines = batch_chars = 0
        batch_lines += 1
        batch_chars += len(line.text) + 1
    cost = None if price_per_part is None else parts * price_per_part
    return BulkEstimate(
        items, valid, invalid, recipients, parts, batches, cost, tuple(first_errors)
    )
