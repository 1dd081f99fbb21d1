"""Which contract the emulator speaks: the published WSDL by default, a richer one on request."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
from lxml import etree

from smsc_soap import SoapSmsc
from smsc_soap.emulator import (
    TEST_APIKEY,
    BadCredentials,
    Contract,
    Emulator,
    EmulatorServer,
    ManualClock,
    RequestRecord,
    SoapApp,
    default_account,
    format_record,
)

NS = "https://smsc.ru/sys/soap.php"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CREDS = "<login>test</login><psw>test-password</psw>"
PHONE = "79991234567"


def envelope(element: str, inner: str) -> bytes:
    """A request envelope as PHP's SoapClient writes it."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:{element}>{inner}</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def post(server: EmulatorServer, body: bytes) -> etree._Element:
    """POST ``body`` and return the result element of the reply."""
    reply = requests.post(server.url, data=body, timeout=10)
    assert reply.status_code == 200, reply.text
    body_element = etree.fromstring(reply.content).find(f"{{{ENV}}}Body")
    assert body_element is not None
    return body_element[0][0]


KEY_BALANCE = envelope("balance", f"<apikey>{TEST_APIKEY}</apikey>")


def test_apikey_element_is_ignored_by_default(smsc_emulator: EmulatorServer) -> None:
    """Like a SoapServer built from the published WSDL, an <apikey> element authenticates nothing."""
    result = post(smsc_emulator, KEY_BALANCE)
    assert [(c.tag, c.text) for c in result] == [("error", "2")]
    [record] = smsc_emulator.requests
    assert (record.error, record.ignored) == (2, ("apikey",))
    assert record.reason is not None and "inside query" in record.reason
    assert TEST_APIKEY not in format_record(record)


def test_apikey_inside_query_authenticates_on_the_wire(smsc_emulator: EmulatorServer) -> None:
    """apikey= inside send2's query authenticates, with empty login and psw (S:49-50)."""
    body = envelope(
        "send2",
        "<login></login><psw></psw><phones>79991234567</phones><mes>hi</mes>"
        f"<query>apikey={TEST_APIKEY}&amp;cost=3</query>",
    )
    result = post(smsc_emulator, body)
    assert result.findtext("balance") == "998.05"


@pytest.mark.smsc_emulator(apikey_element=True)
def test_apikey_element_authenticates_when_declared(smsc_emulator: EmulatorServer) -> None:
    """With apikey_element=True (a live WSDL that declares it) the element authenticates."""
    assert smsc_emulator.apikey_element
    assert post(smsc_emulator, KEY_BALANCE).findtext("balance") == "1000.00"


def test_undeclared_children_are_dropped(smsc_emulator: EmulatorServer) -> None:
    """Any undeclared child is dropped before the model sees it (here a stray <query> in send)."""
    body = envelope(
        "send", f"{CREDS}<phones>{PHONE}</phones><mes>m</mes><query>cost=3</query><x>1</x>"
    )
    result = post(smsc_emulator, body)
    assert result.findtext("balance") is None and result.findtext("cnt") == "1"
    assert smsc_emulator.requests[-1].ignored == ("query", "x")


def _wsdl_children(text: bytes, element: str) -> list[tuple[str | None, str | None]]:
    root = etree.fromstring(text)
    xs = "http://www.w3.org/2001/XMLSchema"
    sequence = root.find(
        f".//{{{xs}}}element[@name='{element}']/{{{xs}}}complexType/{{{xs}}}sequence"
    )
    assert sequence is not None
    return [(child.get("name"), child.get("minOccurs")) for child in sequence]


def _type_children(text: bytes, type_name: str) -> list[str | None]:
    root = etree.fromstring(text)
    xs = "http://www.w3.org/2001/XMLSchema"
    sequence = root.find(f".//{{{xs}}}complexType[@name='{type_name}']/{{{xs}}}sequence")
    assert sequence is not None
    return [child.get("name") for child in sequence]


