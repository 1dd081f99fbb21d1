"""The shipped compiled spec is what zeep's model of the cached WSDL gives, and the fast path needs no zeep."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from smsc_soap._soap import compiled_spec
from smsc_soap._soap.compiled_spec import SPEC
from smsc_soap._soap.spec import OPERATIONS, generate, render
from smsc_soap._soap.wsdl import wsdl_text

from .wire import php_reply

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "the WSDL changed: run `python3 dev.py compile-wsdl` and commit smsc_soap/_soap/compiled_spec.py"


def test_shipped_spec_equals_zeeps_model_of_the_wsdl() -> None:
    """Every operation's writer and reader spec is exactly what zeep's model of wsdl/smsc.wsdl gives."""
    assert generate() == SPEC, REGENERATE
    assert SPEC["wsdl_sha256"] == hashlib.sha256(wsdl_text().encode("utf-8")).hexdigest()
    assert list(SPEC["operations"]) == list(OPERATIONS)
    assert all(op["writer"] and op["reader"] for op in SPEC["operations"].values())


def test_shipped_file_is_what_the_generator_writes() -> None:
    """The file itself is the generator's output as ruff formats it (nobody edited it by hand)."""
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "compiled_spec.py", "-"],
        input=render(generate()),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert Path(compiled_spec.__file__).read_text(encoding="utf-8") == formatted, REGENERATE


def test_a_changed_wsdl_gives_a_different_spec() -> None:
    """The check above can fail: a WSDL whose send2 drops an element gives another spec."""
    text = wsdl_text()
    fewer = text.replace('<xs:element name="query"  type="xs:string" minOccurs="0"/>', "", 1)
    assert fewer != text
    changed = generate(fewer)
    assert changed != SPEC
    fields = dict(changed["operations"]["send_sms2"]["writer"]["fields"])
    assert "query" not in fields and fields["mes"] is True
    assert changed["operations"]["send_sms"] == SPEC["operations"]["send_sms"]


_CHILD = """
import sys
import smsc_soap
from smsc_soap._soap.protocol import protocol_for

client = smsc_soap.SoapSmsc("alex", "123", endpoint=sys.argv[1])
result = client.send_sms2("79999999999", "Hello!", id="c1", query={"cost": 3})
assert result.id == "c1" and str(result.cost) == "1.95", result
print("after first call:", "zeep" in sys.modules)
try:
    protocol_for("https://smsc.ru/sys/soap.php").build(
        "send_sms2", {"phones": "1", "mes": "x", "bogus": "y"}, {}
    )
except TypeError as exc:
    print("fallback:", "zeep" in sys.modules, "bogus" in str(exc))
client.close()
"""


def test_first_call_imports_no_zeep_and_the_fallback_does(httpserver: HTTPServer) -> None:
    """A fresh interpreter sends and reads a reply without importing zeep; a field the WSDL does not
    declare goes to zeep, which is imported then and refuses it."""
    httpserver.expect_request("/sys/soap.php", method="POST").respond_with_data(
        php_reply("send_sms2", "<id>c1</id><cost>1.95</cost><cnt>1</cnt>"),
        content_type="text/xml; charset=utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, httpserver.url_for("/sys/soap.php")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["after first call: False", "fallback: True True"]
