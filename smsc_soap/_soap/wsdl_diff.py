"""The WSDL contract as data, and a structural comparison of two contracts (``smsc-soap wsdl``).

:func:`parse_contract` reads a WSDL 1.1 text (no DTD, no entities, no network) into a
:class:`Contract`: the namespace, the global elements and named types with their children in order
(type, ``minOccurs``, ``maxOccurs``, ``nillable``), the operations in portType order with their input and
output elements, each operation's SOAPAction/style/use, the SOAP version and the service address.

:func:`compare` reports every structural difference between the cached contract and a live one. Two
kinds of difference are expected and are not drift:

* ``local``: our own documented additions to the cached copy (the optional ``apikey`` element straight
  after ``psw`` in every request, and ``login``/``psw`` made optional), reported when the live contract
  does not have them;
* ``known``: a documented variant of one host (smsc.ua's 2016 contract has no ``Send2ResponseType.errors``
  and no ``Error`` type).

Message and binding names are not compared: upstream does not reveal them and ours are chosen.
:func:`fetch_wsdl` downloads a live WSDL; it is the only code in the package that contacts an outside
host, and only :func:`smsc_soap.contract.check_contract` calls it (for ``smsc-soap wsdl check`` and the
pytest plugin's ``--smsc-contract`` items), when a user asks for a check.
:func:`capabilities` reads what the client depends on from a contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

__all__ = [
    "LOCAL_ADDITIONS",
    "REQUEST_ELEMENTS",
    "Capabilities",
    "Child",
    "Contract",
    "DiffReport",
    "Difference",
    "Operation",
    "WsdlFetchError",
    "WsdlParseError",
    "capabilities",
    "compare",
    "fetch_wsdl",
    "parse_contract",
]

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12_NS = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

#: The request wrapper elements, which carry the credentials.
REQUEST_ELEMENTS = ("send", "send2", "cost", "cost2", "status", "status2", "balance")
#: Our documented additions to the cached WSDL, described for people (``wsdl show``, reports).
LOCAL_ADDITIONS = (
    "optional 'apikey' element straight after 'psw' in every request element",
    "'login' and 'psw' made optional (minOccurs=0) in every request element",
)
_KNOWN_VARIANTS: dict[str, dict[str, str]] = {
    "smsc.ua": {
        "type Send2ResponseType: child 'errors'": "smsc.ua's contract has no per-phone errors",
        "type Error": "smsc.ua's contract has no Error type",
    }
}

Category = Literal["drift", "local", "known"]


class WsdlParseError(ValueError):
    """The text is not a WSDL 1.1 document we can read safely."""


class WsdlFetchError(OSError):
    """The live WSDL could not be downloaded."""


@dataclass(frozen=True, slots=True)
class Child:
    """One child element of a sequence: its name, type and occurrence bounds."""

    name: str
    type: str
    min_occurs: str = "1"
    max_occurs: str = "1"
    nillable: str = "false"

    def describe(self) -> str:
        """Return a one-line description, such as ``psw xs:string [0..1]``."""
        text = f"{self.name} {self.type} [{self.min_occurs}..{self.max_occurs}]"
        return text + (" nillable" if self.nillable == "true" else "")


@dataclass(frozen=True, slots=True)
class Operation:
    """One portType operation, resolved to the elements of its input and output parts."""

    name: str
    input: str | None
    output: str | None
    input_part: str | None = None
    output_part: str | None = None
    soap_action: str | None = None
    style: str | None = None
    input_use: str | None = None
    output_use: str | None = None


@dataclass(slots=True)
class Contract:
    """The structure of one WSDL: what a client relies on, with the target namespace abstracted as ``tns:``."""

    namespace: str
    element_form: str = "unqualified"
    elements: dict[str, tuple[Child, ...] | str] = field(default_factory=dict)
    types: dict[str, tuple[Child, ...]] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    soap_versions: tuple[str, ...] = ()
    binding_style: str | None = None
    service: str | None = None
    port: str | None = None
    address: str | None = None
    imports: tuple[str, ...] = ()

    def operation(self, name: str) -> Operation | None:
        """Return the operation called ``name``, if any."""
        return next((op for op in self.operations if op.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Return the contract as JSON-ready data."""
        return {
            "namespace": self.namespace,
            "element_form": self.element_form,
            "soap_versions": list(self.soap_versions),
            "binding_style": self.binding_style,
            "service": self.service,
            "port": self.port,
            "address": self.address,
            "operations": [
                {
                    "name": op.name,
                    "input": op.input,
                    "output": op.output,
                    "soap_action": op.soap_action,
                    "style": op.style,
                    "use": op.input_use,
                }
                for op in self.operations
            ],
            "elements": {
                name: value if isinstance(value, str) else [_child_dict(c) for c in value]
                for name, value in self.elements.items()
            },
            "types": {name: [_child_dict(c) for c in ch] for name, ch in self.types.items()},
        }


