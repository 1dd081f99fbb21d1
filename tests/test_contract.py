"""smsc_soap.contract.check_contract against WSDLs served on 127.0.0.1 and against saved copies."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from smsc_soap import SmscConfigurationError
from smsc_soap._soap.wsdl import wsdl_text
from smsc_soap.contract import (
    ContractError,
    ContractReport,
    ContractUnreachableError,
    ContractUnreadableError,
    check_contract,
)

UA = "http://smsc.ua/sys/soap.php"
UA_ENDPOINT = "https://smsc.ua/sys/soap.php"


def _serve(httpserver: HTTPServer, body: str | bytes, *, status: int = 200) -> str:
    content_type = "text/html" if status != 200 else "text/xml; charset=utf-8"
    httpserver.expect_request("/sys/soap.php").respond_with_data(
        body, status=status, content_type=content_type
    )
    return httpserver.url_for("/sys/soap.php") + "?wsdl"


def _with_new_child(text: str) -> str:
    old = '<xs:element name="query"  type="xs:string" minOccurs="0"/>'
    assert old in text
    return text.replace(old, old + '\n            <xs:element name="channel" type="xs:string"/>', 1)


def test_reference_contract_from_another_address_is_ok(httpserver: HTTPServer) -> None:
    """The published WSDL served from a mirror on 127.0.0.1: ok, no drift, no address complaint."""
    url = _serve(httpserver, wsdl_text())
    report = check_contract(url)
    assert isinstance(report, ContractReport)
    assert report.ok and report.drift == () and report.local_additions == ()
    assert report.host == "smsc.ru" and report.source == url
    data = report.to_dict()
    assert data["ok"] is True and data["drift"] == []
    json.dumps(data)
    assert report.describe().endswith("no drift")


def test_drift_is_listed(httpserver: HTTPServer) -> None:
    """A new child element is drift: not ok, one difference naming it."""
    report = check_contract(_serve(httpserver, _with_new_child(wsdl_text())))
    assert not report.ok
    [drift] = report.drift
    assert drift.where == "element send2" and "'channel' added" in drift.what
    assert report.to_dict()["ok"] is False
    assert "DRIFT: element send2: child 'channel'" in report.describe()


def test_address_drift_expects_the_sites_endpoint(httpserver: HTTPServer) -> None:
    """A document naming another soap:address: cached is the site's endpoint, live the document's."""
    report = check_contract(_serve(httpserver, wsdl_text(address="https://proxy.example/soap")))
    [drift] = report.drift
    assert (drift.what, drift.cached, drift.live) == (
        "soap:address changed",
        "https://smsc.ru/sys/soap.php",
        "https://proxy.example/soap",
    )


def test_upstream_shape_gives_local_additions_not_drift() -> None:
    """Without our apikey and optional login/psw the differences are local additions, still ok."""
    text = re.sub(r'\n\s*<xs:element name="apikey"[^\n]*', "", wsdl_text())
    report = check_contract(against=text.encode())
    assert report.ok
    assert len(report.local_additions) == 7
    assert report.source == "<bytes>"


def test_known_variant_of_smsc_ua_from_saved_file(tmp_path: Path) -> None:
    """smsc.ua's contract without per-phone errors, saved as a file: known variants, ok."""
    text = re.sub(r'\n\s*<xs:element name="errors"[^\n]*', "", wsdl_text(UA, address=UA_ENDPOINT))
    text = re.sub(r'<xs:complexType name="Error">.*?</xs:complexType>', "", text, flags=re.S)
    saved = tmp_path / "smsc-ua.wsdl"
    saved.write_text(text, encoding="utf-8")
    report = check_contract(host="smsc.ua", against=saved)
    assert report.ok and len(report.known_variants) == 2
    assert report.source == str(saved)
    drifted = check_contract(host="smsc.ru", against=str(saved))
    assert not drifted.ok


def test_saved_file_with_drift(tmp_path: Path) -> None:
    """A saved artifact with drift is reported without any network."""
    saved = tmp_path / "live.wsdl"
    saved.write_bytes(_with_new_child(wsdl_text()).encode())
    assert not check_contract(against=saved).ok


