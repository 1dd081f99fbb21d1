"""`smsc-soap wsdl check --url <emulator>?wsdl` against modified contracts, and `wsdl show`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsc_soap._soap.wsdl import wsdl_text
from smsc_soap._soap.wsdl_diff import WsdlParseError, compare, parse_contract
from smsc_soap.emulator import Emulator, EmulatorServer, default_account

from .helpers import cli_env, run_cli

PLACEHOLDER = "http://127.0.0.1:1/sys/soap.php"


def _served(text: str) -> Iterator[tuple[EmulatorServer, str]]:
    server = EmulatorServer(Emulator([default_account()]), wsdl="")
    with server:
        # A text naming PLACEHOLDER names the serving address instead (as an emulator's own WSDL does).
        server.app.wsdl = text.replace(PLACEHOLDER, server.url)
        yield server, server.wsdl_url


def _base() -> str:
    """The cached contract as smsc.ru publishes it: its soap:address is smsc.ru's endpoint."""
    return wsdl_text()


def _upstream_like() -> str:
    """The contract as SMSC's generated code shows it: no apikey, login and psw required."""
    text = re.sub(r'\n\s*<xs:element name="apikey"[^\n]*', "", _base())
    return re.sub(
        r'(<xs:element name="(?:login|psw)"\s+type="xs:string") minOccurs="0"/>', r"\1/>", text
    )


def _check(text: str) -> tuple[int, dict[str, object], str]:
    for _, url in _served(text):
        result = run_cli("wsdl", "check", "--url", url, "--json", env=cli_env())
        plain = run_cli("wsdl", "check", "--url", url, env=cli_env())
        assert plain.returncode == result.returncode
        return result.returncode, json.loads(result.stdout), plain.stdout
    raise AssertionError("unreachable")


def _whats(report: dict[str, object], key: str = "drift") -> list[str]:
    items = report[key]
    assert isinstance(items, list)
    return [f"{item['where']}: {item['what']}" for item in items]


def test_unmodified_contract_reports_no_drift() -> None:
    """The emulator's own WSDL (the cached one at its address) has no drift: exit 0."""
    code, report, plain = _check(_base())
    assert code == 0, plain
    assert report["drift"] == [] and report["local_additions"] == []
    assert "no drift" in plain


def test_local_additions_are_not_drift() -> None:
    """A contract without our apikey and optional login/psw lists them as local additions, exit 0."""
    code, report, plain = _check(_upstream_like())
    assert code == 0, plain
    local = _whats(report, "local_additions")
    assert len(local) == 21  # 7 request elements x (apikey, login, psw)
    assert "element send2: child 'apikey' is a local addition (not in the live contract)" in local
    assert "local addition" in plain


def test_added_element_is_drift() -> None:
    """A new child element in a request is reported with its position: exit 10."""
    text = _base().replace(
        '<xs:element name="query"  type="xs:string" minOccurs="0"/>',
        '<xs:element name="query"  type="xs:string" minOccurs="0"/>\n'
        '            <xs:element name="channel" type="xs:string"/>',
        1,
    )
    code, report, plain = _check(text)
    assert code == 10
    assert _whats(report) == ["element send2: child 'channel' added at position 10"]
    assert "DRIFT" in plain


def test_reordered_child_is_drift() -> None:
    """Two children swapped in a result type are reported as an order change."""
    text = _base().replace(
        '<xs:element name="id"      type="xs:string" minOccurs="0"/>\n'
        '          <xs:element name="balance" type="xs:string" minOccurs="0"/>',
        '<xs:element name="balance" type="xs:string" minOccurs="0"/>\n'
        '          <xs:element name="id"      type="xs:string" minOccurs="0"/>',
        1,
    )
    code, report, _ = _check(text)
    assert code == 10
    [drift] = report["drift"]  # type: ignore[misc]
    assert drift["where"] == "type SendResponseType" and drift["what"] == "child order changed"
    assert drift["cached"].startswith("id, balance") and drift["live"].startswith("balance, id")