def _load_with_zeep(text: bytes) -> None:
    from zeep.wsdl import Document

    from smsc_soap._soap.wsdl import zeep_settings

    class NoNetwork:
        def load(self, url: str) -> bytes:
            raise AssertionError(url)

    document = Document(io.BytesIO(text), NoNetwork(), base=None, settings=zeep_settings())  # type: ignore[arg-type]
    assert "ServiceSoap" in str(list(document.bindings))


def test_served_wsdl_is_the_published_contract(smsc_emulator: EmulatorServer) -> None:
    """By default ?wsdl has no apikey, requires login and psw, and zeep loads it."""
    text = requests.get(smsc_emulator.wsdl_url, timeout=10).content
    assert _wsdl_children(text, "balance") == [("login", None), ("psw", None)]
    assert "sms_cnt" not in _type_children(text, "StatusResponseType")
    assert _type_children(text, "Error") == ["phone", "status"]
    _load_with_zeep(text)


def test_served_wsdl_of_the_richer_variants(
    smsc_emulator_factory: Callable[..., EmulatorServer],
) -> None:
    """apikey_element serves our cached WSDL's apikey; documented_fields adds sms_cnt and op=1 data."""
    server = smsc_emulator_factory(apikey_element=True, documented_fields=True)
    text = requests.get(server.wsdl_url, timeout=10).content
    assert _wsdl_children(text, "balance") == [("login", "0"), ("psw", "0"), ("apikey", "0")]
    status_fields = _type_children(text, "Status2ResponseType")
    assert status_fields[status_fields.index("message") + 1] == "sms_cnt"
    assert _type_children(text, "Error") == ["phone", "status", "mcc", "mnc", "cost", "error"]
    _load_with_zeep(text)


STATUS_ALL_1 = envelope("status", f"{CREDS}<phone>{PHONE}</phone><id>5</id><all>1</all>")
SEND_OP_1 = envelope(
    "send2",
    f"{CREDS}<phones>{PHONE},70000000022</phones><mes>m</mes><id>5</id><query>op=1</query>",
)


def test_documented_fields_only_in_their_mode(
    smsc_emulator: EmulatorServer, smsc_emulator_factory: Callable[..., EmulatorServer]
) -> None:
    """sms_cnt (all=1) and the op=1 details are written only with documented_fields=True."""
    rich = smsc_emulator_factory(documented_fields=True)
    replies = {}
    for name, server in (("published", smsc_emulator), ("documented", rich)):
        errors = post(server, SEND_OP_1).findall("errors")
        replies[name] = ([[c.tag for c in e] for e in errors], post(server, STATUS_ALL_1))
    published_errors, published_status = replies["published"]
    assert published_errors == [["phone", "status"], ["phone", "status"]]
    assert published_status.find("sms_cnt") is None
    documented_errors, documented_status = replies["documented"]
    assert documented_errors == [["phone", "status", "mcc", "mnc", "cost", "error"]] * 2
    assert documented_status.findtext("sms_cnt") == "1"
    tags = [child.tag for child in documented_status]
    assert tags[tags.index("message") + 1] == "sms_cnt"


@pytest.mark.parametrize("smsc_emulator_options", [{}, {"documented_fields": True}])
def test_client_works_against_both_status_replies(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, smsc_emulator_options: dict[str, Any]
) -> None:
    """The client sends and reads a full status against either contract variant."""
    assert smsc_emulator.documented_fields == bool(smsc_emulator_options)
    sent = smsc_client.send_sms2(PHONE, "hello")
    smsc_emulator.advance(10)
    status = smsc_client.get_status(sent.id, PHONE, all=1)
    assert status.message == "hello"


def test_unknown_fixture_option_is_refused() -> None:
    """A misspelt emulator option (marker, parametrisation or factory) names the allowed ones."""
    from smsc_soap.pytest_plugin import _options

    with pytest.raises(
        TypeError, match="apikey_elemnt; allowed: apikey_element, documented_fields"
    ):
        _options({"apikey_elemnt": True})


def _call(app: SoapApp, method: str, path: str, ip: str, query: str = "") -> tuple[str, bytes]:
    captured: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": ip,
        "CONTENT_LENGTH": "0",
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(app(environ, lambda status, headers: captured.append(status)))
    return captured[0], body


