"""Delivery reports and inbound messages that SMSC pushes to your URL, checked and typed.

SMSC can POST every status change of a message, and every inbound message, to a handler URL set in the
account's settings, as HTML form fields. With ``?sha1=SECRET`` in that URL each request carries ``sha1``,
the SHA-1 hex digest of ``id:phone:status:SECRET`` (a report) or ``phone:mes:to:SECRET`` (an inbound
message). These facts come from SMSC's pages as quoted by other clients and from a third-party client's
code; see ``docs/callbacks.md``.

The parser is pure (a mapping in, a typed record out); :func:`callback_app` and :func:`callback_asgi_app`
are thin WSGI and ASGI layers over it, standard library only::

    def handle(event: StatusReport | InboundMessage) -> None:
        ...  # must be idempotent: the service may send the same report again

    app = callback_app(handle, secret="my-callback-secret")  # any WSGI server

The service repeats a report whose request failed (any answer but 200), and may repeat one anyway, so a
handler must be idempotent: key what it stores by ``(id, phone, status)``.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from ._codes import DeliveryError, MessageStatus
from ._exceptions import SmscCallbackError
from ._params.timefmt import MOSCOW, parse_moscow_date
from ._secrets import Secret

__all__ = [
    "DEFAULT_MAX_BODY",
    "CallbackEvent",
    "InboundMessage",
    "StatusReport",
    "callback_app",
    "callback_asgi_app",
    "callback_signature",
    "parse_callback",
    "sign_callback",
]

logger = logging.getLogger("smsc_soap.callbacks")

#: The largest request body the apps read (bytes); a report is a few hundred bytes, a long inbound
#: message a few kilobytes.
DEFAULT_MAX_BODY = 64 * 1024

_MAX_FIELD = 8192
_REPORT_SIGNED = ("id", "phone", "status")
_INBOUND_SIGNED = ("phone", "mes", "to")


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A status change of one message to one number, as the service pushed it.

    ``time`` is when the status changed (``time`` of the form: Unix seconds or ``DD.MM.YYYY hh:mm:ss``
    Moscow time), ``cnt`` the SMS parts, ``type`` the message type; every other field is in ``extra``.
    """

    id: str
    phone: str
    status: MessageStatus
    err: DeliveryError | None = None
    time: datetime | None = None
    cnt: int | None = None
    type: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str, int]:
        """``(id, phone, status)``: what an idempotent handler stores a report under."""
        return (self.id, self.phone, int(self.status))


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a subscriber sent to one of the account's numbers: from ``phone`` to ``to``."""

    phone: str
    mes: str
    to: str
    id: str | None = None
    time: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """``(id, phone, to, mes)``: what an idempotent handler stores an inbound message under."""
        return (self.id or "", self.phone, self.to, self.mes)


CallbackEvent: TypeAlias = StatusReport | InboundMessage
Form: TypeAlias = Mapping[str, str] | Mapping[str, Sequence[str]] | Iterable[tuple[str, str]]


# ------------------------------------------------------------------------------------ signatures


def _secret_text(secret: str | Secret) -> str:
    text = secret.reveal() if isinstance(secret, Secret) else secret
    if not isinstance(text, str) or not text:
        raise SmscCallbackError(
            "the callback secret must be a non-empty str or Secret", reason="configuration"
        )
    return text


def _is_report(fields: Mapping[str, str]) -> bool:
    return "status" in fields or ("id" in fields and "mes" not in fields)


def sign_callback(fields: Mapping[str, str], secret: str | Secret) -> str:
    """Return the ``sha1`` the service puts on ``fields``: of ``id:phone:status:SECRET`` for a report,
    of ``phone:mes:to:SECRET`` for an inbound message (missing fields count as empty)."""
    names = _REPORT_SIGNED if _is_report(fields) else _INBOUND_SIGNED
    text = ":".join([*(fields.get(name, "") for name in names), _secret_text(secret)])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def callback_signature(fields: Mapping[str, str], secret: str | Secret) -> bool:
    """Tell whether ``fields`` carry the right ``sha1`` for ``secret`` (compared in constant time)."""
    given = fields.get("sha1", "")
    expected = sign_callback(fields, secret)
    return hmac.compare_digest(given.strip().lower().encode("ascii", "replace"), expected.encode())


