"""Envelope writers compiled from zeep's model of the cached WSDL: the request bytes without zeep.

zeep's model of the cached WSDL stays the single source of truth: :mod:`.spec` reads from it, at
generation time, each operation's input message (SOAP envelope namespace, body element, the child
elements in sequence order, which of them are required) into the shipped :mod:`.compiled_spec`, and
:func:`writer_from_spec` turns that into string templates for one host's namespace. Writing a request is
then a join of those templates around the escaped field values, producing the same bytes as zeep's
serialiser followed by ``etree.tostring(..., xml_declaration=True, encoding="utf-8")`` (the golden tests
prove it for every operation and option), with no zeep import.

What the spec covers: a document/literal input whose body is one global element of a sequence of
unqualified, single, simple-typed (``xs:string``) children, with no SOAP header, no attributes and no
custom namespace prefixes: every operation of the cached WSDL. For anything else the spec holds no
writer and zeep serialises that operation.

What a writer hands back to zeep (``write`` returns ``None``, and the caller serialises with zeep,
which then writes or raises exactly as before): a name the element does not declare, a required
element missing, a value that is not a ``str`` (a subclass, such as a prepared query, is written as its
text), and text holding characters XML 1.0 cannot carry (control
characters, lone surrogates, U+FFFE/U+FFFF), which lxml refuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["EnvelopeWriter", "escape_text", "probes", "writer_from_spec"]

#: Characters XML 1.0 cannot carry (lxml refuses exactly these): text holding one goes to zeep.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Characters libxml2 escapes in element text (``\r`` as a character reference, so it survives).
_ESCAPED = re.compile("[&<>\r]")


def escape_text(text: str) -> str:
    """Escape ``text`` for element content exactly as libxml2 writes it."""
    if _ESCAPED.search(text) is None:
        return text
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attribute(text: str) -> str:
    return escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


class EnvelopeWriter:
    """Writes one operation's request envelope; immutable and shared between threads."""

    __slots__ = ("_empty", "_fields", "_head", "_tail", "operation")

    def __init__(
        self,
        operation: str,
        head: str,
        fields: tuple[tuple[str, str, str, bool], ...],
        tail: str,
        empty: str,
    ) -> None:
        self.operation = operation
        self._head = head
        self._fields = fields  # (name, "<name>", "</name>", required), in the WSDL's order
        self._tail = tail
        self._empty = empty  # the whole envelope when no element is written (a self-closing body)

    @property
    def names(self) -> tuple[str, ...]:
        """The element names, in the order the WSDL declares them."""
        return tuple(name for name, *_ in self._fields)

    def write(self, values: Mapping[str, object]) -> bytes | None:
        """The envelope for ``values``, or ``None`` when they need zeep (see the module docstring)."""
        parts = [self._head]
        matched = 0
        for name, opening, closing, required in self._fields:
            if name not in values:
                if required:
                    return None
                continue
            matched += 1
            value = values[name]
            if value is None:
                if required:
                    return None
                continue
            if not isinstance(value, str):
                return None
            if type(value) is not str:
                value = str.__str__(
                    value
                )  # a str subclass (a prepared query) is written as its text
            if _ESCAPED.search(value) is not None:
                value = escape_text(value)
            if _NOT_XML.search(value) is not None:
                return None
            parts.append(opening)
            parts.append(value)
            parts.append(closing)
        if matched != len(values):
            return None  # a name the element does not declare: zeep raises its own TypeError
        if len(parts) == 1:
            return self._empty.encode("utf-8")
        parts.append(self._tail)
        return "".join(parts).encode("utf-8")


def writer_from_spec(operation: str, spec: Mapping[str, Any], namespace: str) -> EnvelopeWriter:
    """The writer of ``operation`` in ``namespace`` from its compiled spec (see :mod:`.spec`)."""
    fields = tuple(
        (name, f"<{name}>", f"</{name}>", bool(required)) for name, required in spec["fields"]
    )
    env = _escape_attribute(spec["envelope_ns"])
    ns = _escape_attribute(namespace)
    local = spec["element"]
    start = (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<soap-env:Envelope xmlns:soap-env="{env}"><soap-env:Body>'
        f'<ns0:{local} xmlns:ns0="{ns}"'
    )
    end = "</soap-env:Body></soap-env:Envelope>"
    return EnvelopeWriter(operation, start + ">", fields, f"</ns0:{local}>{end}", f"{start}/>{end}")


def probes(writer: EnvelopeWriter, spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """Values that exercise every element: all present (escapes included), and only the required."""
    every = {name: f"{name} <&> \r\n\t\"' \u2713 \U0001f44b" for name in writer.names}
    required = {name: "" for name, needed in spec["fields"] if needed}
    return [every, required]