def _child_dict(child: Child) -> dict[str, str]:
    return {
        "name": child.name,
        "type": child.type,
        "minOccurs": child.min_occurs,
        "maxOccurs": child.max_occurs,
        "nillable": child.nillable,
    }


# ------------------------------------------------------------------------------------ parsing


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _qname(value: str | None, element: Any, tns: str) -> str:
    """Return ``value`` (a prefixed QName in ``element``'s scope) as ``xs:x``, ``tns:x`` or ``{ns}x``."""
    if not value:
        return ""
    prefix, sep, local = value.partition(":")
    if not sep:
        prefix, local = None, value  # type: ignore[assignment]
    namespace = element.nsmap.get(prefix)
    if namespace == XSD_NS:
        return f"xs:{local}"
    if namespace == tns:
        return f"tns:{local}"
    if namespace is None:
        return local
    return f"{{{namespace}}}{local}"


def _sequence(owner: Any, tns: str) -> tuple[Child, ...]:
    """Return the children of the compositor (sequence, all or choice) of a complexType."""
    children: list[Child] = []
    for compositor in owner:
        if not isinstance(compositor.tag, str):
            continue
        tag = etree.QName(compositor).localname
        if tag in ("complexContent", "simpleContent"):
            # Extension/restriction: record the base as a pseudo-child so a change shows up.
            for derivation in compositor:
                if isinstance(derivation.tag, str):
                    base = _qname(derivation.get("base"), derivation, tns)
                    kind = etree.QName(derivation).localname
                    children.append(Child(f"({kind})", base))
                    children.extend(_sequence(derivation, tns))
            continue
        if tag not in ("sequence", "all", "choice"):
            continue
        prefix = "" if tag == "sequence" else f"({tag})"
        for item in compositor:
            if not isinstance(item.tag, str) or etree.QName(item).localname != "element":
                continue
            name = item.get("name") or "ref:" + _qname(item.get("ref"), item, tns)
            if item.get("type"):
                kind = _qname(item.get("type"), item, tns)
            elif item.find(f"{{{XSD_NS}}}complexType") is not None:
                inner = _sequence(item.find(f"{{{XSD_NS}}}complexType"), tns)
                kind = "{" + ", ".join(c.describe() for c in inner) + "}"
            elif item.find(f"{{{XSD_NS}}}simpleType") is not None:
                kind = "(simpleType)"
            else:
                kind = "xs:anyType"
            children.append(
                Child(
                    prefix + name,
                    kind,
                    item.get("minOccurs", "1"),
                    item.get("maxOccurs", "1"),
                    item.get("nillable", "false"),
                )
            )
    return tuple(children)


_BindingOp = tuple[str | None, str | None, str | None, str | None]
_NO_BINDING: _BindingOp = (None, None, None, None)


