"""The pytest plugin's --smsc-contract options, run in a pytester sandbox against WSDLs on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from pytest_httpserver import HTTPServer

from smsc_soap._soap.wsdl import wsdl_text

pytest_plugins = ["pytester"]

USER_TEST = """
def test_users_own():
    assert True
"""


def _drifted() -> str:
    old = '<xs:element name="query"  type="xs:string" minOccurs="0"/>'
    text = wsdl_text()
    assert old in text
    return text.replace(old, old + '\n            <xs:element name="channel" type="xs:string"/>', 1)


def _serve(httpserver: HTTPServer, path: str, body: str) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type="text/xml")
    return httpserver.url_for(path) + "?wsdl"


def test_without_the_option_nothing_is_added(pytester: pytest.Pytester) -> None:
    """A user's suite runs exactly its own tests when no --smsc-contract option is given."""
    pytester.makepyfile(USER_TEST)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "smsc_contract" not in result.stdout.str()


def test_one_item_per_site_is_collected(pytester: pytest.Pytester) -> None:
    """--smsc-contract twice adds two items (collected only here: running them would go online)."""
    pytester.makepyfile(USER_TEST)
    result = pytester.runpytest("--smsc-contract=smsc.ru", "--smsc-contract=smsc.kz", "--co", "-q")
    result.stdout.fnmatch_lines(["*test_users_own", "*smsc_contract[[]smsc.ru[]]", "*smsc.kz*"])
    assert result.stdout.str().count("smsc_contract[") == 2


def test_url_without_drift_passes_and_drift_fails(
    pytester: pytest.Pytester, httpserver: HTTPServer
) -> None:
    """A mirror of the published WSDL passes; a drifted one fails listing the difference."""
    good = _serve(httpserver, "/good", wsdl_text())
    bad = _serve(httpserver, "/bad", _drifted())
    pytester.makepyfile(USER_TEST)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(
        f"--smsc-contract-url={good}", f"--smsc-contract-url={bad}", f"--junitxml={junit}"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*DRIFT: element send2: child 'channel' added at position 10*"])
    xml = junit.read_text(encoding="utf-8")
    assert xml.count("<testcase") == 3 and xml.count("<failure") == 1
    assert '<property name="smsc_contract" value="{&quot;host&quot;: &quot;smsc.ru&quot;' in xml


def test_saved_file_against_a_chosen_site(pytester: pytest.Pytester) -> None:
    """--smsc-contract-file checks a saved WSDL; --smsc-contract names the site to expect."""
    saved = pytester.path / "smsc-kz.wsdl"
    kz = "https://smsc.kz/sys/soap.php"
    saved.write_text(wsdl_text(kz, address=kz), encoding="utf-8")
    ok = pytester.runpytest("--smsc-contract=smsc.kz", f"--smsc-contract-file={saved}", "-v")
    ok.assert_outcomes(passed=1)
    wrong = pytester.runpytest(f"--smsc-contract-file={saved}")
    wrong.assert_outcomes(failed=1)
    wrong.stdout.fnmatch_lines(["*DRIFT: definitions: targetNamespace changed*"])


def test_unreachable_url_fails_with_a_typed_error(pytester: pytest.Pytester) -> None:
    """Nothing listening on the port: the item fails naming ContractUnreachableError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = pytester.runpytest(f"--smsc-contract-url=http://127.0.0.1:{port}/sys/soap.php?wsdl")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ContractUnreachableError: could not download*"])


def test_unknown_site_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An unknown --smsc-contract site stops the run with the allowed names."""
    pytester.makepyfile(USER_TEST)
    result = pytester.runpytest("--smsc-contract=smsc.example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown host 'smsc.example'; choose one of smsc.ru*"])
