"""Helpers for exact wire tests: PHP SoapServer-style replies and XML normalisation."""

from __future__ import annotations

from lxml import etree

NS = "https://smsc.ru/sys/soap.php"

RESPONSE_ELEMENT = {
    "send_sms": ("SendResponse", "sendresult"),
    "send_sms2": ("Send2Response", "sendresult"),
    "get_sms_cost": ("CostResponse", "costresult"),
    "get_sms_cost2": ("Cost2Response", "costresult"),
    "get_status": ("StatusResponse", "statusresult"),
    "get_status2": ("Status2Response", "statusresult"),
    "get_balance": ("BalanceResponse", "balanceresult"),
}


def php_reply(operation: str, inner: str, namespace: str = NS) -> str:
    """A reply shaped exactly like PHP's SoapServer writes it (SOAP-ENV prefix, ns1, no whitespace)."""
    element, result = RESPONSE_ELEMENT[operation]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:ns1="{namespace}"><SOAP-ENV:Body><ns1:{element}><{result}>{inner}</{result}>'
        f"</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )


def php_fault(code: str, text: str) -> str:
    """A SOAP Fault as PHP's SoapServer writes it."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{text}</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )


def canonical(xml: bytes | str) -> str:
    """XML after normalisation: whitespace between elements dropped, then exclusive C14N."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser)
    return etree.tostring(root, method="c14n", exclusive=True).decode("utf-8")
