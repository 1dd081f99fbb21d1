"""The compiled spec: what the envelope writers and reply readers need, generated from zeep's model.

zeep's model of the cached WSDL is the single source of truth. :func:`generate` reads it (zeep imported
here, at generation time) into a small, namespace-free spec per operation: the request element's local
name, its children in order with their required-ness, the response element's local name, the result
element's name and which of its children are text and which are repeated entries. The spec is written
into :mod:`.compiled_spec` (``python3 dev.py compile-wsdl``), which the package ships, so a call's fast
path needs no zeep import; a test fails when the shipped spec differs from what zeep's model gives.

An operation the compilers do not cover (see :mod:`.writer` and :mod:`.reader`) has ``None`` for its
writer or reader part, and that side stays with zeep.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["OPERATIONS", "generate", "render"]

#: The operations the client calls, in the order the spec lists them.
OPERATIONS = (
    "send_sms",
    "send_sms2",
    "get_sms_cost",
    "get_sms_cost2",
    "get_status",
    "get_status2",
    "get_balance",
)

_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"  # compiled by re.fullmatch's cache when a spec is generated


def writer_spec(zeep_operation: Any, namespace: str) -> dict[str, Any] | None:
    """The writer part of ``zeep_operation``'s spec, or ``None`` if the writer does not cover it.

    Covered: a document/literal input whose body is one global element (in ``namespace``) of a sequence
    of unqualified, single, simple-typed children, with no SOAP header, no attributes and no custom
    namespace prefixes.
    """
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
    if qname.namespace != namespace:
        return None
    fields: list[tuple[str, bool]] = []
    for name, element in body_type.elements:
        if (
            not isinstance(element, xsd.Element)
            or not isinstance(element.type, xsd.AnySimpleType)
            or element.max_occurs != 1
            or element.qname.namespace
            or element.nillable
            or element.default is not None
            or not re.fullmatch(_NAME, name)
        ):
            return None
        fields.append((name, element.min_occurs >= 1))
    return {"envelope_ns": envelope_ns, "element": qname.localname, "fields": tuple(fields)}


def reader_spec(zeep_operation: Any) -> dict[str, Any] | None:
    """The reader part of ``zeep_operation``'s spec, or ``None`` if the reader does not cover it."""
    ((_, result_element),) = zeep_operation.output.body.type.elements
    if (
        getattr(zeep_operation.output.body.type, "attributes", None)
        or result_element.max_occurs != 1
    ):
        return None
    shape = _shape(result_element.type, depth=0)
    if shape is None:
        return None
    texts, entries = shape
    return {"texts": texts, "entries": entries}


def reply_spec(zeep_operation: Any, namespace: str) -> dict[str, Any]:
    """The reply's response element, result element and the result's declared children."""
    body = zeep_operation.output.body
    ((result_name, result_element),) = body.type.elements
    if body.qname.namespace != namespace:
        raise ValueError(f"{zeep_operation.name}: the response element is not in {namespace}")
    known = tuple(sorted(name for name, _ in result_element.type.elements))
    return {"output": body.qname.localname, "result": result_name, "known": known}


def _shape(zeep_type: Any, depth: int) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """Text children (sorted) and entry children (name: their own shape) of a sequence type."""
    from zeep import xsd
    from zeep.xsd.elements.indicators import Sequence

    if (
        depth > 1
        or getattr(zeep_type, "attributes", None)
        or not isinstance(getattr(zeep_type, "_element", None), Sequence)
    ):
        return None
    texts: set[str] = set()
    entries: dict[str, Any] = {}
    for name, element in zeep_type.elements:
        if not isinstance(element, xsd.Element):
            return None
        if isinstance(element.type, xsd.AnySimpleType):
            if element.max_occurs != 1:
                return None
            texts.add(name)
            continue
        inner = _shape(element.type, depth + 1)
        if inner is None or inner[1]:
            return None
        entries[name] = inner
    return tuple(sorted(texts)), entries


def generate(text: str | None = None) -> dict[str, Any]:
    """The spec of every operation from zeep's model of the cached WSDL (or of ``text``); imports zeep."""
    import hashlib
    import io

    import zeep
    from zeep.wsdl import Document

    from .._hosts import WSDL_NAMESPACE
    from .wsdl import wsdl_text, zeep_settings

    class _Refuse:
        def load(self, url: str) -> bytes:  # pragma: no cover - never called for a local document
            raise RuntimeError(f"the spec is generated from the cached WSDL only (asked for {url})")

    source = (wsdl_text() if text is None else text).encode("utf-8")
    document = Document(io.BytesIO(source), _Refuse(), base=None, settings=zeep_settings())  # type: ignore[arg-type]
    make_client: Any = zeep.Client  # zeep is untyped
    client = make_client(document, settings=zeep_settings(), transport=_Refuse())
    service = client.create_service(f"{{{WSDL_NAMESPACE}}}ServiceSoap", "http://127.0.0.1/unused")
    binding = service._binding
    operations: dict[str, Any] = {}
    for name in OPERATIONS:
        operation = binding.get(name)
        operations[name] = {
            **reply_spec(operation, WSDL_NAMESPACE),
            "writer": writer_spec(operation, WSDL_NAMESPACE),
            "reader": reader_spec(operation),
        }
    return {"wsdl_sha256": hashlib.sha256(source).hexdigest(), "operations": operations}


def render(spec: dict[str, Any]) -> str:
    """The source of :mod:`.compiled_spec` for ``spec``."""
    import pprint  # only when the spec is rendered (dev.py compile-wsdl), never on a client's path

    body = pprint.pformat(spec, width=100, sort_dicts=False)
    return (
        '"""GENERATED by ``python3 dev.py compile-wsdl`` from zeep\'s model of wsdl/smsc.wsdl: do not edit.\n'
        "\n"
        "What the compiled envelope writers and reply readers need per operation (see spec.py); the\n"
        "namespace is the host's, filled in at run time. tests/test_compiled_spec.py fails when this file\n"
        'differs from what zeep\'s model of the cached WSDL gives.\n"""\n'
        "\n"
        "from typing import Any\n"
        "\n"
        f"SPEC: dict[str, Any] = {body}\n"
    )