def parse_contract(source: str | bytes) -> Contract:
    """Parse a WSDL 1.1 document into a :class:`Contract` (DTDs refused, entities and network off).

    One reader per WSDL section: ``types`` (elements, complex types, schema imports), ``message``,
    ``binding``, ``portType`` (the operations, joined with their messages and binding) and ``service``.
    """
    root = _definitions(source)
    tns = root.get("targetNamespace") or ""
    contract = Contract(namespace=tns)
    imports = [
        wsdl_import.get("location") or wsdl_import.get("namespace") or "?"
        for wsdl_import in root.iterfind(f"{{{WSDL_NS}}}import")
    ]
    imports.extend(_read_types(root, tns, contract))
    contract.imports = tuple(imports)
    messages = _read_messages(root, tns)
    binding_ops = _read_bindings(root, contract)
    _read_port_type(root, tns, messages, binding_ops, contract)
    _read_service(root, contract)
    return contract


def _definitions(source: str | bytes) -> Any:
    """The checked ``<definitions>`` root element of a WSDL document."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise WsdlParseError(f"the WSDL is not well-formed XML: {exc}") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise WsdlParseError("the WSDL has a DOCTYPE; DTDs are refused")
    if root.tag != f"{{{WSDL_NS}}}definitions":
        raise WsdlParseError("the document is not a WSDL 1.1 <definitions> element")
    return root


def _read_types(root: Any, tns: str, contract: Contract) -> list[str]:
    """Read ``types``: elements and complex types into ``contract``; return the schema imports."""
    imports: list[str] = []
    for schema in root.iterfind(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema"):
        if schema.get("targetNamespace", tns) == tns:
            contract.element_form = schema.get("elementFormDefault", "unqualified")
        for item in schema.iterfind(f"{{{XSD_NS}}}import"):
            if item.get("schemaLocation"):
                imports.append(item.get("schemaLocation") or "?")
        for item in schema:
            if isinstance(item.tag, str):
                _read_schema_item(item, tns, contract)
    return imports


def _read_schema_item(item: Any, tns: str, contract: Contract) -> None:
    local = etree.QName(item).localname
    name = item.get("name") or ""
    if local == "element":
        inner = item.find(f"{{{XSD_NS}}}complexType")
        if item.get("type"):
            contract.elements[name] = _qname(item.get("type"), item, tns)
        else:
            contract.elements[name] = _sequence(inner, tns) if inner is not None else ()
    elif local == "complexType":
        contract.types[name] = _sequence(item, tns)


def _read_messages(root: Any, tns: str) -> dict[str, tuple[str | None, str | None]]:
    """Read the ``message`` sections: name -> (part name, part element or type)."""
    messages: dict[str, tuple[str | None, str | None]] = {}
    for message in root.iterfind(f"{{{WSDL_NS}}}message"):
        part = message.find(f"{{{WSDL_NS}}}part")
        if part is None:
            messages[message.get("name") or ""] = (None, None)
            continue
        reference = part.get("element") or part.get("type")
        messages[message.get("name") or ""] = (part.get("name"), _qname(reference, part, tns))
    return messages


def _read_bindings(root: Any, contract: Contract) -> dict[str, _BindingOp]:
    """Read the ``binding`` sections (SOAP 1.1 and 1.2): operation -> (action, style, use in/out).

    Sets the contract's SOAP versions and binding style; the first binding naming an operation wins.
    """
    bindings: dict[str, dict[str, _BindingOp]] = {}
    versions: list[str] = []
    for binding in root.iterfind(f"{{{WSDL_NS}}}binding"):
        ops: dict[str, _BindingOp] = {}
        for soap_ns, version in ((SOAP11_NS, "1.1"), (SOAP12_NS, "1.2")):
            soap_binding = binding.find(f"{{{soap_ns}}}binding")
            if soap_binding is None:
                continue
            versions.append(version)
            if contract.binding_style is None:
                contract.binding_style = soap_binding.get("style", "document")
            for op in binding.iterfind(f"{{{WSDL_NS}}}operation"):
                ops.setdefault(op.get("name") or "", _binding_op(op, soap_ns, soap_binding))
        bindings[binding.get("name") or ""] = ops
    contract.soap_versions = tuple(sorted(set(versions)))
    operations: dict[str, _BindingOp] = {}
    for ops in bindings.values():
        for key, value in ops.items():
            operations.setdefault(key, value)
    return operations


def _binding_op(op: Any, soap_ns: str, soap_binding: Any) -> _BindingOp:
    soap_op = op.find(f"{{{soap_ns}}}operation")
    body_in = op.find(f"{{{WSDL_NS}}}input/{{{soap_ns}}}body")
    body_out = op.find(f"{{{WSDL_NS}}}output/{{{soap_ns}}}body")
    return (
        soap_op.get("soapAction") if soap_op is not None else None,
        (soap_op.get("style") if soap_op is not None else None)
        or soap_binding.get("style", "document"),
        body_in.get("use") if body_in is not None else None,
        body_out.get("use") if body_out is not None else None,
    )


def _read_port_type(
    root: Any,
    tns: str,
    messages: dict[str, tuple[str | None, str | None]],
    binding_ops: dict[str, _BindingOp],
    contract: Contract,
) -> None:
    """Read the (one) ``portType``: each operation with its messages' parts and its binding."""
    port_type = root.find(f"{{{WSDL_NS}}}portType")
    if port_type is None:
        return
    for op in port_type.iterfind(f"{{{WSDL_NS}}}operation"):
        name = op.get("name") or ""
        io: list[tuple[str | None, str | None]] = []
        for direction in ("input", "output"):
            node = op.find(f"{{{WSDL_NS}}}{direction}")
            message_ref = node.get("message") if node is not None else None
            io.append(messages.get((message_ref or "").rpartition(":")[2], (None, None)))
        action, style, use_in, use_out = binding_ops.get(name, _NO_BINDING)
        if action is not None and tns and action == tns:
            action = "tns:"  # SOAPAction equal to the namespace, whatever it is
        contract.operations.append(
            Operation(name, io[0][1], io[1][1], io[0][0], io[1][0], action, style, use_in, use_out)
        )