# ------------------------------------------------------------------------------------ parsing


def _flatten(form: Form) -> dict[str, str]:
    """Return the form as one value per name; a repeated field is malformed (it could hide a forgery)."""
    pairs: list[tuple[str, str]] = []
    if isinstance(form, Mapping):
        for name, value in form.items():
            if isinstance(value, str):
                pairs.append((name, value))
            elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
                pairs.extend((name, item) for item in value)
            else:
                raise _malformed(f"field {name!r} is not text", str(name))
    else:
        pairs = list(form)
    fields: dict[str, str] = {}
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise _malformed("form names and values must be text", None)
        if name in fields:
            raise _malformed(f"field {name!r} is repeated", name)
        if len(value) > _MAX_FIELD:
            raise _malformed(f"field {name!r} is longer than {_MAX_FIELD} characters", name)
        fields[name] = value
    return fields


def _malformed(text: str, name: str | None) -> SmscCallbackError:
    return SmscCallbackError(f"malformed callback: {text}", reason="malformed", field=name)


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise _malformed(f"field {name!r} is missing or empty", name)
    return value


def _int(fields: Mapping[str, str], name: str) -> int | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    sign = value[1:] if value.startswith("-") else value
    if not (sign.isascii() and sign.isdigit()) or len(sign) > 10:
        raise _malformed(f"field {name!r} must be an integer, got {value[:20]!r}", name)
    return int(value)


