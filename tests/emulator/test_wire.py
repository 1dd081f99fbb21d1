"""The emulator's wire format over real HTTP, with raw envelopes: exact replies and exact Faults."""

from __future__ import annotations

import requests
from lxml import etree

from smsc_soap.emulator import Emulator, EmulatorServer, default_account

NS = "https://smsc.ru/sys/soap.php"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
)
TAIL = "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"


def envelope(element: str, inner: str, namespace: str = NS) -> bytes:
    """A request envelope as PHP's SoapClient writes it."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{namespace}"><SOAP-ENV:Body>'
        f"<ns1:{element}>{inner}</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def fault(code: str, text: str) -> str:
    """A SOAP Fault exactly as PHP's SoapServer writes it."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        f"<faultcode>SOAP-ENV:{code}</faultcode><faultstring>{text}</faultstring>"
        f"</SOAP-ENV:Fault>{TAIL}"
    )


CREDS = "<login>test</login><psw>test-password</psw>"


def post(server: EmulatorServer, body: bytes) -> requests.Response:
    """POST ``body`` to the emulator as zeep would."""
    return requests.post(
        server.url,
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}"'},
        timeout=10,
    )


def test_balance_reply_is_byte_exact(smsc_emulator: EmulatorServer) -> None:
    """A balance reply is PHP's exact shape, with the text/xml content type."""
    response = post(smsc_emulator, envelope("balance", CREDS))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text == (
        f"{HEAD}<ns1:BalanceResponse><balanceresult><balance>1000.00</balance>"
        f"</balanceresult></ns1:BalanceResponse>{TAIL}"
    )


def test_send2_reply_fields_in_wsdl_order(smsc_emulator: EmulatorServer) -> None:
    """A send2 reply lists id, balance, cost, cnt, then errors, leaving unset fields out."""
    inner = (
        f"{CREDS}<phones>79991234567,70000000022</phones><mes>Hello world!</mes><id>101</id>"
        "<sender></sender><time>0</time><query>cost=3&amp;err=1</query>"
    )
    response = post(smsc_emulator, envelope("send2", inner))
    assert response.text == (
        f"{HEAD}<ns1:Send2Response><sendresult><id>101</id><balance>998.05</balance>"
        "<cost>1.95</cost><cnt>1</cnt><errors><phone>70000000022</phone><status>22</status>"
        f"</errors></sendresult></ns1:Send2Response>{TAIL}"
    )


def test_error_reply_carries_only_the_error(smsc_emulator: EmulatorServer) -> None:
    """An auth error reply has only the error field."""
    response = post(smsc_emulator, envelope("send", "<login>test</login><psw>x</psw>"))
    assert response.status_code == 200
    assert response.text == (
        f"{HEAD}<ns1:SendResponse><sendresult><error>2</error></sendresult>"
        f"</ns1:SendResponse>{TAIL}"
    )


def test_send_error_6_carries_the_id(smsc_emulator: EmulatorServer) -> None:
    """Send errors 3, 6, 7, 8 carry the id before the error (WSDL order)."""
    inner = f"{CREDS}<phones>79991234567</phones><mes>hi</mes><id>77</id><sender>Nope</sender>"
    response = post(smsc_emulator, envelope("send", inner))
    assert "<sendresult><id>77</id><error>6</error></sendresult>" in response.text


def test_other_hosts_namespace_is_a_php_fault(smsc_emulator: EmulatorServer) -> None:
    """A body element in smsc.ua's namespace sent to a smsc.ru emulator is PHP's Fault, HTTP 500."""
    response = post(smsc_emulator, envelope("send2", CREDS, "http://smsc.ua/sys/soap.php"))
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text == fault("Server", "Procedure 'send2' not present")


def test_unknown_element_is_a_php_fault(smsc_emulator: EmulatorServer) -> None:
    """An element that names no operation is the same Fault."""
    response = post(smsc_emulator, envelope("delete", CREDS))
    assert (response.status_code, response.text) == (
        500,
        fault("Server", "Procedure 'delete' not present"),
    )


def test_malformed_xml_is_bad_request_fault(smsc_emulator: EmulatorServer) -> None:
    """A body that is not XML is a Client Fault 'Bad Request'."""
    response = post(smsc_emulator, b"<SOAP-ENV:Envelope><oops")
    assert (response.status_code, response.text) == (500, fault("Client", "Bad Request"))


