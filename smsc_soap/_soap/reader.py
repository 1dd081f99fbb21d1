"""Reply readers compiled from zeep's model of the cached WSDL: results read by element name.

:mod:`.spec` reads one operation's output message from zeep's model (the response element,
its result element, which result children are text and which are repeated entries such as the
per-number ``errors`` of ``send_sms2``) into the shipped spec, from which :func:`reader_from_spec`
builds a :class:`ReplyReader` without importing zeep. The reader walks the parsed
reply by local element name at every level: children may come in any order, and children the WSDL
does not declare are kept as text in ``extra`` (nested ones in the extra of their entry) instead of
failing the read. A live service whose WSDL is richer than our cached copy therefore reads the same
as one built from it; only the declared fields decide the result.

A reply is parsed by :func:`parse_reply`: lxml with entities left unresolved, no network, no huge
trees, comments dropped, and any DTD refused.

The spec holds no reader for a result shape it does not cover (attributes, choices, entries nested
more than one level); the caller then reads that operation with zeep.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

__all__ = [
    "MAX_EXTRA",
    "Record",
    "ReplyReader",
    "ReplyShapeError",
    "parse_reply",
    "reader_from_spec",
    "record_from_zeep",
]

#: At most this many undeclared children are kept per element (a hostile reply cannot grow it).
MAX_EXTRA = 64
_EXTRA_TEXT = 1000


class ReplyShapeError(ValueError):
    """A reply that contradicts itself: a result element twice, or one field with two values."""


@dataclass(slots=True)
class Record:
    """One result (or one per-number entry) as read from the wire, by element name.

    ``values`` holds the declared text children (``None`` for an empty element), ``entries`` the
    declared repeated children, ``extra`` every undeclared child as its text.
    """

    values: dict[str, str | None] = field(default_factory=dict)
    entries: dict[str, list[Record]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


class _Shape:
    """What one element's children are: text fields and entry fields (each with its own shape)."""

    __slots__ = ("entries", "texts")

    def __init__(self, texts: frozenset[str], entries: dict[str, _Shape]) -> None:
        self.texts = texts
        self.entries = entries


class ReplyReader:
    """Reads one operation's response element into a :class:`Record`; shared between threads."""

    __slots__ = ("operation", "output_tag", "result_name", "shape")

    def __init__(self, operation: str, output_tag: str, result_name: str, shape: _Shape) -> None:
        self.operation = operation
        self.output_tag = output_tag  # Clark notation: the namespace names the host
        self.result_name = result_name
        self.shape = shape

    def read(self, response: Any) -> Record | None:
        """The result inside ``response`` (the body's response element), or ``None`` if absent."""
        result = None
        outside: dict[str, str] = {}
        for child in response:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = _local(tag)
            if name == self.result_name:
                if result is not None:
                    raise ReplyShapeError(f"the reply holds {name} twice")
                result = child
            elif name not in outside and len(outside) < MAX_EXTRA:
                outside[name] = _text_of(child)
        if result is None:
            return None
        record = _read(result, self.shape)
        for name, text in outside.items():
            if name not in record.values and name not in record.entries:
                record.extra.setdefault(name, text)
        return record


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text_of(element: Any) -> str:
    if len(element):
        return "".join(element.itertext()).strip()[:_EXTRA_TEXT]
    return (element.text or "").strip()[:_EXTRA_TEXT]


def _read(element: Any, shape: _Shape) -> Record:
    record = Record()
    values = record.values
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = _local(tag)
        if name in shape.texts:
            text = child.text
            if name in values and values[name] != text:
                raise ReplyShapeError(f"the reply holds {name} twice, with different values")
            values[name] = text
        elif name in shape.entries:
            record.entries.setdefault(name, []).append(_read(child, shape.entries[name]))
        elif name not in record.extra and len(record.extra) < MAX_EXTRA:
            record.extra[name] = _text_of(child)
    for name in shape.entries:
        record.entries.setdefault(name, [])
    return record


def reader_from_spec(
    operation: str, output_tag: str, result_name: str, spec: Mapping[str, Any]
) -> ReplyReader:
    """The reader of ``operation``'s reply from its compiled spec (see :mod:`.spec`).

    ``output_tag`` is the response element in Clark notation (the namespace names the host).
    """
    return ReplyReader(operation, output_tag, result_name, _shape(spec))


def _shape(spec: Mapping[str, Any]) -> _Shape:
    return _Shape(
        frozenset(spec["texts"]),
        {name: _shape({"texts": t, "entries": e}) for name, (t, e) in spec["entries"].items()},
    )


def record_from_zeep(values: Any, extra: dict[str, str]) -> Record:
    """A :class:`Record` from zeep's deserialised result (the slow path's reader)."""
    record = Record(extra=dict(extra))
    for name, value in getattr(values, "__values__", {}).items():
        if isinstance(value, list):
            record.entries[name] = [record_from_zeep(item, {}) for item in value]
        elif hasattr(value, "__values__"):
            record.entries[name] = [record_from_zeep(value, {})]
        else:
            record.values[name] = value if value is None else str(value)
    return record


class DTDForbiddenError(ValueError):
    """A reply with a DOCTYPE: refused (entity expansion and external references start there)."""


_parsers = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(
            remove_comments=True,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
    return parser


def parse_reply(body: bytes) -> Any:
    """Parse a reply body into its root element; a DOCTYPE or an entity declaration is refused."""
    root = etree.fromstring(body, _parser())
    if root.getroottree().docinfo.doctype:  # type: ignore[union-attr]
        raise DTDForbiddenError("the reply carries a DOCTYPE, which is refused")
    return root
