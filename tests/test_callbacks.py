"""smsc_soap.callbacks: the pure parser, the signature, and the WSGI and ASGI receivers."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from smsc_soap import DeliveryError, MessageStatus, Secret, SmscCallbackError, SmscError
from smsc_soap.callbacks import (
    CallbackEvent,
    InboundMessage,
    StatusReport,
    callback_app,
    callback_asgi_app,
    callback_signature,
    parse_callback,
    sign_callback,
)

SECRET = "cb-S3cret-91ab"


def _report(**changes: str) -> dict[str, str]:
    form = {"id": "42", "phone": "79991234567", "status": "1", "err": "0", "time": "1700000000"}
    form.update(changes)
    return form


def _signed(form: dict[str, str], secret: str = SECRET) -> dict[str, str]:
    return {**form, "sha1": sign_callback(form, secret)}


# ------------------------------------------------------------------------------------ signature


def test_report_signature_is_sha1_of_id_phone_status_secret() -> None:
    """A report is signed with SHA-1 hex of id:phone:status:SECRET, computed independently here."""
    expected = hashlib.sha1(f"42:79991234567:1:{SECRET}".encode()).hexdigest()
    assert sign_callback(_report(), SECRET) == expected
    assert sign_callback(_report(), Secret(SECRET)) == expected


def test_inbound_signature_is_sha1_of_phone_mes_to_secret() -> None:
    """An inbound message is signed with SHA-1 hex of phone:mes:to:SECRET (UTF-8)."""
    form = {"phone": "79990001122", "mes": "Привет: да", "to": "79001234567"}
    expected = hashlib.sha1(f"79990001122:Привет: да:79001234567:{SECRET}".encode()).hexdigest()
    assert sign_callback(form, SECRET) == expected


def test_signature_check_accepts_only_the_right_digest() -> None:
    """The right digest (any case) passes; another secret, a changed field or junk fail."""
    form = _signed(_report())
    assert callback_signature(form, SECRET)
    assert callback_signature({**form, "sha1": form["sha1"].upper()}, SECRET)
    assert not callback_signature(form, "other")
    assert not callback_signature({**form, "status": "20"}, SECRET)
    assert not callback_signature({**form, "sha1": "ж" * 40}, SECRET)


def test_compare_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digests are compared with hmac.compare_digest."""
    import smsc_soap.callbacks as module

    calls: list[tuple[bytes, bytes]] = []
    real = module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(module.hmac, "compare_digest", spy)
    assert callback_signature(_signed(_report()), SECRET)
    assert len(calls) == 1


# ------------------------------------------------------------------------------------ parsing


def test_parse_report_types_every_known_field() -> None:
    """A report becomes a StatusReport with enums, a Moscow datetime, an int count and extras."""
    form = _signed(_report(status="20", err="1", cnt="2", type="0", sender="SmscTest"))
    report = parse_callback(form, secret=SECRET)
    assert isinstance(report, StatusReport)
    assert report.id == "42" and report.phone == "79991234567"
    assert report.status is MessageStatus.UNDELIVERABLE
    assert report.err is DeliveryError.SUBSCRIBER_NOT_EXISTS
    assert report.time == datetime.fromisoformat("2023-11-14T22:13:20+00:00")
    assert report.time is not None and report.time.utcoffset() is not None
    assert report.time.utcoffset().total_seconds() == 3 * 3600  # type: ignore[union-attr]
    assert report.cnt == 2 and report.type == "0"
    assert report.extra == {"sender": "SmscTest"}
    assert report.key == ("42", "79991234567", 20)


def test_parse_report_reads_moscow_dates_and_unknown_codes() -> None:
    """A DD.MM.YYYY hh:mm:ss time is Moscow time; unknown status/err codes are kept, not refused."""
    report = parse_callback(_report(time="01.02.2026 10:00:00", status="77", err="999"))
    assert isinstance(report, StatusReport)
    assert report.time == datetime.fromisoformat("2026-02-01T07:00:00+00:00")
    assert int(report.status) == 77 and not report.status.known
    assert report.err is not None and int(report.err) == 999


def test_parse_inbound_message() -> None:
    """phone, mes, to make an InboundMessage; the rest goes to extra."""
    form = _signed({"phone": "79990001122", "mes": "STOP", "to": "79001234567", "sms_id": "9"})
    message = parse_callback(form, secret=SECRET)
    assert isinstance(message, InboundMessage)
    assert (message.phone, message.mes, message.to) == ("79990001122", "STOP", "79001234567")
    assert message.extra == {"sms_id": "9"}


