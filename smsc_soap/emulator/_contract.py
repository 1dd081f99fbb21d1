"""Which contract the emulator speaks: the published WSDL, or one a richer live service might publish.

By default the emulator behaves like PHP's SoapServer built from the **published** contract (the one
every generated client shows): no ``apikey`` element, ``login`` and ``psw`` required, status replies
without ``sms_cnt``, per-number ``errors`` with only ``phone`` and ``status``. Such a server drops every
element its WSDL does not declare, on the way in and on the way out. Two switches simulate a live WSDL
that declares more:

* ``apikey_element``: the request elements declare ``apikey`` (our cached WSDL's local addition, with
  ``login`` and ``psw`` optional), so an ``<apikey>`` element authenticates;
* ``documented_fields``: the reply types declare what the SOAP page documents beyond the published
  WSDL: ``sms_cnt`` in a status reply (S:232) and ``mcc``, ``mnc``, ``cost``, ``error`` per number
  with ``op=1`` (S:140).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .._soap.wsdl import wsdl_text

__all__ = ["STATUS_FIELDS", "Contract", "served_wsdl"]

_XS = "http://www.w3.org/2001/XMLSchema"

# The children each request element declares in the published WSDL (soap-contract.md section 3).
_REQUEST_CHILDREN: dict[str, tuple[str, ...]] = {
    "send": ("login", "psw", "phones", "mes", "id", "sender", "time"),
    "send2": ("login", "psw", "phones", "mes", "id", "sender", "time", "query"),
    "cost": ("login", "psw", "phones", "mes"),
    "cost2": ("login", "psw", "phones", "mes", "query"),
    "status": ("login", "psw", "phone", "id", "all"),
    "status2": ("login", "psw", "phone", "id", "all", "query"),
    "balance": ("login", "psw"),
}
STATUS_FIELDS = (
    "status",
    "last_date",
    "last_timestamp",
    "err",
    "error",
    "send_date",
    "send_timestamp",
    "phone",
    "cost",
    "sender_id",
    "status_name",
    "message",
    "operator",
    "region",
)
_DOCUMENTED_STATUS_FIELDS = (*STATUS_FIELDS[:12], "sms_cnt", *STATUS_FIELDS[12:])
_ERROR_FIELDS = ("phone", "status")
_DOCUMENTED_ERROR_FIELDS = ("phone", "status", "mcc", "mnc", "cost", "error")


@dataclass(frozen=True, slots=True)
class Contract:
    """The element names a server built from one WSDL variant reads and writes."""

    apikey_element: bool = False
    documented_fields: bool = False

    def request_children(self, element: str) -> frozenset[str]:
        """The children of request ``element`` that reach the handler; the rest are dropped."""
        names = _REQUEST_CHILDREN.get(element, ())
        return frozenset((*names, "apikey") if self.apikey_element else names)

    @property
    def status_fields(self) -> tuple[str, ...]:
        """The fields of a status reply, in the WSDL's order."""
        return _DOCUMENTED_STATUS_FIELDS if self.documented_fields else STATUS_FIELDS

    @property
    def error_fields(self) -> tuple[str, ...]:
        """The children of one ``errors`` entry of a send reply, in order."""
        return _DOCUMENTED_ERROR_FIELDS if self.documented_fields else _ERROR_FIELDS

    def describe(self) -> str:
        """One line naming the variant, for logs and the served WSDL's comment."""
        parts = ["published contract"]
        if self.apikey_element:
            parts.append("+ apikey element (login/psw optional)")
        if self.documented_fields:
            parts.append("+ documented reply fields (sms_cnt; op=1 mcc/mnc/cost/error)")
        return " ".join(parts)


def _xs(name: str, *, optional: bool = True) -> etree._Element:
    element = etree.Element(f"{{{_XS}}}element", name=name, type="xs:string")
    if optional:
        element.set("minOccurs", "0")
    return element


def served_wsdl(namespace: str, address: str | None, contract: Contract) -> str:
    """Return the WSDL text the emulator serves for ``contract`` (built from the cached WSDL)."""
    text = wsdl_text(namespace, address=address)
    if contract.apikey_element and not contract.documented_fields:
        return text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(text.encode("utf-8"), parser)
    schema = root.find(f".//{{{_XS}}}schema")
    assert schema is not None
    if not contract.apikey_element:
        for name in _REQUEST_CHILDREN:
            sequence = schema.find(
                f"{{{_XS}}}element[@name='{name}']/{{{_XS}}}complexType/{{{_XS}}}sequence"
            )
            assert sequence is not None
            for child in list(sequence):
                if child.get("name") == "apikey":
                    sequence.remove(child)
                elif child.get("name") in ("login", "psw"):
                    child.attrib.pop("minOccurs", None)
    if contract.documented_fields:
        for type_name in ("StatusResponseType", "Status2ResponseType"):
            sequence = schema.find(f"{{{_XS}}}complexType[@name='{type_name}']/{{{_XS}}}sequence")
            assert sequence is not None
            message = next(c for c in sequence if c.get("name") == "message")
            message.addnext(_xs("sms_cnt"))
        error = schema.find(f"{{{_XS}}}complexType[@name='Error']/{{{_XS}}}sequence")
        if error is not None:
            for name in ("mcc", "mnc", "cost", "error"):
                error.append(_xs(name))
    root.insert(0, etree.Comment(f" served by the smsc-soap emulator: {contract.describe()} "))
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
