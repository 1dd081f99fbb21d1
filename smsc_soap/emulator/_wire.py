"""The wire layer: SOAP 1.1 in, SOAP 1.1 out, the way PHP's SoapServer (what soap.php runs) does it.

Requests are parsed with lxml with DTDs, entities and network access off; the body element picks the
operation and must carry the host's namespace; children are read by local name, so qualified ones are
accepted too. Replies are written as PHP writes them: ``SOAP-ENV`` and ``ns1`` prefixes, unqualified
result fields, fields left unset omitted. Everything is served by one WSGI app, :class:`SoapApp`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from lxml import etree

from .._soap.wsdl import wsdl_text
from ._errors import RequestError
from ._faults import ConnectionDropped, FaultPlan, Faults
from ._model import Emulator, Reply

__all__ = ["RequestRecord", "SoapApp", "make_app", "render_fault", "render_reply"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/sys/soap.php"
MAX_BODY = 4 * 1024 * 1024

_STATUS_FIELDS = (
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
_SEND_FIELDS = ("id", "balance", "cost", "cnt", "error")
_COST_FIELDS = ("cost", "cnt", "error")


@dataclass(frozen=True, slots=True)
class _Operation:
    name: str
    response: str
    result: str
    fields: tuple[str, ...]


# Body element -> the WSDL operation, its response element, result element and result fields in order.
_OPERATIONS = {
    "send": _Operation("send_sms", "SendResponse", "sendresult", _SEND_FIELDS),
    "send2": _Operation("send_sms2", "Send2Response", "sendresult", _SEND_FIELDS),
    "cost": _Operation("get_sms_cost", "CostResponse", "costresult", _COST_FIELDS),
    "cost2": _Operation("get_sms_cost2", "Cost2Response", "costresult", _COST_FIELDS),
    "status": _Operation("get_status", "StatusResponse", "statusresult", _STATUS_FIELDS),
    "status2": _Operation("get_status2", "Status2Response", "statusresult", _STATUS_FIELDS),
    "balance": _Operation("get_balance", "BalanceResponse", "balanceresult", ("balance", "error")),
}

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_ENTITIES = {"\r": "&#13;"}


class _Fault(Exception):
    def __init__(self, code: str, string: str) -> None:
        super().__init__(string)
        self.code = code
        self.string = string


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the emulator saw: operation (WSDL name, None if not a SOAP call), login, body, time."""

    operation: str | None
    login: str | None
    body: bytes
    time: float
    method: str
    remote_addr: str
    fault: str | None = None