def _read_service(root: Any, contract: Contract) -> None:
    """Read the ``service``: its name, its first port and that port's SOAP address."""
    service = root.find(f"{{{WSDL_NS}}}service")
    if service is None:
        return
    contract.service = service.get("name")
    port = service.find(f"{{{WSDL_NS}}}port")
    if port is None:
        return
    contract.port = port.get("name")
    address = port.find(f"{{{SOAP11_NS}}}address")
    if address is None:
        address = port.find(f"{{{SOAP12_NS}}}address")
    if address is not None:
        contract.address = address.get("location")


# ------------------------------------------------------------------------------------ comparing


@dataclass(frozen=True, slots=True)
class Difference:
    """One structural difference: where, what, the cached and live values, and its category."""

    where: str
    what: str
    cached: str | None
    live: str | None
    category: Category = "drift"
    note: str | None = None

    def describe(self) -> str:
        """Return a one-line, human-readable description."""
        text = f"{self.where}: {self.what}"
        if self.cached is not None or self.live is not None:
            text += f" (cached: {self.cached or '-'}; live: {self.live or '-'})"
        if self.note:
            text += f" [{self.note}]"
        return text

    def to_dict(self) -> dict[str, str | None]:
        """Return the difference as JSON-ready data."""
        return {
            "category": self.category,
            "where": self.where,
            "what": self.what,
            "cached": self.cached,
            "live": self.live,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class DiffReport:
    """The outcome of a comparison: every difference, split into drift, local additions and known variants."""

    differences: tuple[Difference, ...]

    @property
    def drift(self) -> tuple[Difference, ...]:
        """The differences that are real contract drift."""
        return tuple(d for d in self.differences if d.category == "drift")

    @property
    def local(self) -> tuple[Difference, ...]:
        """Our documented local additions that the live contract does not have."""
        return tuple(d for d in self.differences if d.category == "local")

    @property
    def known(self) -> tuple[Difference, ...]:
        """Documented variants of the chosen host."""
        return tuple(d for d in self.differences if d.category == "known")

    @property
    def has_drift(self) -> bool:
        """Whether any difference is drift."""
        return bool(self.drift)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "drift": [d.to_dict() for d in self.drift],
            "local_additions": [d.to_dict() for d in self.local],
            "known_variants": [d.to_dict() for d in self.known],
        }