def test_renamed_operation_is_drift() -> None:
    """An operation renamed in portType and binding is reported as a rename."""
    text = _base().replace(
        '<wsdl:operation name="get_status2">', '<wsdl:operation name="status_v2">'
    )
    code, report, _ = _check(text)
    assert code == 10
    assert _whats(report) == [
        "operation get_status2: operation renamed to 'status_v2' (same input tns:status2)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '<xs:element name="cnt"     type="xs:string" minOccurs="0"/>\n'
            '          <xs:element name="error"   type="xs:string" minOccurs="0"/>\n'
            "        </xs:sequence>\n      </xs:complexType>\n\n      <!-- per-phone",
            '<xs:element name="cnt"     type="xs:int" minOccurs="0"/>\n'
            '          <xs:element name="error"   type="xs:string" minOccurs="0"/>\n'
            "        </xs:sequence>\n      </xs:complexType>\n\n      <!-- per-phone",
            "type SendResponseType: child 'cnt' type changed",
        ),
        (
            'name="errors"  type="tns:Error" minOccurs="0" maxOccurs="unbounded"',
            'name="errors"  type="tns:Error" minOccurs="0" maxOccurs="1"',
            "type Send2ResponseType: child 'errors' maxOccurs changed",
        ),
        (
            '<xs:element name="query" type="xs:string"/>\n          </xs:sequence>\n'
            "        </xs:complexType>\n      </xs:element>\n\n      <!-- get_balance",
            '<xs:element name="query" type="xs:string" minOccurs="0"/>\n          </xs:sequence>\n'
            "        </xs:complexType>\n      </xs:element>\n\n      <!-- get_balance",
            "element status2: child 'query' minOccurs changed",
        ),
        (
            'soapAction="https://smsc.ru/sys/soap.php" style="document"/>\n'
            '      <wsdl:input><soap:body use="literal"/></wsdl:input>\n'
            '      <wsdl:output><soap:body use="literal"/></wsdl:output>\n'
            "    </wsdl:operation>\n"
            '    <wsdl:operation name="send_sms">',
            'soapAction="urn:get_balance" style="document"/>\n'
            '      <wsdl:input><soap:body use="literal"/></wsdl:input>\n'
            '      <wsdl:output><soap:body use="literal"/></wsdl:output>\n'
            "    </wsdl:operation>\n"
            '    <wsdl:operation name="send_sms">',
            "operation get_balance: SOAPAction changed",
        ),
    ],
)
def test_type_occurs_and_action_changes_are_drift(old: str, new: str, expected: str) -> None:
    """A changed type, maxOccurs, minOccurs or SOAPAction is reported where it happened."""
    text = _base()
    assert old in text
    code, report, _ = _check(text.replace(old, new, 1))
    assert code == 10
    assert _whats(report) == [expected]


def test_namespace_and_address_changes_are_drift() -> None:
    """Another namespace is one difference (not one per type); a different address is another."""
    text = _base().replace("https://smsc.ru/sys/soap.php", "https://smsc.example/v2/soap.php")
    code, report, _ = _check(text)
    assert code == 10
    whats = _whats(report)
    assert "definitions: targetNamespace changed" in whats
    assert "service: soap:address changed" in whats
    assert all("SOAPAction" not in what for what in whats)


def test_copy_served_from_another_address_is_not_drift() -> None:
    """--url on a mirror of the published WSDL: the address expected is the site's, not the URL's."""
    code, report, plain = _check(_base())
    assert code == 0, plain
    assert report["ok"] is True and report["exit_code"] == 0
    assert str(report["url"]).startswith("http://127.0.0.1:")
    assert "soap:address" not in plain


def test_address_drift_labels_expected_and_published() -> None:
    """A document naming another address: cached is the site's endpoint, live what the document says."""
    code, report, plain = _check(wsdl_text(address=PLACEHOLDER))
    assert code == 10
    assert report["ok"] is False and report["exit_code"] == 10
    [drift] = report["drift"]  # type: ignore[misc]
    assert drift["what"] == "soap:address changed"
    assert drift["cached"] == "https://smsc.ru/sys/soap.php"
    assert str(drift["live"]).startswith("http://127.0.0.1:")
    assert "(cached: https://smsc.ru/sys/soap.php; live: http://127.0.0.1:" in plain


def test_emulator_wsdl_with_expect_address() -> None:
    """The emulator's own WSDL names its address: drift by default, none with --expect-address."""
    server = EmulatorServer(Emulator([default_account()]))
    with server:
        url = server.wsdl_url
        plain = run_cli("wsdl", "check", "--url", url, "--json", env=cli_env())
        assert plain.returncode == 10
        assert _whats(json.loads(plain.stdout)) == ["service: soap:address changed"]
        args = ("wsdl", "check", "--url", url, "--expect-address", server.url, "--json")
        expected = run_cli(*args, env=cli_env())
        assert expected.returncode == 0, expected.stdout
        assert json.loads(expected.stdout)["ok"] is True