def _time(fields: Mapping[str, str], name: str) -> datetime | None:
    value = fields.get(name, "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and len(value) <= 11:
        return datetime.fromtimestamp(int(value), MOSCOW)
    try:
        return parse_moscow_date(value)
    except ValueError:
        raise _malformed(
            f"field {name!r} must be Unix seconds or DD.MM.YYYY hh:mm:ss, got {value[:25]!r}", name
        ) from None


def parse_callback(form: Form, *, secret: str | Secret | None = None) -> CallbackEvent:
    """Return the typed report or inbound message in ``form`` (the request's fields).

    With ``secret`` the ``sha1`` field must match, else :class:`SmscCallbackError` (``reason
    "signature"``); a form that is neither a report nor an inbound message, or has a field out of
    range, raises it with ``reason "malformed"``. Unknown status and error codes are kept
    (``MessageStatus.UNKNOWN_<n>``).
    """
    fields = _flatten(form)
    if secret is not None:
        if not fields.get("sha1"):
            raise SmscCallbackError(
                "callback refused: no sha1 signature, and a secret is set", reason="signature"
            )
        if not callback_signature(fields, secret):
            raise SmscCallbackError(
                "callback refused: the sha1 signature does not match", reason="signature"
            )
    if _is_report(fields):
        return _report(fields)
    if "mes" in fields or "to" in fields:
        return _inbound(fields)
    raise _malformed("neither a status report (id, phone, status) nor a message (phone, mes)", None)


_REPORT_KNOWN = frozenset({"id", "phone", "status", "err", "time", "cnt", "type", "sha1"})
_INBOUND_KNOWN = frozenset({"id", "phone", "mes", "to", "time", "sha1"})


def _report(fields: Mapping[str, str]) -> StatusReport:
    message_id = _required(fields, "id")
    phone = _required(fields, "phone")
    status = _int(fields, "status")
    if status is None:
        raise _malformed("field 'status' is missing or empty", "status")
    err = _int(fields, "err")
    cnt = _int(fields, "cnt")
    if cnt is not None and cnt < 0:
        raise _malformed("field 'cnt' must not be negative", "cnt")
    return StatusReport(
        id=message_id,
        phone=phone,
        status=MessageStatus(status),
        err=None if err is None else DeliveryError(err),
        time=_time(fields, "time"),
        cnt=cnt,
        type=fields.get("type") or None,
        extra={k: v for k, v in fields.items() if k not in _REPORT_KNOWN},
    )


def _inbound(fields: Mapping[str, str]) -> InboundMessage:
    if "mes" not in fields:
        raise _malformed("field 'mes' is missing", "mes")
    return InboundMessage(
        phone=_required(fields, "phone"),
        mes=fields["mes"],
        to=fields.get("to", "").strip(),
        id=fields.get("id", "").strip() or None,
        time=_time(fields, "time"),
        extra={k: v for k, v in fields.items() if k not in _INBOUND_KNOWN},
    )


# ------------------------------------------------------------------------------------ the receiver core


Handler: TypeAlias = Callable[[CallbackEvent], object]


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    body: bytes
    event: CallbackEvent | None = None


_TEXT = "text/plain; charset=utf-8"
_PHRASES = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


def _answer(status: int, body: str, event: CallbackEvent | None = None) -> _Answer:
    return _Answer(status, _PHRASES[status], body.encode("utf-8") + b"\n", event)


class _Receiver:
    """The web-framework-free part of both apps: request bytes in, a checked event or an answer out."""

    def __init__(self, secret: str | Secret | None, max_body: int, dedupe: int) -> None:
        if secret is not None:
            _secret_text(secret)
            secret = secret if isinstance(secret, Secret) else Secret(secret)
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
            raise ValueError("max_body must be an int of at least 1024 bytes")
        if isinstance(dedupe, bool) or not isinstance(dedupe, int) or dedupe < 0:
            raise ValueError("dedupe must be a non-negative int (0 turns it off)")
        self.secret = secret
        self.max_body = max_body
        self._dedupe = dedupe
        self._seen: OrderedDict[tuple[object, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def too_large(self, length: int) -> bool:
        return length > self.max_body

    def check(self, method: str, content_type: str, query: str, body: bytes) -> _Answer:
        """Parse and verify a request; an answer with ``event`` set means: run the handler."""
        if method not in ("GET", "POST"):
            return _answer(405, "only GET and POST are accepted")
        if len(body) > self.max_body:
            return _answer(413, f"the body is larger than {self.max_body} bytes")
        try:
            pairs = _form_pairs(method, content_type, query, body)
            if pairs is None:
                return _answer(415, "send application/x-www-form-urlencoded or multipart/form-data")
            event = parse_callback(pairs, secret=self.secret)
        except SmscCallbackError as error:
            status = 403 if error.reason == "signature" else 400
            logger.warning("callback refused (%s): %s", status, error.message)
            return _answer(status, error.message)
        return _answer(200, "OK", event)

    def seen(self, event: CallbackEvent) -> bool:
        """Whether an identical event was already handled (answered 200 without running the handler)."""
        if not self._dedupe:
            return False
        with self._lock:
            return event.key in self._seen

    def done(self, event: CallbackEvent) -> None:
        """Remember an event the handler accepted."""
        if not self._dedupe:
            return
        with self._lock:
            self._seen[event.key] = None
            while len(self._seen) > self._dedupe:
                self._seen.popitem(last=False)

    @staticmethod
    def failed(event: CallbackEvent, error: BaseException) -> _Answer:
        what = "report" if isinstance(event, StatusReport) else "inbound message"
        logger.error(
            "callback handler raised %s on the %s %s; answering 500 so the service repeats it",
            type(error).__name__,
            what,
            event.id or "",
        )
        return _answer(500, "the handler failed")


def _form_pairs(
    method: str, content_type: str, query: str, body: bytes
) -> list[tuple[str, str]] | None:
    """The request's fields: the query string of a GET, the body of a POST (its query string is ignored,
    because a handler URL may carry ``?sha1=SECRET`` itself)."""
    if method == "GET":
        return _urlencoded(query.encode("latin-1", "replace"))
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/x-www-form-urlencoded", ""):
        return _urlencoded(body)
    if media == "multipart/form-data":
        return _multipart(content_type, body)
    return None


def _urlencoded(data: bytes) -> list[tuple[str, str]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("the form is not UTF-8", None) from None
    try:
        return parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=100
        )
    except ValueError as error:
        raise _malformed(f"the form cannot be read: {error}", None) from None


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise _malformed("the multipart body has no parts", None)
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            raise _malformed("a multipart part has no field name, or is a file", None)
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise _malformed(f"multipart field {name!r} is not text", name)
        try:
            pairs.append((name, payload.decode(part.get_content_charset() or "utf-8")))
        except (UnicodeDecodeError, LookupError):
            raise _malformed(f"multipart field {name!r} is not text", name) from None
    return pairs


# ------------------------------------------------------------------------------------ WSGI


def callback_app(
    handler: Handler,
    *,
    secret: str | Secret | None,
    max_body: int = DEFAULT_MAX_BODY,
    dedupe: int = 1024,
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """Return a WSGI app that checks each pushed request and hands the event to ``handler``.

    Answers 200 after ``handler(event)`` returns, 403 when the signature is missing or wrong (the
    handler never runs), 400 for a malformed request, 413 for a body over ``max_body`` bytes, and 500
    when the handler raises (so the service sends it again). ``secret`` is the one in the handler URL
    (``?sha1=SECRET``); pass ``None`` only to accept unsigned requests. Fields come from a POST body
    (urlencoded or multipart) or a GET query string. The last ``dedupe`` accepted events are
    remembered so an identical repeat is answered 200 without running the handler again; this helps
    but is per process, so the handler must still be idempotent.
    """
    receiver = _Receiver(secret, max_body, dedupe)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = _wsgi_answer(receiver, handler, environ)
        start_response(
            f"{answer.status} {answer.reason}",
            [("Content-Type", _TEXT), ("Content-Length", str(len(answer.body)))],
        )
        return [answer.body]

    return app


def _wsgi_answer(receiver: _Receiver, handler: Handler, environ: dict[str, Any]) -> _Answer:
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    body = b""
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _answer(400, "Content-Length is not a number")
        if length < 0:
            return _answer(400, "Content-Length is negative")
        if receiver.too_large(length):
            return _answer(413, f"the body is larger than {receiver.max_body} bytes")
        if length:
            body = environ["wsgi.input"].read(length)
    answer = receiver.check(
        method, str(environ.get("CONTENT_TYPE", "")), str(environ.get("QUERY_STRING", "")), body
    )
    event = answer.event
    if event is None or receiver.seen(event):
        return answer
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            _close(result)
            raise TypeError("callback_app needs a plain function; use callback_asgi_app for async")
    except Exception as error:
        return receiver.failed(event, error)
    receiver.done(event)
    return answer


def _close(awaitable: Awaitable[object]) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


# ------------------------------------------------------------------------------------ ASGI


AsgiReceive: TypeAlias = Callable[[], Awaitable[dict[str, Any]]]
AsgiSend: TypeAlias = Callable[[dict[str, Any]], Awaitable[None]]


def callback_asgi_app(
    handler: Callable[[CallbackEvent], object],
    *,
    secret: str | Secret | None,
    max_body: int = DEFAULT_MAX_BODY,
    dedupe: int = 1024,
) -> Callable[[dict[str, Any], AsgiReceive, AsgiSend], Awaitable[None]]:
    """Return the ASGI twin of :func:`callback_app`; ``handler`` may be a plain or an async function.

    The same answers (200 after the handler returns, 403, 400, 413, 500), for any ASGI server.
    A plain function runs on the event loop, so keep it short or make it async.
    """
    receiver = _Receiver(secret, max_body, dedupe)

    async def app(scope: dict[str, Any], receive: AsgiReceive, send: AsgiSend) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            raise RuntimeError(f"callback_asgi_app serves HTTP only, not {kind!r}")
        answer = await _asgi_answer(receiver, handler, scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", _TEXT.encode()),
                    (b"content-length", str(len(answer.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    return app


async def _asgi_answer(
    receiver: _Receiver,
    handler: Callable[[CallbackEvent], object],
    scope: dict[str, Any],
    receive: AsgiReceive,
) -> _Answer:
    method = str(scope.get("method", "GET")).upper()
    headers = {
        bytes(name).decode("latin-1").lower(): bytes(value).decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    declared = headers.get("content-length", "")
    if declared.isdigit() and receiver.too_large(int(declared)):
        return _answer(413, f"the body is larger than {receiver.max_body} bytes")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _answer(400, "the client went away")
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if receiver.too_large(size):
            return _answer(413, f"the body is larger than {receiver.max_body} bytes")
        chunks.append(chunk)
        more = bool(message.get("more_body", False))
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    answer = receiver.check(method, headers.get("content-type", ""), query, b"".join(chunks))
    event = answer.event
    if event is None or receiver.seen(event):
        return answer
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            await result
    except Exception as error:
        return receiver.failed(event, error)
    receiver.done(event)
    return answer