def _sequence_diff(where: str, cached: Sequence[Child], live: Sequence[Child]) -> list[Difference]:
    out: list[Difference] = []
    cached_names = [c.name for c in cached]
    live_names = [c.name for c in live]
    live_set, cached_set = set(live_names), set(cached_names)
    for child in cached:
        if child.name not in live_set:
            out.append(Difference(where, f"child {child.name!r} removed", child.describe(), None))
    for index, child in enumerate(live):
        if child.name not in cached_set:
            out.append(
                Difference(
                    where,
                    f"child {child.name!r} added at position {index + 1}",
                    None,
                    child.describe(),
                )
            )
    common_cached = [n for n in cached_names if n in live_set]
    common_live = [n for n in live_names if n in cached_set]
    if common_cached != common_live:
        out.append(
            Difference(
                where, "child order changed", ", ".join(common_cached), ", ".join(common_live)
            )
        )
    by_name = {c.name: c for c in live}
    for child in cached:
        other = by_name.get(child.name)
        if other is None:
            continue
        for attribute, label in (
            ("type", "type"),
            ("min_occurs", "minOccurs"),
            ("max_occurs", "maxOccurs"),
            ("nillable", "nillable"),
        ):
            a, b = getattr(child, attribute), getattr(other, attribute)
            if a != b:
                out.append(Difference(where, f"child {child.name!r} {label} changed", a, b))
    return out


def _request_children(
    name: str, cached: tuple[Child, ...], live: tuple[Child, ...]
) -> tuple[tuple[Child, ...], list[Difference]]:
    """Undo our local additions in ``cached`` where the live contract lacks them; note each one."""
    where = f"element {name}"
    notes: list[Difference] = []
    live_by_name = {c.name: c for c in live}
    adjusted = list(cached)
    if "apikey" not in live_by_name and any(c.name == "apikey" for c in adjusted):
        adjusted = [c for c in adjusted if c.name != "apikey"]
        notes.append(
            Difference(
                where,
                "child 'apikey' is a local addition (not in the live contract)",
                "apikey xs:string [0..1]",
                None,
                "local",
            )
        )
    for index, child in enumerate(adjusted):
        other = live_by_name.get(child.name)
        if (
            child.name in ("login", "psw")
            and child.min_occurs == "0"
            and other is not None
            and other.min_occurs == "1"
        ):
            adjusted[index] = Child(child.name, child.type, "1", child.max_occurs, child.nillable)
            notes.append(
                Difference(
                    where,
                    f"child {child.name!r} optional is a local addition (the live contract requires it)",
                    "minOccurs=0",
                    "minOccurs=1",
                    "local",
                )
            )
    return tuple(adjusted), notes


def _named_diff(
    kind: str, cached: Iterable[str], live: Iterable[str]
) -> tuple[list[Difference], list[str]]:
    cached_list, live_list = list(cached), list(live)
    out = [
        Difference(f"{kind} {n}", f"{kind} removed", n, None)
        for n in cached_list
        if n not in live_list
    ]
    out += [
        Difference(f"{kind} {n}", f"{kind} added", None, n)
        for n in live_list
        if n not in cached_list
    ]
    return out, [n for n in cached_list if n in live_list]


