"""Envelopes in, results out: the SOAP side of a call, with no I/O, shared by the sync and async clients.

zeep's model of the cached WSDL is the single source of truth. From it, at generation time, each
operation's spec is compiled into the shipped :mod:`.compiled_spec` (``python3 dev.py compile-wsdl``;
a test keeps it equal to zeep's model), and from that spec each operation gets, once per namespace and
without importing zeep, an envelope writer (:mod:`.writer`: the exact bytes zeep's serialiser writes) and a
reply reader (:mod:`.reader`: by element name, tolerant of order and of children the WSDL does not
declare, which go to ``extra``). zeep's serialiser and reader stay as the fallback for what the compilers
do not cover (see their modules); ``Protocol(namespace, fast=False)`` uses zeep for everything.

Around the reader we check what a schema does not: the reply must be a SOAP 1.1 envelope for *this*
operation, a Fault becomes a typed error, and no text from the server reaches an exception unscrubbed.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .._exceptions import (
    Delivery,
    SmscError,
    SmscFaultError,
    SmscHttpError,
    SmscProtocolError,
)
from .._http.types import RawReply, safe_text
from .._models import BalanceResult, CostResult, SendResult, StatusResult
from .compiled_spec import SPEC
from .convert import convert
from .reader import ReplyReader, parse_reply, reader_from_spec, record_from_zeep
from .writer import EnvelopeWriter, writer_from_spec
from .wsdl import load_document, zeep_settings

__all__ = ["Protocol", "Request", "limit_key"]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_ENVELOPE = f"{{{SOAP11}}}Envelope"
_BODY = f"{{{SOAP11}}}Body"
_FAULT = f"{{{SOAP11}}}Fault"
_XML_MEDIA = frozenset({"text/xml", "application/xml", "application/soap+xml"})
#: Content-Type headers as servers send them, and their media type (others are parsed per reply).
_XML_TYPES = {
    f"{media}{params}": media
    for media in _XML_MEDIA
    for params in ("", "; charset=utf-8", "; charset=UTF-8", ";charset=utf-8", ";charset=UTF-8")
}

Result = SendResult | CostResult | StatusResult | BalanceResult


@dataclass(frozen=True, slots=True)
class Request:
    """One serialised request. Its body holds credentials, so it is kept out of the repr."""

    operation: str
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    message_id: str | None = None
    phones: str | None = None
    #: What the service's limits count this request by (from its fields, never its credentials).
    limit_key: str = field(default="", repr=False)

    @property
    def is_send(self) -> bool:
        """Whether this request can create a paid message."""
        return self.operation in {"send_sms", "send_sms2"}


class _NoTransport:
    """zeep wants a transport object; ours posts the bytes itself, so this one must never be used."""

    def post_xml(self, *args: object) -> None:  # pragma: no cover - guarded by design
        raise RuntimeError("smsc_soap posts envelopes through its own transport")

    def load(self, url: str) -> bytes:  # pragma: no cover
        raise RuntimeError("smsc_soap never fetches documents at run time")


class _Operation:
    """What we need to know about one WSDL operation, from the compiled spec (no zeep)."""

    __slots__ = ("known_fields", "name", "output_tag", "reader", "result_tag", "writer")

    def __init__(self, name: str, spec: Mapping[str, Any], namespace: str, fast: bool) -> None:
        self.name = name
        self.output_tag: str = f"{{{namespace}}}{spec['output']}"
        self.result_tag: str = spec["result"]
        self.known_fields = frozenset(spec["known"])
        writer, reader = spec["writer"], spec["reader"]
        # None: zeep writes / reads this operation.
        self.writer: EnvelopeWriter | None = (
            writer_from_spec(name, writer, namespace) if fast and writer else None
        )
        self.reader: ReplyReader | None = (
            reader_from_spec(name, self.output_tag, self.result_tag, reader)
            if fast and reader
            else None
        )


class Protocol:
    """Builds and reads the envelopes of one host's namespace; thread-safe and shared per namespace.

    The fast path (every operation of the cached WSDL) runs from the shipped compiled spec and never
    imports zeep; zeep's client is built on first need: a field the operation does not declare, text the
    writer hands back, an operation the spec does not cover. ``fast=False`` keeps zeep's serialiser and
    reader for every operation (the reference the compiled writers are tested against, and the measure
    of what the fast path saves).
    """

    def __init__(self, namespace: str, *, fast: bool = True) -> None:
        self.namespace = namespace
        self._zeep_lock = threading.Lock()
        self._zeep: tuple[Any, Any] | None = None
        self._operations = {
            name: _Operation(name, spec, namespace, fast)
            for name, spec in SPEC["operations"].items()
        }
        self._headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{namespace}"',
        }

    def _zeep_client(self) -> tuple[Any, Any]:
        """zeep's client and service for this namespace, built on first need (imports zeep)."""
        built = self._zeep
        if built is None:
            with self._zeep_lock:
                built = self._zeep
                if built is None:
                    import zeep

                    client = zeep.Client(
                        load_document(self.namespace),
                        settings=zeep_settings(),
                        transport=_NoTransport(),
                    )
                    service = client.create_service(
                        f"{{{self.namespace}}}ServiceSoap", "http://127.0.0.1/unused"
                    )
                    built = self._zeep = (client, service)
        return built

    @property
    def client(self) -> Any:
        """zeep's client for this namespace (built on first use)."""
        return self._zeep_client()[0]

    @property
    def service(self) -> Any:
        """zeep's service proxy for this namespace (built on first use)."""
        return self._zeep_client()[1]

    def zeep_operation(self, operation: str) -> Any:
        """zeep's model of ``operation`` (builds zeep's client on first use)."""
        return self.service._binding.get(operation)

    def _operation(self, name: str) -> _Operation:
        return self._operations[name]

    @property
    def compiled(self) -> dict[str, tuple[bool, bool]]:
        """Per operation: whether its envelope writer and its reply reader are compiled (not zeep)."""
        return {
            name: (op.writer is not None, op.reader is not None)
            for name, op in self._operations.items()
        }

    def writer(self, operation: str) -> EnvelopeWriter | None:
        """The compiled envelope writer of ``operation`` (``None``: zeep writes it)."""
        return self._operation(operation).writer

    def zeep_envelope(self, operation: str, values: Mapping[str, object]) -> bytes:
        """The envelope zeep's own serialiser writes for ``values`` (the slow path and the reference)."""
        from zeep.wsdl.utils import etree_to_string

        client, service = self._zeep_client()
        envelope = client.create_message(service, operation, **values)
        body: bytes = etree_to_string(envelope)
        return body

    def build(
        self,
        operation: str,
        fields: Mapping[str, str],
        credentials: Mapping[str, str],
        *,
        message_id: str | None = None,
        phones: str | None = None,
    ) -> Request:
        """Serialise ``operation`` with its credentials and fields into an envelope.

        The credentials' ``query`` (an API key's: the request's ``query`` plus ``apikey=``) replaces
        the field's; any other name in both is refused as zeep refuses it. ``limit_key`` sees only
        ``fields``.
        """
        clash = (credentials.keys() & fields.keys()) - {"query"}
        if clash:
            raise TypeError(f"{operation}() got multiple values for {sorted(clash)[0]!r}")
        values = {**fields, **credentials}
        writer = self._operation(operation).writer
        body = writer.write(values) if writer is not None else None
        if body is None:
            body = self._zeep_build(operation, values)
        return Request(
            operation=operation,
            body=body,
            headers=self._headers,
            message_id=message_id,
            phones=phones,
            limit_key=limit_key(operation, fields),
        )

    def _zeep_build(self, operation: str, values: Mapping[str, str]) -> bytes:
        from zeep.wsdl.utils import etree_to_string

        client, service = self._zeep_client()
        envelope = client.create_message(service, operation, **values)
        body: bytes = etree_to_string(envelope)
        return body

    def parse(self, request: Request, reply: RawReply, scrub: Callable[..., str]) -> Result:
        """Read ``reply`` to ``request``: a result, or the typed error it stands for."""
        error: SmscError | None = None
        try:
            return self._parse(request, reply, scrub)
        except SmscError:
            raise
        except Exception as exc:  # zeep / lxml failures: mapped outside the handler, unchained
            error = SmscProtocolError(
                f"{request.operation} reply could not be read ({type(exc).__name__}: "
                f"{scrub(safe_text(exc), 300)})",
                operation=request.operation,
                delivery=_unknown_if_send(request),
                http_status=reply.status,
            )
        raise error

    def _parse(self, request: Request, reply: RawReply, scrub: Callable[..., str]) -> Result:
        operation = request.operation
        status = reply.status
        body = reply.body
        # Only the head is stripped (a copy of the whole body would cost as much as parsing it).
        head = body[:80].lstrip() if body[:1].isspace() else body[:80]
        if not head and not body.strip():
            if status == 200:
                raise SmscProtocolError(
                    f"{operation} reply is an empty HTTP 200 body",
                    operation=operation,
                    delivery=_unknown_if_send(request),
                    http_status=status,
                )
            raise _http_error(request, reply, "with an empty body")
        content_type = reply.headers.get("content-type", "text/xml")
        media = _XML_TYPES.get(content_type)
        if media is None:
            # Scrubbed before it is lower-cased: a header echoing the request must not show the
            # password, in any case, in the error below.
            media = scrub(content_type.split(";")[0].strip(), 60).lower()
        if media not in _XML_MEDIA or _looks_html(head or body.lstrip()):
            snippet = _snippet(body, scrub)
            if status != 200:
                raise _http_error(request, reply, f"({media or 'no content type'}): {snippet}")
            raise SmscProtocolError(
                f"{operation} reply is not SOAP ({media or 'no content type'}): {snippet}",
                operation=operation,
                delivery=_unknown_if_send(request),
                http_status=status,
            )
        doc = parse_reply(body)
        if doc.tag != _ENVELOPE:
            if doc.tag == f"{{{SOAP12}}}Envelope":
                raise SmscProtocolError(
                    f"{operation} reply is a SOAP 1.2 envelope; the service speaks SOAP 1.1",
                    operation=operation,
                    delivery=_unknown_if_send(request),
                    http_status=status,
                )
            if status != 200:
                raise _http_error(request, reply, f"(XML, not SOAP): {_snippet(body, scrub)}")
            raise SmscProtocolError(
                f"{operation} reply is XML but not a SOAP envelope: {_snippet(body, scrub)}",
                operation=operation,
                delivery=_unknown_if_send(request),
                http_status=status,
            )
        op = self._operations[operation]
        output_tag = op.output_tag
        # The first Body's children, walked once (no ElementPath): a Fault, and the response element.
        body_el = next((c for c in doc if c.tag == _BODY), None)
        responses = []
        for child in () if body_el is None else body_el:
            tag = child.tag
            if tag == _FAULT:
                raise _fault_error(request, child, scrub, status)
            if tag == output_tag:
                responses.append(child)
        if status != 200:
            raise _http_error(request, reply, "with a SOAP envelope that is not a Fault")
        if len(responses) != 1:
            children = [] if body_el is None else [c for c in body_el if isinstance(c.tag, str)]
            found = ", ".join(etree.QName(c).localname for c in children) or "nothing"
            raise SmscProtocolError(
                f"{operation} reply carries {found[:80]} instead of "
                f"{etree.QName(output_tag).localname}",
                operation=operation,
                delivery=_unknown_if_send(request),
            )
        if op.reader is not None:
            record = op.reader.read(responses[0])
        else:
            extra = _set_aside_unknown(responses[0], op)
            values = self.zeep_operation(operation).process_reply(doc)
            record = None if values is None else record_from_zeep(values, extra)
        return convert(operation, record, request.message_id)