def test_repeated_values_in_a_mapping_are_accepted_once() -> None:
    """parse_qs-style mappings (name -> [value]) work when each field occurs once."""
    report = parse_callback({k: [v] for k, v in _report().items()})
    assert isinstance(report, StatusReport)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"phone": "79991234567", "status": "1"}, "id"),
        ({"id": "1", "status": "1"}, "phone"),
        ({"id": "1", "phone": "7999", "status": "one"}, "status"),
        ({"id": "1", "phone": "7999", "status": "1", "err": "1.5"}, "err"),
        ({"id": "1", "phone": "7999", "status": "1", "cnt": "-2"}, "cnt"),
        ({"id": "1", "phone": "7999", "status": "1", "time": "yesterday"}, "time"),
        ({"id": "1", "phone": "7999", "status": "1", "status2": "x" * 9000}, "status2"),
        ({"id": ["1", "2"], "phone": "7999", "status": "1"}, "id"),
        ({"to": "79001234567"}, "mes"),
        ({"phone": "79990001122", "mes": "hi", "to": "7", "time": "soon"}, "time"),
    ],
)
def test_malformed_forms_raise_naming_the_field(form: dict[str, Any], field: str) -> None:
    """A missing, repeated, non-numeric or oversized field is SmscCallbackError naming it."""
    with pytest.raises(SmscCallbackError) as caught:
        parse_callback(form)
    assert caught.value.reason == "malformed"
    assert caught.value.field == field
    assert field in str(caught.value)


def test_neither_report_nor_message_is_malformed() -> None:
    """A form with no report or message fields is refused."""
    with pytest.raises(SmscCallbackError, match="neither a status report"):
        parse_callback({"foo": "bar"})


def test_callback_error_is_a_value_error_and_an_smsc_error() -> None:
    """SmscCallbackError is both a ValueError and the package's base error."""
    assert issubclass(SmscCallbackError, ValueError)
    assert issubclass(SmscCallbackError, SmscError)


@pytest.mark.parametrize(
    "form",
    [
        _report(),  # unsigned
        {**_report(), "sha1": ""},
        {**_signed(_report()), "status": "2"},  # a signature replayed onto another status
        {**_signed(_report()), "phone": "79990000000"},
        _signed(_report(), "another-secret"),
    ],
)
def test_missing_or_wrong_signature_is_refused_without_leaking_the_secret(
    form: dict[str, str],
) -> None:
    """With a secret set, no or a wrong sha1 raises reason 'signature'; the secret is not in the text."""
    with pytest.raises(SmscCallbackError) as caught:
        parse_callback(form, secret=SECRET)
    assert caught.value.reason == "signature"
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)


# ------------------------------------------------------------------------------------ WSGI


def _environ(
    method: str = "POST",
    body: bytes = b"",
    content_type: str = "application/x-www-form-urlencoded",
    query: str = "",
    length: str | None = None,
) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(body),
    }


def _call(app: Callable[..., Any], environ: dict[str, Any]) -> tuple[int, bytes]:
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(status)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return int(seen[0].split()[0]), body


class Recorder:
    """A handler that records events and can be told to raise."""

    def __init__(self) -> None:
        self.events: list[CallbackEvent] = []
        self.fail = False

    def __call__(self, event: CallbackEvent) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.events.append(event)


def test_wsgi_accepts_a_signed_report_after_the_handler_returns() -> None:
    """200 comes after the handler ran with the typed report."""
    handler = Recorder()
    app = callback_app(handler, secret=SECRET)
    status, body = _call(app, _environ(body=urlencode(_signed(_report())).encode()))
    assert (status, body) == (200, b"OK\n")
    assert [e.key for e in handler.events] == [("42", "79991234567", 1)]


def test_wsgi_refuses_forged_malformed_and_oversized_without_running_the_handler() -> None:
    """403 for a bad signature, 400 malformed, 413 too big, 415 other media, 405 other methods."""
    handler = Recorder()
    app = callback_app(handler, secret=SECRET, max_body=2048)
    forged = urlencode({**_signed(_report()), "status": "1", "id": "43"}).encode()
    assert _call(app, _environ(body=forged))[0] == 403
    assert _call(app, _environ(body=urlencode(_report()).encode()))[0] == 403
    malformed = urlencode(_signed(_report(status="x"))).encode()
    assert _call(app, _environ(body=malformed))[0] == 400
    assert _call(app, _environ(body=b"id=1&&&=&phone"))[0] == 400
    assert _call(app, _environ(body=b"\xff\xfe"))[0] == 400
    assert _call(app, _environ(body=b"x" * 3000))[0] == 413
    assert _call(app, _environ(length="999999999"))[0] == 413
    assert _call(app, _environ(length="abc"))[0] == 400
    assert _call(app, _environ(content_type="application/json", body=b"{}"))[0] == 415
    assert _call(app, _environ(method="PUT"))[0] == 405
    assert handler.events == []


