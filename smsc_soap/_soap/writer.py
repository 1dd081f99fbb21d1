"""Envelope writers compiled from zeep's model of the cached WSDL: the request bytes without zeep.

zeep still loads the WSDL, which stays the single source of truth: :func:`compile_writer` reads one
operation's input message from zeep's model (SOAP envelope namespace, body element and namespace, the
child elements in sequence order, which of them are required) and turns it into string templates.
Writing a request is then a join of those templates around the escaped field values, producing the same
bytes as zeep's serialiser followed by ``etree.tostring(..., xml_declaration=True, encoding="utf-8")``.

What the compiler covers: a document/literal input whose body is one global element of a sequence of
unqualified, single, simple-typed (``xs:string``) children, with no SOAP header, no attributes and no
custom namespace prefixes: every operation of the cached WSDL. :func:`compile_writer` returns ``None``
for anything else, and checks its own templates against zeep's serialiser before handing them out, so a
WSDL it misreads falls back to zeep instead of writing different bytes.

What a writer hands back to zeep (``write`` returns ``None``, and the caller serialises with zeep,
which then writes or raises exactly as before): a name the element does not declare, a required
element missing, a value that is not ``str``, and text holding characters XML 1.0 cannot carry (control
characters, lone surrogates, U+FFFE/U+FFFF), which lxml refuses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["EnvelopeWriter", "compile_writer", "escape_text"]

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
            if type(value) is not str:
                return None
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


def compile_writer(zeep_operation: Any, serialise: Any = None) -> EnvelopeWriter | None:
    """Compile the writer of ``zeep_operation`` (a zeep SOAP operation), or ``None`` if not covered.

    ``serialise(values) -> bytes`` is zeep's own serialiser for the operation; when given, the
    compiled writer must reproduce its bytes on probe values or the operation stays with zeep.
    """
    writer = _compile(zeep_operation)
    if writer is None or serialise is None:
        return writer
    for probe in _probes(writer, zeep_operation):
        try:
            expected = serialise(probe)
        except Exception:
            return None
        if writer.write(probe) != expected:
            return None
    return writer


def _compile(zeep_operation: Any) -> EnvelopeWriter | None:
    from zeep import xsd
    from zeep.xsd.elements.indicators import Sequence

    message = zeep_operation.input
    try:
        envelope_ns = message.nsmap["soap-env"]
        custom_prefixes = message.wsdl.types._prefix_map_custom
        body = message.body
        wrapped = message._is_body_wrapped
        header = message._serialize_header(None, {"soap-env": envelope_ns})
    except (AttributeError, KeyError, TypeError):
        return None
    if custom_prefixes or header is not None or wrapped or body is None:
        return None
    body_type = body.type
    if getattr(body_type, "attributes", None) or not isinstance(
        getattr(body_type, "_element", None), Sequence
    ):
        return None
    qname = body.qname
    if not qname.namespace:
        return None
    fields: list[tuple[str, str, str, bool]] = []
    for name, element in body_type.elements:
        if (
            not isinstance(element, xsd.Element)
            or not isinstance(element.type, xsd.AnySimpleType)
            or element.max_occurs != 1
            or element.qname.namespace
            or element.nillable
            or element.default is not None
            or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name)
        ):
            return None
        fields.append((name, f"<{name}>", f"</{name}>", element.min_occurs >= 1))
    env = _escape_attribute(envelope_ns)
    ns = _escape_attribute(qname.namespace)
    local = qname.localname
    start = (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<soap-env:Envelope xmlns:soap-env="{env}"><soap-env:Body>'
        f'<ns0:{local} xmlns:ns0="{ns}"'
    )
    end = "</soap-env:Body></soap-env:Envelope>"
    return EnvelopeWriter(
        zeep_operation.name,
        start + ">",
        tuple(fields),
        f"</ns0:{local}>{end}",
        f"{start}/>{end}",
    )


def _probes(writer: EnvelopeWriter, zeep_operation: Any) -> list[dict[str, str]]:
    """Values that exercise every element: all present (escapes included), and only the required."""
    every = {name: f"{name} <&> \r\n\t\"' ✓ 👋" for name in writer.names}
    required = {
        name: ""
        for name, element in zeep_operation.input.body.type.elements
        if element.min_occurs >= 1
    }
    return [every, required]
