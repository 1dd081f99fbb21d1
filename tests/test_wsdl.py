"""The cached WSDL: its contract, that it ships in the wheel, and that building a client is offline."""

from __future__ import annotations

import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from smsc_soap import HOSTS, SoapSmsc
from smsc_soap.lowlevel import wsdl_path

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
ROOT = Path(__file__).resolve().parent.parent

REQUESTS = {
    "send": ["login", "psw", "apikey", "phones", "mes", "id", "sender", "time"],
    "send2": ["login", "psw", "apikey", "phones", "mes", "id", "sender", "time", "query"],
    "cost": ["login", "psw", "apikey", "phones", "mes"],
    "cost2": ["login", "psw", "apikey", "phones", "mes", "query"],
    "status": ["login", "psw", "apikey", "phone", "id", "all"],
    "status2": ["login", "psw", "apikey", "phone", "id", "all", "query"],
    "balance": ["login", "psw", "apikey"],
}
REQUIRED = {
    "send": {"phones", "mes"},
    "send2": {"phones", "mes"},
    "cost": {"phones", "mes"},
    "cost2": {"phones", "mes", "query"},
    "status": {"phone", "id"},
    "status2": {"phone", "id", "query"},
    "balance": set(),
}
RESULTS = {
    "SendResponseType": ["id", "balance", "cost", "cnt", "error"],
    "Send2ResponseType": ["id", "balance", "cost", "cnt", "error", "errors"],
    "CostResponseType": ["cost", "cnt", "error"],
    "Cost2ResponseType": ["cost", "cnt", "error"],
    "StatusResponseType": [
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
    ],
    "BalanceResponseType": ["balance", "error"],
}
RESULTS["Status2ResponseType"] = RESULTS["StatusResponseType"]


@pytest.fixture(scope="module")
def tree() -> etree._Element:
    """The cached WSDL, parsed."""
    return etree.parse(str(wsdl_path())).getroot()


def _sequence(node: etree._Element) -> list[etree._Element]:
    return node.findall(f".//{{{XS}}}sequence/{{{XS}}}element")


def test_request_elements_children_order_and_min_occurs(tree: etree._Element) -> None:
    """Every request element has the contract's children, in order, apikey right after psw."""
    schema = tree.find(f".//{{{XS}}}schema")
    assert schema is not None
    for name, children in REQUESTS.items():
        element = schema.find(f"{{{XS}}}element[@name='{name}']")
        assert element is not None, name
        items = _sequence(element)
        assert [e.get("name") for e in items] == children
        assert all(e.get("type") == "xs:string" for e in items)
        required = {e.get("name") for e in items if e.get("minOccurs", "1") != "0"}
        assert required == REQUIRED[name], name


def test_result_types(tree: etree._Element) -> None:
    """Result types list the contract's fields in order, all optional strings, errors unbounded."""
    for name, fields in RESULTS.items():
        node = tree.find(f".//{{{XS}}}complexType[@name='{name}']")
        assert node is not None, name
        items = _sequence(node)
        assert [e.get("name") for e in items] == fields
        assert all(e.get("minOccurs") == "0" for e in items)
    errors = tree.find(f".//{{{XS}}}complexType[@name='Send2ResponseType']//*[@name='errors']")
    assert errors is not None and errors.get("maxOccurs") == "unbounded"
    assert errors.get("type") == "tns:Error"


def test_binding_is_document_literal_soap11_with_namespace_action(tree: etree._Element) -> None:
    """Seven operations, document/literal SOAP 1.1, SOAPAction equal to the namespace."""
    namespace = tree.get("targetNamespace")
    assert namespace == "https://smsc.ru/sys/soap.php"
    operations = tree.findall(f"{{{WSDL}}}binding/{{{WSDL}}}operation")
    assert sorted(o.get("name") for o in operations) == sorted(
        ["get_balance", "send_sms", "send_sms2", "get_sms_cost", "get_sms_cost2", "get_status",
         "get_status2"]
    )  # fmt: skip
    for operation in operations:
        action = operation.find(f"{{{SOAP}}}operation")
        assert action is not None and action.get("soapAction") == namespace
        assert action.get("style") == "document"
        bodies = operation.findall(f".//{{{SOAP}}}body")
        assert len(bodies) == 2 and all(b.get("use") == "literal" for b in bodies)
    binding = tree.find(f"{{{WSDL}}}binding/{{{SOAP}}}binding")
    assert (
        binding is not None and binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
    )
    port = tree.find(f"{{{WSDL}}}service[@name='Service']/{{{WSDL}}}port[@name='ServiceSoap']")
    assert port is not None
    schema = tree.find(f".//{{{XS}}}schema")
    assert schema is not None and schema.get("elementFormDefault", "unqualified") == "unqualified"


def test_apikey_is_marked_as_our_addition() -> None:
    """The WSDL says in a comment that apikey is our addition."""
    text = wsdl_path().read_text(encoding="utf-8")
    assert text.count('<xs:element name="apikey"') == 7
    assert text.count("<!-- our addition -->") == 7


def test_building_clients_performs_no_network_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every socket blocked, clients for every host build and serialise requests."""
    import smsc_soap._soap.protocol as protocol

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network I/O while building a client")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    protocol.protocol_for.cache_clear()
    for host in HOSTS:
        with SoapSmsc("alex", "123", host=host) as client:
            request = client._protocol.build("get_balance", {}, {"login": "a", "psw": "b"})
            assert HOSTS[host].namespace.encode() in request.body
    protocol.protocol_for.cache_clear()


@pytest.mark.slow
def test_wheel_carries_the_wsdl(tmp_path: Path) -> None:
    """The built wheel contains smsc_soap/wsdl/smsc.wsdl, identical to wsdl/smsc.wsdl."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("smsc_soap-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("smsc_soap/wsdl/smsc.wsdl") == (ROOT / "wsdl/smsc.wsdl").read_bytes()
        assert "smsc_soap/py.typed" in archive.namelist()