def _operations_diff(cached: Contract, live: Contract) -> list[Difference]:
    out: list[Difference] = []
    cached_names = [op.name for op in cached.operations]
    live_names = [op.name for op in live.operations]
    removed = [cached.operation(n) for n in cached_names if n not in live_names]
    added = [live.operation(n) for n in live_names if n not in cached_names]
    renamed: set[str] = set()
    for old in removed:
        assert old is not None
        match = next(
            (
                new
                for new in added
                if new is not None
                and new.name not in renamed
                and new.input == old.input
                and new.output == old.output
            ),
            None,
        )
        if match is not None:
            renamed.add(match.name)
            out.append(
                Difference(
                    f"operation {old.name}",
                    f"operation renamed to {match.name!r} (same input {old.input})",
                    old.name,
                    match.name,
                )
            )
        else:
            out.append(Difference(f"operation {old.name}", "operation removed", old.name, None))
    for new in added:
        assert new is not None
        if new.name not in renamed:
            out.append(Difference(f"operation {new.name}", "operation added", None, new.name))
    common_cached = [n for n in cached_names if n in live_names]
    common_live = [n for n in live_names if n in cached_names]
    if common_cached != common_live:
        out.append(
            Difference(
                "portType",
                "operation order changed",
                ", ".join(common_cached),
                ", ".join(common_live),
            )
        )
    for name in common_cached:
        a, b = cached.operation(name), live.operation(name)
        assert a is not None and b is not None
        for attribute, label in (
            ("input", "input element"),
            ("output", "output element"),
            ("input_part", "input part name"),
            ("output_part", "output part name"),
            ("soap_action", "SOAPAction"),
            ("style", "style"),
            ("input_use", "input use"),
            ("output_use", "output use"),
        ):
            x, y = getattr(a, attribute), getattr(b, attribute)
            if x != y:
                if attribute == "soap_action":
                    x = cached.namespace if x == "tns:" else x
                    y = live.namespace if y == "tns:" else y
                out.append(Difference(f"operation {name}", f"{label} changed", x, y))
    return out


def compare(
    cached: Contract,
    live: Contract,
    *,
    expected_namespace: str | None = None,
    expected_address: str | None = None,
    host: str | None = None,
) -> DiffReport:
    """Compare the cached contract with a live one and classify every difference."""
    out: list[Difference] = []
    namespace = expected_namespace or cached.namespace
    if live.namespace != namespace:
        out.append(Difference("definitions", "targetNamespace changed", namespace, live.namespace))
    if live.element_form != cached.element_form:
        out.append(
            Difference(
                "schema", "elementFormDefault changed", cached.element_form, live.element_form
            )
        )
    if expected_address is not None and live.address != expected_address:
        out.append(Difference("service", "soap:address changed", expected_address, live.address))
    for attribute, label in (
        ("soap_versions", "SOAP versions"),
        ("binding_style", "binding style"),
        ("service", "service name"),
        ("port", "port name"),
    ):
        a, b = getattr(cached, attribute), getattr(live, attribute)
        if a != b:
            a = ", ".join(a) if isinstance(a, tuple) else a
            b = ", ".join(b) if isinstance(b, tuple) else b
            out.append(
                Difference("binding" if "binding" in label else "service", f"{label} changed", a, b)
            )
    if live.imports:
        out.append(
            Difference(
                "definitions",
                "imports external documents (not followed, not compared)",
                None,
                ", ".join(live.imports),
            )
        )
    out += _operations_diff(cached, live)
    names, common = _named_diff("element", cached.elements, live.elements)
    out += names
    for name in common:
        a, b = cached.elements[name], live.elements[name]
        where = f"element {name}"
        if isinstance(a, str) or isinstance(b, str):
            if a != b:
                out.append(
                    Difference(
                        where,
                        "type changed",
                        a if isinstance(a, str) else "(anonymous)",
                        b if isinstance(b, str) else "(anonymous)",
                    )
                )
            continue
        if name in REQUEST_ELEMENTS:
            a, notes = _request_children(name, a, b)
            out += notes
        out += _sequence_diff(where, a, b)
    names, common = _named_diff("type", cached.types, live.types)
    out += names
    for name in common:
        out += _sequence_diff(f"type {name}", cached.types[name], live.types[name])
    return DiffReport(tuple(_classify_known(d, host) for d in out))


def _classify_known(difference: Difference, host: str | None) -> Difference:
    variants = _KNOWN_VARIANTS.get(host or "", {})
    for prefix, note in variants.items():
        key = f"{difference.where}: {difference.what}"
        if key.startswith(prefix) and difference.live is None:
            return Difference(
                difference.where,
                difference.what,
                difference.cached,
                difference.live,
                "known",
                note,
            )
    return difference