def test_unreachable_port() -> None:
    """Nothing listening: ContractUnreachableError naming the URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/sys/soap.php?wsdl"
    with pytest.raises(ContractUnreachableError) as caught:
        check_contract(url, timeout=5)
    assert caught.value.source == url
    assert isinstance(caught.value, ContractError)


def test_html_error_page(httpserver: HTTPServer) -> None:
    """An HTTP 503 maintenance page is unreachable; the same page with 200 is unreadable."""
    page = "<html><body><h1>Maintenance</h1></body></html>"
    httpserver.expect_oneshot_request("/down").respond_with_data(
        page, status=503, content_type="text/html"
    )
    with pytest.raises(ContractUnreachableError, match="HTTP 503"):
        check_contract(httpserver.url_for("/down"))
    url = _serve(httpserver, page)
    with pytest.raises(ContractUnreadableError, match=r"not a WSDL 1\.1"):
        check_contract(url)


def test_huge_document_is_refused(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A document over max_bytes is refused, downloaded or saved."""
    huge = wsdl_text().replace("<wsdl:types>", "<wsdl:types><!--" + "x" * 300_000 + "-->", 1)
    url = _serve(httpserver, huge)
    with pytest.raises(ContractUnreachableError, match="larger than 100000 bytes"):
        check_contract(url, max_bytes=100_000)
    saved = tmp_path / "huge.wsdl"
    saved.write_text(huge, encoding="utf-8")
    with pytest.raises(ContractUnreachableError, match="larger than 100000 bytes"):
        check_contract(against=saved, max_bytes=100_000)
    with pytest.raises(ContractUnreachableError, match="larger than 100000 bytes"):
        check_contract(against=huge.encode(), max_bytes=100_000)
    assert check_contract(url).ok  # within the default cap


def test_missing_file_and_bad_bytes(tmp_path: Path) -> None:
    """A missing saved file is unreachable; bytes that are not XML are unreadable."""
    with pytest.raises(ContractUnreachableError, match="could not read"):
        check_contract(against=tmp_path / "absent.wsdl")
    with pytest.raises(ContractUnreadableError, match="not well-formed"):
        check_contract(against=b"\x00not xml")


def test_bad_arguments_are_typed_errors(tmp_path: Path) -> None:
    """An unknown host, url together with against, or a bad max_bytes: configuration errors."""
    with pytest.raises(SmscConfigurationError, match="host must be one of"):
        check_contract(host="smsc.example", against=b"")
    with pytest.raises(SmscConfigurationError, match="not both"):
        check_contract("http://127.0.0.1:1/x", against=b"<x/>")
    with pytest.raises(SmscConfigurationError, match="must not carry credentials") as caught:
        check_contract("https://user:s3cret-pw@127.0.0.1:1/sys/soap.php?wsdl")
    assert "s3cret-pw" not in str(caught.value) and "s3cret-pw" not in repr(caught.value)
    with pytest.raises(SmscConfigurationError, match="http"):
        check_contract("ftp://127.0.0.1/soap.wsdl")
    with pytest.raises(SmscConfigurationError, match="max_bytes"):
        check_contract(against=b"<x/>", max_bytes=0)


def _upstream(text: str) -> str:
    """The contract as SMSC's generated code shows it: no apikey element."""
    return re.sub(r'\n\s*<xs:element name="apikey"[^\n]*', "", text)


def test_capabilities_of_the_reference_contract() -> None:
    """The cached copy: apikey on get_balance, no sms_cnt, per-number errors with phone and status."""
    caps = check_contract(against=wsdl_text().encode()).capabilities
    assert caps.balance_apikey is True
    assert caps.status_sms_cnt == {"get_status": False, "get_status2": False}
    assert caps.send_errors == ("phone", "status")


def test_capabilities_follow_the_checked_document(httpserver: HTTPServer) -> None:
    """No apikey, sms_cnt added to one status result, errors without children's status: all read."""
    text = _upstream(wsdl_text())
    old = '<xs:complexType name="Status2ResponseType">\n        <xs:sequence>'
    assert old in text
    text = text.replace(old, old + '\n          <xs:element name="sms_cnt" type="xs:string"/>', 1)
    text = re.sub(
        r'(<xs:complexType name="Error">.*?)\n\s*<xs:element name="status"[^\n]*',
        r"\1",
        text,
        count=1,
        flags=re.S,
    )
    report = check_contract(_serve(httpserver, text))
    caps = report.capabilities
    assert caps.balance_apikey is False
    assert caps.status_sms_cnt == {"get_status": False, "get_status2": True}
    assert caps.send_errors == ("phone",)
    assert report.to_dict()["capabilities"] == {
        "balance_apikey": False,
        "status_sms_cnt": {"get_status": False, "get_status2": True},
        "send_errors": ["phone"],
    }
    assert "capability: get_balance declares apikey: no" in report.describe()


def test_capabilities_without_per_number_errors() -> None:
    """smsc.ua's contract without errors: send_errors is None."""
    text = re.sub(r'\n\s*<xs:element name="errors"[^\n]*', "", wsdl_text(UA, address=UA_ENDPOINT))
    caps = check_contract(host="smsc.ua", against=text.encode()).capabilities
    assert caps.send_errors is None
    assert "send_sms2 per-number errors: not declared" in caps.describe()