def test_wsgi_answers_500_when_the_handler_raises_and_200_on_the_repeat(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler error is 500 (the service repeats); the repeat, once the handler works, is 200."""
    handler = Recorder()
    app = callback_app(handler, secret=SECRET)
    body = urlencode(_signed(_report())).encode()
    handler.fail = True
    with caplog.at_level(logging.ERROR, logger="smsc_soap.callbacks"):
        assert _call(app, _environ(body=body))[0] == 500
    assert "RuntimeError" in caplog.text and SECRET not in caplog.text
    handler.fail = False
    assert _call(app, _environ(body=body))[0] == 200
    assert len(handler.events) == 1


def test_wsgi_replay_of_an_accepted_report_does_not_reach_the_handler_again() -> None:
    """An identical repeat is answered 200 from memory; with dedupe=0 the handler sees both."""
    body = urlencode(_signed(_report())).encode()
    handler = Recorder()
    app = callback_app(handler, secret=SECRET)
    assert [_call(app, _environ(body=body))[0] for _ in range(3)] == [200, 200, 200]
    assert len(handler.events) == 1
    plain = Recorder()
    app = callback_app(plain, secret=SECRET, dedupe=0)
    assert [_call(app, _environ(body=body))[0] for _ in range(2)] == [200, 200]
    assert len(plain.events) == 2


def test_wsgi_reads_get_queries_and_multipart_bodies() -> None:
    """Fields come from a GET query string or a multipart/form-data POST."""
    handler = Recorder()
    app = callback_app(handler, secret=SECRET)
    assert _call(app, _environ("GET", query=urlencode(_signed(_report(id="7")))))[0] == 200
    boundary = "XyZ"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in _signed({"phone": "79990001122", "mes": "Да", "to": "7900"}).items()
    )
    body = (parts + f"--{boundary}--\r\n").encode()
    status, _ = _call(
        app, _environ(body=body, content_type=f"multipart/form-data; boundary={boundary}")
    )
    assert status == 200
    assert [type(e).__name__ for e in handler.events] == ["StatusReport", "InboundMessage"]
    assert isinstance(handler.events[1], InboundMessage) and handler.events[1].mes == "Да"


def test_wsgi_post_ignores_its_query_string() -> None:
    """A POST's fields are its body: a query string (the handler URL's ?sha1=SECRET) is not read."""
    handler = Recorder()
    app = callback_app(handler, secret=SECRET)
    environ = _environ(body=urlencode(_signed(_report())).encode(), query=f"sha1={SECRET}")
    assert _call(app, environ)[0] == 200


def test_wsgi_refuses_an_async_handler() -> None:
    """An async handler on the WSGI app is a 500 with a clear log, not an un-awaited coroutine."""

    async def handler(event: CallbackEvent) -> None:
        pass

    app = callback_app(handler, secret=None)
    assert _call(app, _environ(body=urlencode(_report()).encode()))[0] == 500


def test_app_settings_are_checked() -> None:
    """An empty secret or absurd limits are refused when the app is built."""
    with pytest.raises(SmscCallbackError):
        callback_app(Recorder(), secret="")
    with pytest.raises(ValueError, match="max_body"):
        callback_app(Recorder(), secret=SECRET, max_body=10)
    with pytest.raises(ValueError, match="dedupe"):
        callback_asgi_app(Recorder(), secret=SECRET, dedupe=-1)


# ------------------------------------------------------------------------------------ ASGI


def _asgi(
    app: Callable[..., Any],
    body: bytes,
    *,
    method: str = "POST",
    content_type: str = "application/x-www-form-urlencoded",
    chunk: int = 7,
    query: bytes = b"",
) -> tuple[int, bytes]:
    """Drive an ASGI app as a server would: body in chunks, then collect the response."""
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    incoming = [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "query_string": query,
        "headers": [(b"content-type", content_type.encode())],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start"
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_asgi_twin_gives_the_same_answers_with_an_async_handler() -> None:
    """200 after an async handler, 403 forged, 400 malformed, 413 too big, 500 handler error."""
    events: list[CallbackEvent] = []
    fail = [False]

    async def handler(event: CallbackEvent) -> None:
        await asyncio.sleep(0)
        if fail[0]:
            raise RuntimeError("down")
        events.append(event)

    app = callback_asgi_app(handler, secret=SECRET, max_body=2048)
    good = urlencode(_signed(_report())).encode()
    assert _asgi(app, good) == (200, b"OK\n")
    assert _asgi(app, urlencode({**_signed(_report()), "status": "3"}).encode())[0] == 403
    assert _asgi(app, urlencode(_signed(_report(cnt="x"))).encode())[0] == 400
    assert _asgi(app, b"a=" + b"x" * 3000)[0] == 413
    fail[0] = True
    assert _asgi(app, urlencode(_signed(_report(id="99"))).encode())[0] == 500
    assert [e.key for e in events] == [("42", "79991234567", 1)]


def test_asgi_accepts_a_plain_handler_and_get() -> None:
    """A plain function works too, and a GET reads the query string."""
    events: list[CallbackEvent] = []
    app = callback_asgi_app(events.append, secret=SECRET)
    query = urlencode(_signed(_report())).encode()
    assert _asgi(app, b"", method="GET", query=query)[0] == 200
    assert len(events) == 1


def test_asgi_lifespan_is_acknowledged() -> None:
    """The lifespan protocol is answered, so servers that send it start cleanly."""
    app = callback_asgi_app(Recorder(), secret=SECRET)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