# ------------------------------------------------------------------------------------ capabilities


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a contract offers that this client depends on.

    ``balance_apikey``: ``get_balance``'s request declares ``apikey`` (an API-key balance works only then).
    ``status_sms_cnt``: per status operation, whether its result declares ``sms_cnt``.
    ``send_errors``: the children of ``send_sms2``'s per-number ``errors`` (``None``: not declared).
    """

    balance_apikey: bool
    status_sms_cnt: dict[str, bool]
    send_errors: tuple[str, ...] | None

    def describe(self) -> list[str]:
        """Return one human-readable line per capability."""
        status = ", ".join(
            f"{op} {'yes' if has else 'no'}" for op, has in self.status_sms_cnt.items()
        )
        errors = (
            "not declared"
            if self.send_errors is None
            else "declared (" + ", ".join(self.send_errors) + ")"
        )
        return [
            f"get_balance declares apikey: {'yes' if self.balance_apikey else 'no'}",
            f"status results declare sms_cnt: {status or 'no status operations'}",
            f"send_sms2 per-number errors: {errors}",
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the capabilities as JSON-ready data."""
        return {
            "balance_apikey": self.balance_apikey,
            "status_sms_cnt": dict(self.status_sms_cnt),
            "send_errors": None if self.send_errors is None else list(self.send_errors),
        }


def _children(contract: Contract, element: str | None) -> tuple[Child, ...]:
    value = contract.elements.get((element or "").removeprefix("tns:"), ())
    return () if isinstance(value, str) else value


def _result_children(contract: Contract, operation: str) -> tuple[Child, ...]:
    """The children of an operation's result type (the output element's first child's type)."""
    op = contract.operation(operation)
    if op is None:
        return ()
    wrapper = _children(contract, op.output)
    if not wrapper:
        return ()
    return contract.types.get(wrapper[0].type.removeprefix("tns:"), ())


def capabilities(contract: Contract) -> Capabilities:
    """Read from ``contract`` the capabilities this client depends on."""
    balance = contract.operation("get_balance")
    has_key = balance is not None and any(
        c.name == "apikey" for c in _children(contract, balance.input)
    )
    status = {
        name: any(c.name == "sms_cnt" for c in _result_children(contract, name))
        for name in ("get_status", "get_status2")
        if contract.operation(name) is not None
    }
    errors = next((c for c in _result_children(contract, "send_sms2") if c.name == "errors"), None)
    send_errors: tuple[str, ...] | None = None
    if errors is not None:
        send_errors = tuple(
            c.name for c in contract.types.get(errors.type.removeprefix("tns:"), ())
        )
    return Capabilities(has_key, status, send_errors)


# ------------------------------------------------------------------------------------ fetching


def fetch_wsdl(url: str, *, timeout: float = 15.0, max_bytes: int = 2 * 1024 * 1024) -> bytes:
    """Download the WSDL at ``url`` (http/https, at most 3 redirects, ``max_bytes`` cap, ``timeout``)."""
    import httpx

    current = url
    for _ in range(4):
        scheme = httpx.URL(current).scheme
        if scheme not in ("http", "https"):
            raise WsdlFetchError(f"refusing to fetch a WSDL over {scheme or 'no scheme'!r}")
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=False) as client,
                client.stream("GET", current, headers={"Accept": "text/xml, */*"}) as response,
            ):
                if response.is_redirect:
                    location = response.headers.get("Location")
                    if not location:
                        raise WsdlFetchError(f"HTTP {response.status_code} without a Location")
                    current = str(response.url.join(location))
                    continue
                if response.status_code != 200:
                    raise WsdlFetchError(f"HTTP {response.status_code} from {current}")
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise WsdlFetchError(f"the WSDL is larger than {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise WsdlFetchError(f"the WSDL is larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise WsdlFetchError(
                f"could not download {current}: {type(exc).__name__}: {exc}"
            ) from exc
    raise WsdlFetchError("too many redirects")