def test_admin_paths_answer_only_local_posts() -> None:
    """POST /emulator/unblock lifts blocks from 127.0.0.1; other hosts get 403, GET gets 405."""
    emulator = Emulator([default_account()], clock=ManualClock())
    app = SoapApp(emulator)
    for _ in range(5):
        with pytest.raises(BadCredentials):
            emulator.handle("get_balance", {"login": "test", "psw": "wrong"}, "10.1.1.1")
    assert list(emulator.blocked()) == ["10.1.1.1"]
    assert _call(app, "POST", "/emulator/unblock", "10.1.1.1")[0].startswith("403")
    assert _call(app, "GET", "/emulator/unblock", "127.0.0.1")[0].startswith("405")
    status, body = _call(app, "POST", "/emulator/unblock", "127.0.0.1", "ip=10.1.1.1")
    assert status.startswith("200") and b"10.1.1.1" in body
    assert emulator.blocked() == {}


def test_admin_click_path_follows_a_link(smsc_emulator: EmulatorServer) -> None:
    """POST /emulator/click?id=&phone= gives a delivered tinyurl message status 4."""
    body = envelope(
        "send2",
        f"{CREDS}<phones>{PHONE}</phones><mes>go https://a.example/x</mes><id>c1</id>"
        "<query>tinyurl=1</query>",
    )
    post(smsc_emulator, body)
    admin = smsc_emulator.url.replace("/sys/soap.php", "/emulator/click")
    early = requests.post(admin, params={"id": "c1", "phone": PHONE}, timeout=10)
    assert early.status_code == 409
    smsc_emulator.advance(10)
    assert requests.post(admin, params={"id": "c1", "phone": PHONE}, timeout=10).ok
    status = post(smsc_emulator, envelope("status", f"{CREDS}<phone>{PHONE}</phone><id>c1</id>"))
    assert status.findtext("status") == "4"


def test_bounded_log_keeps_the_last_n_and_cuts_junk() -> None:
    """log_limit keeps the last N records; junk bodies are cut to log_body_limit bytes."""
    emulator = Emulator([default_account()], clock=ManualClock())
    with EmulatorServer(emulator, log_limit=3, log_body_limit=10) as server:
        for index in range(5):
            requests.post(server.url, data=b"junk" * 100 + str(index).encode(), timeout=10)
        requests.post(server.url, data=envelope("balance", CREDS), timeout=10)
        records = server.requests
    assert len(records) == 3
    assert [len(r.body) for r in records[:2]] == [10, 10]
    assert records[0].truncated == 391
    assert records[2].operation == "get_balance" and records[2].body == envelope("balance", CREDS)


def test_fixture_log_keeps_full_bodies(smsc_emulator: EmulatorServer) -> None:
    """The pytest fixture's log keeps every body in full."""
    junk = b"x" * 100_000
    requests.post(smsc_emulator.url, data=junk, timeout=10)
    assert smsc_emulator.requests[-1].body == junk


def test_log_line_names_operation_login_outcome_and_reason() -> None:
    """format_record writes one line with the operation, login, error and the model's reason."""
    record = RequestRecord(
        "send_sms2",
        "alex",
        b"",
        0.0,
        "POST",
        "127.0.0.1",
        error=6,
        reason="sender 'MyShop' is not registered",
    )
    line = format_record(record)
    assert "send_sms2 login=alex -> error 6: sender 'MyShop' is not registered" in line
    assert "\n" not in line


def test_contract_describes_itself() -> None:
    """The contract variant names itself for logs and reprs."""
    assert Contract().describe() == "published contract"
    assert "apikey" in Contract(apikey_element=True).describe()
    server = EmulatorServer(Emulator([default_account(Decimal(1))]), documented_fields=True)
    assert "documented reply fields" in repr(server)


def test_request_record_repr_hides_the_body(smsc_emulator: EmulatorServer) -> None:
    """A logged request's repr leaves out the body, which carries the password."""
    post(smsc_emulator, envelope("balance", CREDS))
    [record] = smsc_emulator.requests
    assert b"test-password" in record.body
    assert "test-password" not in repr(record) and "get_balance" in repr(record)