def _unknown_if_send(request: Request) -> Delivery:
    return Delivery.UNKNOWN if request.is_send else Delivery.NOT_SENT


def _looks_html(stripped: bytes) -> bool:
    head = stripped[:64].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _snippet(body: bytes, scrub: Callable[..., str], limit: int = 200) -> str:
    text = body[: limit * 4].decode("utf-8", errors="replace")
    return repr(scrub(" ".join(text.split()), limit))


def _http_error(request: Request, reply: RawReply, what: str) -> SmscHttpError:
    error = SmscHttpError(
        f"{request.operation}: the server answered HTTP {reply.status} {what}",
        http_status=reply.status,
        operation=request.operation,
        retry_after=reply.retry_after,
    )
    # A 5xx or 429 may come after the request was processed: unknown for a send, retryable for a read.
    error.delivery = _unknown_if_send(request) if request.is_send else Delivery.UNKNOWN
    error.retry_safe = not request.is_send and (reply.status >= 500 or reply.status == 429)
    return error


def _fault_error(
    request: Request, fault: Any, scrub: Callable[..., str], status: int
) -> SmscFaultError:
    code = (fault.findtext("faultcode") or "").strip()
    text = (fault.findtext("faultstring") or "").strip()
    error = SmscFaultError(
        scrub(code, 80), scrub(text, 500), operation=request.operation, http_status=status
    )
    # PHP's SoapServer answers a body element it does not know with a Server fault, although nothing
    # ran: "Procedure 'x' not present" (a wrong namespace). That one is known not to have been sent.
    if text.startswith("Procedure '") and text.endswith("' not present"):
        error.delivery = Delivery.REJECTED
    elif not request.is_send and error.delivery is Delivery.UNKNOWN:
        error.retry_safe = True
    return error


def _set_aside_unknown(response: Any, op: _Operation) -> dict[str, str]:
    """Remove result children the WSDL does not know, returning them as text (forward compatible)."""
    extra: dict[str, str] = {}
    for result in response:
        if not isinstance(result.tag, str) or etree.QName(result).localname != op.result_tag:
            continue
        for child in list(result):
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name not in op.known_fields:
                extra[name] = (child.text or "").strip()[:1000]
                result.remove(child)
    return extra


@functools.cache
def protocol_for(namespace: str) -> Protocol:
    """Return the shared Protocol for ``namespace`` (zeep objects are read-only after parsing)."""
    return Protocol(namespace)


def limit_key(operation: str, fields: Mapping[str, str]) -> str:
    """What the service's limits count a request by, from its fields (which never hold credentials).

    Status requests count per message: by id and phone (without a leading ``+``), whatever the
    variant (get_status or get_status2) and ``all``; others by all their fields.
    """
    if operation.startswith("get_status"):
        text = f"{fields.get('id', '')}\0{fields.get('phone', '').lstrip('+')}"
    else:
        text = operation + "\0" + "\0".join(f"{k}={fields[k]}" for k in sorted(fields))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