def test_dtd_is_refused(smsc_emulator: EmulatorServer) -> None:
    """A request with a DTD (an entity-expansion attempt) is refused, and the entity is not expanded."""
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY big "AAAAAAAAAAAAAAAA">]>' + envelope(
        "balance", "<login>&big;</login><psw>x</psw>"
    )
    response = post(smsc_emulator, body)
    assert (response.status_code, response.text) == (
        500,
        fault("Client", "DTD are not supported by SOAP"),
    )
    assert [r.operation for r in smsc_emulator.requests] == [None]


def test_not_an_envelope_and_wrong_version(smsc_emulator: EmulatorServer) -> None:
    """XML without Envelope and a SOAP 1.2 envelope get PHP's Faults."""
    response = post(smsc_emulator, b"<balance/>")
    assert response.text == fault("Client", 'looks like we got XML without "Envelope" element')
    soap12 = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
    assert post(smsc_emulator, soap12).text == fault("VersionMismatch", "Wrong Version")


def test_empty_post_and_plain_get(smsc_emulator: EmulatorServer) -> None:
    """An empty POST and a GET without ?wsdl get the 'Bad Request' Server Fault."""
    expected = fault("Server", "Bad Request. Can't find HTTP_RAW_POST_DATA")
    assert post(smsc_emulator, b"").text == expected
    response = requests.get(smsc_emulator.url, timeout=10)
    assert (response.status_code, response.text) == (500, expected)


def test_qualified_children_are_accepted(smsc_emulator: EmulatorServer) -> None:
    """Namespace-qualified children (<ns1:login>) are read like unqualified ones."""
    inner = "<ns1:login>test</ns1:login><ns1:psw>test-password</ns1:psw>"
    assert "<balance>1000.00</balance>" in post(smsc_emulator, envelope("balance", inner)).text


def test_wsdl_is_served_with_own_address(smsc_emulator: EmulatorServer) -> None:
    """GET ?wsdl returns our WSDL whose soap:address is the emulator itself."""
    response = requests.get(smsc_emulator.wsdl_url, timeout=10)
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address is not None and address.get("location") == smsc_emulator.url
    assert root.get("targetNamespace") == NS


def test_host_preset_changes_namespace_everywhere() -> None:
    """An emulator for smsc.ua serves its namespace in the WSDL and in replies, and refuses smsc.ru's."""
    ua = "http://smsc.ua/sys/soap.php"
    with EmulatorServer(Emulator([default_account()], host="smsc.ua")) as server:
        wsdl = requests.get(server.wsdl_url, timeout=10).text
        assert f'targetNamespace="{ua}"' in wsdl and NS not in wsdl
        reply = post(server, envelope("balance", CREDS, ua)).text
        assert f'xmlns:ns1="{ua}"' in reply and "<balance>1000.00</balance>" in reply
        assert post(server, envelope("balance", CREDS)).status_code == 500


def test_custom_wsdl_text_is_served_verbatim() -> None:
    """wsdl= makes the emulator serve a caller-supplied contract (for drift tests)."""
    with EmulatorServer(wsdl="<definitions>changed</definitions>") as server:
        assert (
            requests.get(server.wsdl_url, timeout=10).text == "<definitions>changed</definitions>"
        )


def test_other_paths_are_404(smsc_emulator: EmulatorServer) -> None:
    """Only /sys/soap.php is served."""
    url = smsc_emulator.url.replace("/sys/soap.php", "/other")
    assert requests.get(url, timeout=10).status_code == 404


def test_status_reply_for_all_2(smsc_emulator: EmulatorServer) -> None:
    """A status reply with all=2 has the 13 fields (no error) in WSDL order."""
    post(
        smsc_emulator,
        envelope("send", f"{CREDS}<phones>79991234567</phones><mes>m</mes><id>5</id>"),
    )
    smsc_emulator.advance(6)
    text = post(
        smsc_emulator,
        envelope("status", f"{CREDS}<phone>79991234567</phone><id>5</id><all>2</all>"),
    ).text
    root = etree.fromstring(text.encode())
    result = root.find(f".//{{{NS}}}StatusResponse/statusresult")
    assert result is not None
    assert [child.tag for child in result] == [
        "status",
        "last_date",
        "last_timestamp",
        "err",
        "send_date",
        "send_timestamp",
        "phone",
        "cost",
        "sender_id",
        "status_name",
        "message",
        "operator",
        "region",
    ]
    assert result.findtext("status") == "1"
