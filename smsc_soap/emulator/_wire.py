"""The wire layer: SOAP 1.1 in, SOAP 1.1 out, the way PHP's SoapServer (what soap.php runs) does it.

Requests are parsed with lxml with DTDs, entities and network access off; the body element picks the
operation and must carry the host's namespace; children are read by local name, so qualified ones are
accepted too, and children the served contract does not declare are dropped, as PHP's SoapServer drops
them (see :mod:`._contract`). Replies are written as PHP writes them: ``SOAP-ENV`` and ``ns1`` prefixes,
unqualified result fields, fields left unset or undeclared omitted. Everything is served by one WSGI
app, :class:`SoapApp`, which also answers two admin paths from the local machine:
``POST /emulator/unblock[?ip=A.B.C.D]`` lifts IP blocks and ``POST /emulator/click?id=ID&phone=PHONE``
follows a ``tinyurl`` link.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from lxml import etree

from ._contract import STATUS_FIELDS, Contract, served_wsdl
from ._errors import RequestError
from ._faults import ConnectionDropped, FaultPlan, Faults
from ._model import Emulator, Reply

__all__ = [
    "RequestRecord",
    "SoapApp",
    "format_record",
    "make_app",
    "parse_request",
    "render_fault",
    "render_reply",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/sys/soap.php"
ADMIN = "/emulator/"
MAX_BODY = 4 * 1024 * 1024
#: In a bounded request log, SOAP bodies are kept up to this many bytes.
MAX_LOGGED_SOAP = 64 * 1024

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
    "status": _Operation("get_status", "StatusResponse", "statusresult", STATUS_FIELDS),
    "status2": _Operation("get_status2", "Status2Response", "statusresult", STATUS_FIELDS),
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
    """One request the emulator saw: operation (WSDL name, None if not a SOAP call), login, body, time.

    ``error`` is the reply's error code (None: success or not a SOAP call), ``reason`` what the model
    said about it, ``ignored`` the request's children the contract does not declare (dropped), and
    ``truncated`` how many bytes of the body a bounded log left out.
    """

    operation: str | None
    login: str | None
    body: bytes = field(repr=False)  # holds the password or key of the request
    time: float
    method: str
    remote_addr: str
    fault: str | None = None
    error: int | None = None
    reason: str | None = None
    ignored: tuple[str, ...] = ()
    truncated: int = 0


def format_record(record: RequestRecord) -> str:
    """Return one log line for ``record``: time, client, operation, login, outcome and reason."""
    stamp = time.strftime("%H:%M:%S", time.localtime(record.time))
    who = f"login={record.login}" if record.login else "login=-"
    if record.operation is None:
        outcome = f"SOAP fault: {record.fault}" if record.fault else "not a SOAP call"
        return f"{stamp} {record.remote_addr} {record.method} - {outcome}"
    if record.operation == "wsdl":
        return f"{stamp} {record.remote_addr} GET ?wsdl"
    if record.error is None:
        outcome = "ok" + (f": {record.reason}" if record.reason else "")
    else:
        outcome = f"error {record.error}" + (f": {record.reason}" if record.reason else "")
    line = f"{stamp} {record.remote_addr} {record.operation} {who} -> {outcome}"
    if record.ignored:
        names = ", ".join(f"<{name}>" for name in record.ignored)
        line += f" (ignored undeclared {names})"
    return line


def render_reply(
    namespace: str, operation: _Operation, reply: Reply, contract: Contract | None = None
) -> bytes:
    """Return the SOAP reply for a successful or failed request, as PHP's SoapServer writes it.

    Only the fields ``contract`` declares are written, in its order (the published contract by default).
    """
    contract = contract if contract is not None else Contract()
    parts = [
        _XML_DECL,
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{escape(namespace)}">',
        f"<SOAP-ENV:Body><ns1:{operation.response}><{operation.result}>",
    ]
    fields = reply.fields
    names = contract.status_fields if operation.fields is STATUS_FIELDS else operation.fields
    for name in names:
        value = fields.get(name)
        if value is not None:
            parts.append(f"<{name}>{escape(value, _ENTITIES)}</{name}>")
    if operation.name == "send_sms2":
        for report in reply.errors:
            parts.append("<errors>")
            for name in contract.error_fields:
                value = getattr(report, name)
                if value is not None:
                    parts.append(f"<{name}>{escape(value, _ENTITIES)}</{name}>")
            parts.append("</errors>")
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


def parse_request(
    body: bytes, namespace: str, contract: Contract | None = None
) -> tuple[_Operation, dict[str, str], tuple[str, ...]]:
    """Return the operation, the declared fields and the names of the dropped undeclared children.

    Raises the Fault PHP would send for a request it cannot dispatch.
    """
    contract = contract if contract is not None else Contract()
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
    declared = contract.request_children(qname.localname)
    fields: dict[str, str] = {}
    ignored: list[str] = []
    for child in wrapper:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            if name in declared:
                fields[name] = child.text or ""
            elif name not in ignored:
                ignored.append(name)
    return operation, fields, tuple(ignored)


class SoapApp:
    """The emulator's WSGI app: serves ``?wsdl`` and the seven operations at ``/sys/soap.php``.

    ``contract`` says which WSDL variant the app speaks (the published one by default). The request
    log keeps every request with its full body (``log_limit=None``, what the pytest fixtures use), or
    only the last ``log_limit`` requests, with junk bodies cut to ``log_body_limit`` bytes and SOAP
    bodies to 64 KiB (what ``smsc-soap serve`` uses). ``on_request`` is called with each record.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        wsdl: str | None = None,
        latency_ms: int = 0,
        contract: Contract | None = None,
        log_limit: int | None = None,
        log_body_limit: int = 1024,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if log_limit is not None and log_limit < 0:
            raise ValueError("log_limit must be 0 or more (or None to keep every request)")
        if log_body_limit < 0:
            raise ValueError("log_body_limit must be 0 or more bytes")
        self.emulator = emulator
        self.wsdl = wsdl
        self.latency_ms = latency_ms
        self.contract = contract if contract is not None else Contract()
        self.log_limit = log_limit
        self.log_body_limit = log_body_limit
        self.on_request = on_request
        self.faults = Faults()
        self.requests: deque[RequestRecord] = deque(maxlen=log_limit)
        self.errors: list[BaseException] = []
        self._log_lock = threading.Lock()
        # Requests in progress and those waiting (latency, hold); a pause waits for none in progress.
        self._gate = threading.Condition()
        self._generation = 0
        self._active = 0
        self._held = 0
        self._releases = 0
        self._paused = False

    def reset(self) -> None:
        """Clear the request log, the stored errors and the fault plans."""
        with self._log_lock:
            self.requests = deque(maxlen=self.log_limit)
            self.errors = []
        self.faults.clear()

    # ----- requests from before a reset never reach the state after it ---------------------------

    @contextmanager
    def paused(self, drain_timeout: float = 10.0) -> Iterator[None]:
        """Abandon every waiting request, wait for those in progress, and hold new ones meanwhile.

        A request waiting on latency or a hold plan when the pause starts is dropped without a reply
        and never processed, so a request a client gave up on cannot land in the state (rate windows,
        concurrency counts, messages) of whatever comes after :meth:`EmulatorServer.reset`.
        """
        with self._gate:
            while self._paused:
                self._gate.wait()
            self._paused = True
            self._generation += 1
            self._gate.notify_all()
            self._gate.wait_for(lambda: self._active == 0, timeout=drain_timeout)
        try:
            yield
        finally:
            with self._gate:
                self._paused = False
                self._gate.notify_all()

    def abandon(self) -> None:
        """Drop every request waiting on latency or a hold plan (the server is stopping)."""
        with self._gate:
            self._generation += 1
            self._gate.notify_all()

    @property
    def held(self) -> int:
        """How many requests wait on a hold plan now."""
        with self._gate:
            return self._held

    def wait_held(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` requests wait on a hold plan; False on timeout."""
        with self._gate:
            return self._gate.wait_for(lambda: self._held >= count, timeout=timeout)

    def release(self) -> int:
        """Let every request waiting on a hold plan go on; return how many there were."""
        with self._gate:
            released = self._held
            self._releases += 1
            self._gate.notify_all()
            return released

    def _enter(self) -> int:
        with self._gate:
            while self._paused:
                self._gate.wait()
            self._active += 1
            return self._generation

    def _leave(self) -> None:
        with self._gate:
            self._active -= 1
            self._gate.notify_all()

    def _wait(self, generation: int, seconds: float | None) -> None:
        """Wait ``seconds`` (None: until :meth:`release`); a pause or stop drops the request."""
        with self._gate:
            releases = self._releases
            if seconds is None:
                self._held += 1
                self._gate.notify_all()
            try:
                self._gate.wait_for(
                    lambda: (
                        self._generation != generation
                        or (seconds is None and self._releases != releases)
                    ),
                    timeout=seconds,
                )
            finally:
                if seconds is None:
                    self._held -= 1
            if self._generation != generation:
                raise ConnectionDropped

    def __call__(
        self, environ: Mapping[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Answer one WSGI request."""
        generation = self._enter()
        try:
            status, headers, body = self._respond(environ, generation)
        except ConnectionDropped:
            raise
        except Exception as exc:  # a bug in the emulator: keep it for check(), answer like PHP
            with self._log_lock:
                self.errors.append(exc)
            status, headers, body = _fault_response("Server", "Internal Server Error")
        finally:
            self._leave()
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _log(self, record: RequestRecord, *, final: bool = True) -> RequestRecord:
        """Append ``record`` to the log (``final``: also report it to ``on_request``)."""
        if self.log_limit is not None:
            keep = self.log_body_limit if record.operation is None else MAX_LOGGED_SOAP
            if len(record.body) > keep:
                record = dataclasses.replace(
                    record, body=record.body[:keep], truncated=len(record.body) - keep
                )
        with self._log_lock:
            self.requests.append(record)
        if final and self.on_request is not None:
            self.on_request(record)
        return record

    def _complete(self, logged: RequestRecord, **outcome: Any) -> None:
        """Fill in the outcome of a request logged on arrival, and report it to ``on_request``."""
        record = dataclasses.replace(logged, **outcome)
        with self._log_lock:
            requests = self.requests
            for index in range(len(requests) - 1, -1, -1):
                if requests[index] is logged:
                    requests[index] = record
                    break
        if self.on_request is not None:
            self.on_request(record)

    def _respond(
        self, environ: Mapping[str, Any], generation: int
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        ip = str(environ.get("REMOTE_ADDR", ""))
        if path.startswith(ADMIN):
            return self._admin(method, path, ip, environ.get("QUERY_STRING", ""))
        if path != PATH:
            return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
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
            operation, fields, ignored = parse_request(body, self.emulator.namespace, self.contract)
        except _Fault as fault:
            self._log(RequestRecord(None, None, body, now, method, ip, fault.string))
            plan = self.faults.take(None)
            if plan is not None:
                return self._before(plan) or _fault_response(fault.code, fault.string)
            return _fault_response(fault.code, fault.string)
        # Logged on arrival, so a test sees the request even while it is being processed.
        logged = self._log(
            RequestRecord(
                operation.name, fields.get("login") or None, body, now, method, ip, ignored=ignored
            ),
            final=False,
        )
        plan = self.faults.take(operation.name)
        if plan is not None and not plan.after_processing:
            if plan.kind == "drop_connection":
                self._complete(logged, reason="fault plan: connection dropped")
            early = self._before(plan)
            if early is not None:
                self._complete(logged, reason=f"fault plan: {plan.kind}")
                return early
        with self.emulator.in_flight(fields) as crowded:
            if plan is not None and plan.kind == "hold":
                self._wait(generation, None)
            delay = self.latency_ms + (plan.latency_ms if plan is not None else 0)
            if delay > 0:
                self._wait(generation, delay / 1000)
            try:
                reply = self.emulator.handle(operation.name, fields, ip, crowded=crowded)
                self._complete(logged, reason=_summary(reply))
            except RequestError as error:
                reply = Reply({"error": str(error.code), **({"id": error.id} if error.id else {})})
                reason = error.reason
                if ignored and error.code == 2:
                    reason += (
                        "; the served WSDL declares no "
                        + ", ".join(f"<{name}>" for name in ignored)
                        + ", so it was ignored (send apikey= inside query, or serve with "
                        "--apikey-element)"
                    )
                self._complete(logged, error=error.code, reason=reason)
        payload = render_reply(self.emulator.namespace, operation, reply, self.contract)
        if plan is not None and plan.after_processing:
            return self._after(plan, payload)
        return "200 OK", [("Content-Type", "text/xml; charset=utf-8")], payload

    def _admin(
        self, method: str, path: str, ip: str, query_string: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """The admin paths: only POST, only from the local machine."""
        text = [("Content-Type", "text/plain; charset=utf-8")]
        try:
            local = ipaddress.ip_address(ip).is_loopback
        except ValueError:
            local = False
        if not local:
            return "403 Forbidden", text, b"the emulator's admin paths answer only 127.0.0.1\n"
        if method != "POST":
            return "405 Method Not Allowed", [("Allow", "POST"), *text], b"use POST\n"
        params = dict(parse_qsl(query_string, keep_blank_values=True))
        if path == ADMIN + "unblock":
            freed = self.emulator.unblock(params.get("ip") or None)
            return "200 OK", text, ("unblocked: " + (", ".join(freed) or "none") + "\n").encode()
        if path == ADMIN + "click":
            try:
                self.emulator.click_link(params.get("id", ""), params.get("phone", ""))
            except ValueError as error:
                return "409 Conflict", text, f"{error}\n".encode()
            return "200 OK", text, b"link followed: status 4\n"
        return "404 Not Found", text, b"admin paths: /emulator/unblock, /emulator/click\n"

    @staticmethod
    def _before(plan: FaultPlan) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The reply a fault plan gives instead of processing (None: process normally)."""
        if plan.kind in ("latency", "hold"):
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
        if plan.kind in ("latency", "hold"):
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
        address = f"{scheme}://{host}{PATH}"
        return served_wsdl(self.emulator.namespace, address, self.contract).encode("utf-8")


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


def make_app(
    emulator: Emulator,
    *,
    wsdl: str | None = None,
    latency_ms: int = 0,
    apikey_element: bool = False,
    documented_fields: bool = False,
) -> SoapApp:
    """Return the WSGI app serving ``emulator`` (``wsdl``: serve this text instead of ours)."""
    contract = Contract(apikey_element=apikey_element, documented_fields=documented_fields)
    return SoapApp(emulator, wsdl=wsdl, latency_ms=latency_ms, contract=contract)


def _summary(reply: Reply) -> str:
    """A short description of a successful reply for the request log."""
    fields = reply.fields
    if "id" in fields:
        return f"id={fields['id']} cnt={fields.get('cnt', '?')}"
    if "status" in fields:
        return f"status={fields['status']} err={fields.get('err', '0')}"
    if "cnt" in fields:
        return f"cost={fields.get('cost')} cnt={fields['cnt']}"
    return "balance read"