def test_namespace_host_expects_that_sites_address() -> None:
    """--url with --namespace-host smsc.kz: smsc.kz's namespace and address are expected."""
    kz = "https://smsc.kz/sys/soap.php"
    for _, url in _served(wsdl_text(kz, address=kz)):
        args = ("wsdl", "check", "--url", url, "--namespace-host", "smsc.kz", "--json")
        result = run_cli(*args, env=cli_env())
        assert result.returncode == 0, result.stdout
        assert json.loads(result.stdout)["host"] == "smsc.kz"
        other = run_cli("wsdl", "check", "--url", url, "--json", env=cli_env())
        assert other.returncode == 10
        whats = _whats(json.loads(other.stdout))
        assert "definitions: targetNamespace changed" in whats
        assert "service: soap:address changed" in whats


def test_url_with_credentials_is_refused_exit_2() -> None:
    """A --url carrying user:password@ is refused before anything is sent, without echoing it."""
    args = ("wsdl", "check", "--url", "https://u:s3cret-pw@127.0.0.1:1/x", "--json")
    result = run_cli(*args, env=cli_env())
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["field"] == "url"
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_saved_file_is_checked_without_network(tmp_path: Path) -> None:
    """--file checks a saved artifact: 0 unchanged, 10 with drift, 6 when the file is missing."""
    saved = tmp_path / "smsc.wsdl"
    saved.write_text(_base(), encoding="utf-8")
    result = run_cli("wsdl", "check", "--file", str(saved), "--json", env=cli_env())
    assert result.returncode == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["source"] == str(saved) and data["url"] is None
    saved.write_text(_base().replace('name="cnt"', 'name="count"'), encoding="utf-8")
    assert run_cli("wsdl", "check", "--file", str(saved), env=cli_env()).returncode == 10
    missing = run_cli("wsdl", "check", "--file", str(tmp_path / "absent.wsdl"), env=cli_env())
    assert missing.returncode == 6
    assert "could not read" in missing.stderr


def test_doctype_is_refused_exit_7() -> None:
    """A WSDL with a DTD (entity tricks) is refused unparsed: exit 7."""
    evil = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x "boom">]>\n' + _base().split("?>", 1)[1]
    for _, url in _served(evil):
        result = run_cli("wsdl", "check", "--url", url, env=cli_env())
        assert result.returncode == 7
        assert "DOCTYPE" in result.stderr
        as_json = run_cli("wsdl", "check", "--url", url, "--json", env=cli_env())
        data = json.loads(as_json.stdout)
        assert data["ok"] is False and data["exit_code"] == 7
        assert data["error"]["type"] == "ContractUnreadableError"


def test_size_cap_exit_6() -> None:
    """A WSDL larger than --max-bytes is not read to the end: exit 6."""
    for _, url in _served(_base()):
        result = run_cli("wsdl", "check", "--url", url, "--max-bytes", "1000", env=cli_env())
        assert result.returncode == 6
        assert "larger than 1000 bytes" in result.stderr


def test_known_variant_for_smsc_ua() -> None:
    """smsc.ua's contract without per-phone errors is a known variant, not drift."""
    cached = parse_contract(wsdl_text("http://smsc.ua/sys/soap.php"))
    text = wsdl_text("http://smsc.ua/sys/soap.php")
    text = re.sub(r'\n\s*<xs:element name="errors"[^\n]*', "", text)
    text = re.sub(r"<xs:complexType name=\"Error\">.*?</xs:complexType>", "", text, flags=re.S)
    report = compare(cached, parse_contract(text), host="smsc.ua")
    assert not report.has_drift
    assert len(report.known) == 2


def test_parse_refuses_non_wsdl() -> None:
    """parse_contract refuses documents that are not WSDL 1.1 definitions."""
    with pytest.raises(WsdlParseError):
        parse_contract("<html><body>maintenance</body></html>")


def test_show_lists_operations_in_order_with_local_additions() -> None:
    """`wsdl show` prints the seven operations in portType order and marks our additions."""
    result = run_cli("wsdl", "show", env=cli_env())
    assert result.returncode == 0
    names = re.findall(r"^(\w+)  \(SOAPAction", result.stdout, flags=re.M)
    assert names == [
        "get_balance",
        "send_sms",
        "send_sms2",
        "get_sms_cost",
        "get_sms_cost2",
        "get_status",
        "get_status2",
    ]
    assert "apikey xs:string [0..1]   (local addition)" in result.stdout
    as_json = json.loads(run_cli("wsdl", "show", "--json", env=cli_env()).stdout)
    assert as_json["ok"] is True and as_json["exit_code"] == 0
    assert as_json["capabilities"]["send_errors"] == ["phone", "status"]
    assert "capability  get_balance declares apikey: yes" in result.stdout
    assert "capability  send_sms2 per-number errors: declared (phone, status)" in result.stdout
    assert [c["name"] for c in as_json["elements"]["send2"]][:4] == [
        "login",
        "psw",
        "apikey",
        "phones",
    ]