def render_reply(namespace: str, operation: _Operation, reply: Reply) -> bytes:
    """Return the SOAP reply for a successful or failed request, as PHP's SoapServer writes it."""
    parts = [
        _XML_DECL,
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{escape(namespace)}">',
        f"<SOAP-ENV:Body><ns1:{operation.response}><{operation.result}>",
    ]
    fields = reply.fields
    for name in operation.fields:
        value = fields.get(name)
        if value is not None:
            parts.append(f"<{name}>{escape(value, _ENTITIES)}</{name}>")
    for phone, status in reply.errors:
        parts.append(
            f"<errors><phone>{escape(phone, _ENTITIES)}</phone><status>{status}</status></errors>"
        )
    parts.append(
        f"</{operation.result}></ns1:{operation.response}></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )
    return "".join(parts).encode("utf-8")


def render_fault(code: str, string: str) -> bytes:
    """Return a SOAP 1.1 Fault envelope with ``SOAP-ENV:<code>`` and ``string``."""
    return (
        f'{_XML_DECL}<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}"><SOAP-ENV:Body>'
        f"<SOAP-ENV:Fault><faultcode>SOAP-ENV:{code}</faultcode>"
        f"<faultstring>{escape(string)}</faultstring></SOAP-ENV:Fault>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    ).encode()


_parsers = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _parsers.parser = parser
    return parser


def parse_request(body: bytes, namespace: str) -> tuple[_Operation, dict[str, str]]:
    """Return the operation and the fields of a SOAP request, or raise the Fault PHP would send."""
    if not body.strip():
        raise _Fault("Server", "Bad Request. Can't find HTTP_RAW_POST_DATA")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError:
        raise _Fault("Client", "Bad Request") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise _Fault("Client", "DTD are not supported by SOAP")
    if etree.QName(root).localname != "Envelope":
        raise _Fault("Client", 'looks like we got XML without "Envelope" element')
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise _Fault("VersionMismatch", "Wrong Version")
    body_element = root.find(f"{{{SOAP_ENV}}}Body")
    if body_element is None:
        raise _Fault("Client", "Body must be present in a SOAP envelope")
    wrapper = next((child for child in body_element if isinstance(child.tag, str)), None)
    if wrapper is None:
        raise _Fault("Client", "Body must hold the request element")
    qname = etree.QName(wrapper)
    operation = _OPERATIONS.get(qname.localname)
    if operation is None or qname.namespace != namespace:
        raise _Fault("Server", f"Procedure '{qname.localname}' not present")
    fields: dict[str, str] = {}
    for child in wrapper:
        if isinstance(child.tag, str):
            fields[etree.QName(child).localname] = child.text or ""
    return operation, fields


class SoapApp:
    """The emulator's WSGI app: serves ``?wsdl`` and the seven operations at ``/sys/soap.php``."""

    def __init__(self, emulator: Emulator, *, wsdl: str | None = None, latency_ms: int = 0) -> None:
        self.emulator = emulator
        self.wsdl = wsdl
        self.latency_ms = latency_ms
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.errors: list[BaseException] = []
        self._log_lock = threading.Lock()

    def reset(self) -> None:
        """Clear the request log, the stored errors and the fault plans."""
        with self._log_lock:
            self.requests = []
            self.errors = []
        self.faults.clear()

    def __call__(
        self, environ: Mapping[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Answer one WSGI request."""
        try:
            status, headers, body = self._respond(environ)
        except ConnectionDropped:
            raise
        except Exception as exc:  # a bug in the emulator: keep it for check(), answer like PHP
            with self._log_lock:
                self.errors.append(exc)
            status, headers, body = _fault_response("Server", "Internal Server Error")
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _log(self, record: RequestRecord) -> None:
        with self._log_lock:
            self.requests.append(record)

    def _respond(self, environ: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if path != PATH:
            return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
        ip = str(environ.get("REMOTE_ADDR", ""))
        now = time.time()
        if method == "GET":
            keys = {key.lower() for key, _ in parse_qsl(environ.get("QUERY_STRING", ""), True)}
            if "wsdl" in keys:
                self._log(RequestRecord("wsdl", None, b"", now, method, ip))
                return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], self._wsdl(environ)
        if method not in ("GET", "POST"):
            return (
                "405 Method Not Allowed",
                [("Allow", "GET, POST"), ("Content-Type", "text/plain; charset=utf-8")],
                b"method not allowed\n",
            )
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return "413 Payload Too Large", [("Content-Type", "text/plain")], b"too large\n"
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            operation, fields = parse_request(body, self.emulator.namespace)
        except _Fault as fault:
            self._log(RequestRecord(None, None, body, now, method, ip, fault.string))
            plan = self.faults.take(None)
            if plan is not None:
                return self._before(plan) or _fault_response(fault.code, fault.string)
            return _fault_response(fault.code, fault.string)
        self._log(RequestRecord(operation.name, fields.get("login"), body, now, method, ip))
        plan = self.faults.take(operation.name)
        if plan is not None and not plan.after_processing:
            early = self._before(plan)
            if early is not None:
                return early
        with self.emulator.in_flight(fields) as crowded:
            delay = self.latency_ms + (plan.latency_ms if plan is not None else 0)
            if delay > 0:
                time.sleep(delay / 1000)
            try:
                reply = self.emulator.handle(operation.name, fields, ip, crowded=crowded)
            except RequestError as error:
                reply = Reply({"error": str(error.code), **({"id": error.id} if error.id else {})})
        payload = render_reply(self.emulator.namespace, operation, reply)
        if plan is not None and plan.after_processing:
            return self._after(plan, payload)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], payload

    @staticmethod
    def _before(plan: FaultPlan) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The reply a fault plan gives instead of processing (None: process normally)."""
        if plan.kind == "latency":
            return None
        if plan.kind == "drop_connection":
            raise ConnectionDropped
        if plan.kind == "truncated_xml":
            return None
        content_type = {
            "html_error": "text/html; charset=utf-8",
            "malformed_xml": "text/xml; charset=utf-8",
        }.get(plan.kind, "text/plain; charset=utf-8")
        return _status_line(plan.http_status), [("Content-Type", content_type)], plan.body

    @staticmethod
    def _after(plan: FaultPlan, payload: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        """The reply a fault plan gives once the request was processed."""
        if plan.kind == "drop_connection":
            raise ConnectionDropped
        if plan.kind == "truncated_xml":
            return (
                "200 OK",
                [("Content-Type", "text/xml; charset=utf-8")],
                payload[: len(payload) // 2],
            )
        if plan.kind == "latency":
            return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], payload
        early = SoapApp._before(plan)
        assert early is not None
        return early

    def _wsdl(self, environ: Mapping[str, Any]) -> bytes:
        if self.wsdl is not None:
            return self.wsdl.encode("utf-8")
        host = (
            environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        )
        scheme = environ.get("wsgi.url_scheme", "http")
        return wsdl_text(self.emulator.namespace, address=f"{scheme}://{host}{PATH}").encode(
            "utf-8"
        )


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


def _fault_response(code: str, string: str) -> tuple[str, list[tuple[str, str]], bytes]:
    return (
        "500 Internal Server Error",
        [("Content-Type", "text/xml; charset=utf-8")],
        render_fault(code, string),
    )


def make_app(emulator: Emulator, *, wsdl: str | None = None, latency_ms: int = 0) -> SoapApp:
    """Return the WSGI app serving ``emulator`` (``wsdl``: serve this text instead of ours)."""
    return SoapApp(emulator, wsdl=wsdl, latency_ms=latency_ms)
