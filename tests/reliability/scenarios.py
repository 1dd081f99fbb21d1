"""The catalogue's server-side faults (groups A and B) as data: what the server does, what we expect.

Each :class:`Scenario` builds the behaviours of a :class:`RawServer` for one operation (``send`` or
``balance``); ``hit`` is the URL of a second server that must never be contacted (XXE and DTD
fetches). The expectation is the class of the underlying error; for a send whose failure leaves the
outcome unknown the client raises SendOutcomeUnknownError carrying it as ``reason``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import smsc_soap as s
from tests.helpers.raw_server import Behaviour, Conn, drip, hang, raw, reset, respond
from tests.wire import php_fault, php_reply

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def reply(op: str, value: str = "", prolog: str = "", inner: str | None = None) -> str:
    """A PHP-style reply for ``op`` (send_sms or get_balance) with ``value`` in its main field."""
    if inner is None:
        if op == "send_sms":
            inner = f"<id>{value or '101'}</id><cnt>1</cnt>"
        else:
            inner = f"<balance>{value or '10.00'}</balance>"
    body = php_reply(op, inner)
    return body.replace(XML_DECL, XML_DECL + prolog, 1)


def stream(head: bytes, chunk: bytes, total: int) -> Behaviour:
    """Send ``head``, then ``chunk`` repeatedly up to ``total`` bytes (stops when the client leaves)."""

    def behave(conn: Conn) -> None:
        conn.sock.sendall(head)
        sent = 0
        while sent < total:
            conn.sock.sendall(chunk)
            sent += len(chunk)

    return behave


def chunked(chunk_size: int, count: int) -> Behaviour:
    """A chunked 200 reply of ``count`` chunks of ``chunk_size`` bytes, no Content-Length."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = f"{chunk_size:x}\r\n".encode() + b"<x>1</x>" * (chunk_size // 8) + b"\r\n"
    return stream(head, piece, len(piece) * count)


def echo_500(conn: Conn) -> None:
    """A 500 HTML page that quotes the posted envelope (password included)."""
    page = b"<html><body><h1>500</h1><pre>" + conn.body + b"</pre></body></html>"
    conn.sock.sendall(
        b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\nConnection: close\r\n"
        + f"Content-Length: {len(page)}\r\n\r\n".encode()
        + page
    )


def billion_laughs(levels: int = 9, fan: int = 10) -> str:
    """The classic entity expansion bomb."""
    lines = ['<!ENTITY l0 "lol">']
    for n in range(1, levels + 1):
        lines.append(f'<!ENTITY l{n} "' + f"&l{n - 1};" * fan + '">')
    return f"<!DOCTYPE SOAP-ENV:Envelope [{''.join(lines)}]>", f"&l{levels};"


@dataclass(frozen=True)
class Scenario:
    """One hostile server behaviour and the error it must produce."""

    id: str
    build: Callable[[str, str], list[Behaviour]]
    error: type[s.SmscError] | None
    read_hits: int = 1
    ops: tuple[str, ...] = ("send_sms", "get_balance")
    client: dict[str, Any] = field(default_factory=dict)
    slow: bool = False


def _r(
    body: str | bytes, status: int = 200, **headers: str
) -> Callable[[str, str], list[Behaviour]]:
    return lambda op, hit: [respond(body, status, dict(headers))]


def _per_op(make: Callable[[str, str], str | bytes], status: int = 200, **headers: str) -> Any:
    return lambda op, hit: [respond(make(op, hit), status, dict(headers))]


LAUGH_PROLOG, LAUGH_REF = billion_laughs()
QUAD_ENTITY = "A" * 5000
# The server never answers within these: a short read timeout still holds on a loaded machine.
SHORT_TIMEOUTS = {"read_timeout": 0.2, "timeout": 3}
# A drip every 0.1 s for 30 s: only the deadline can end the call, well before the drip does.
DRIP_TIMEOUTS = {"timeout": 0.6, "read_timeout": 5}
HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n"

SCENARIOS: list[Scenario] = [
    # ---- A: malicious or malformed replies
    Scenario(
        "A01-xxe-file",
        _per_op(
            lambda op, hit: reply(
                op,
                "&x;",
                '<!DOCTYPE SOAP-ENV:Envelope [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
            )
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A02-xxe-http",
        _per_op(
            lambda op, hit: reply(
                op, "&x;", f'<!DOCTYPE SOAP-ENV:Envelope [<!ENTITY x SYSTEM "{hit}/x">]>'
            )
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A03-parameter-entity",
        _per_op(
            lambda op, hit: reply(op, "", f'<!DOCTYPE e [<!ENTITY % p SYSTEM "{hit}/pe"> %p;]>')
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A04-external-dtd",
        _per_op(lambda op, hit: reply(op, "&leak;", f'<!DOCTYPE e SYSTEM "{hit}/dtd">')),
        s.SmscProtocolError,
    ),
    Scenario(
        "A05-bare-doctype",
        _per_op(lambda op, hit: reply(op, "", "<!DOCTYPE Envelope>")),
        s.SmscProtocolError,
    ),
    Scenario(
        "A06-billion-laughs",
        _per_op(lambda op, hit: reply(op, LAUGH_REF, LAUGH_PROLOG)),
        s.SmscProtocolError,
    ),
    Scenario(
        "A07-quadratic",
        _per_op(
            lambda op, hit: reply(op, "&a;" * 2000, f'<!DOCTYPE e [<!ENTITY a "{QUAD_ENTITY}">]>')
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A08-50mb-text-declared",
        lambda op, hit: [
            stream(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 52428800\r\n\r\n",
                b"A" * 65536,
                52428800,
            )
        ],
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A08-50mb-text-close-delimited",
        lambda op, hit: [
            stream(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n<id>",
                b"A" * 65536,
                52428800,
            )
        ],
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A09-many-elements-chunked",
        lambda op, hit: [chunked(65536, 800)],
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A10-deep-nesting",
        _per_op(lambda op, hit: XML_DECL + "<d>" * 100_000 + "</d>" * 100_000),
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A10-deep-nesting-small",
        _per_op(lambda op, hit: XML_DECL + "<d>" * 5000 + "</d>" * 5000),
        s.SmscProtocolError,
    ),
    Scenario(
        "A11-gzip-bomb",
        _per_op(lambda op, hit: gzip.compress(b"\0" * 1_000_000), **{"Content-Encoding": "gzip"}),
        s.SmscProtocolError,
    ),
    *[
        Scenario(
            f"A12-encoding-{name}",
            _per_op(lambda op, hit: reply(op), **{"Content-Encoding": value}),
            s.SmscProtocolError,
        )
        for name, value in [
            ("deflate", "deflate"),
            ("br", "br"),
            ("zstd", "zstd"),
            ("stacked", ", ".join(["gzip"] * 50)),
        ]
    ],
    Scenario(
        "A14-content-length-above-cap",
        lambda op, hit: [
            raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 52428800\r\n\r\n")
        ],
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A15-5mb-id",
        lambda op, hit: [
            stream(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"
                + reply(op).split("<id>")[0].encode(),
                b"7" * 65536,
                5_000_000,
            )
        ],
        s.SmscResponseTooLargeError,
    ),
    Scenario("A16-truncated", _per_op(lambda op, hit: reply(op)[:150]), s.SmscProtocolError),
    Scenario(
        "A17-truncated-close",
        lambda op, hit: [
            raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"
                + reply(op)[:150].encode()
            )
        ],
        s.SmscProtocolError,
    ),
    Scenario("A18-empty-200", _r(b""), s.SmscProtocolError),
    Scenario(
        "A19-plain-text-error",
        _r("ERROR = 4 (ip is blocked)", **{"Content-Type": "text/plain"}),
        s.SmscProtocolError,
    ),
    Scenario(
        "A20-json-error",
        _r('{"error":"ip blocked","error_code":4}', **{"Content-Type": "application/json"}),
        s.SmscProtocolError,
    ),
    Scenario(
        "A21-server-fault-500",
        _r(php_fault("SOAP-ENV:Server", "Internal error"), 500),
        s.SmscFaultError,
        read_hits=3,
    ),
    Scenario(
        "A22-server-fault-200",
        _r(php_fault("SOAP-ENV:Server", "Internal error"), 200),
        s.SmscFaultError,
        read_hits=3,
    ),
    Scenario(
        "A21-client-fault", _r(php_fault("SOAP-ENV:Client", "Bad request"), 500), s.SmscFaultError
    ),
    Scenario(
        "A23-huge-faultstring",
        lambda op, hit: [
            stream(
                b"HTTP/1.1 500 X\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"
                + php_fault("SOAP-ENV:Server", "x").split("<faultstring>")[0].encode()
                + b"<faultstring>",
                b"F" * 65536,
                10_000_000,
            )
        ],
        s.SmscResponseTooLargeError,
    ),
    Scenario(
        "A24-502-nginx",
        _r(
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            502,
            **{"Content-Type": "text/html"},
        ),
        s.SmscHttpError,
        read_hits=3,
    ),
    Scenario(
        "A25-503-xhtml",
        _r(
            '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>down</body></html>',
            503,
            **{"Content-Type": "application/xhtml+xml"},
        ),
        s.SmscHttpError,
        read_hits=3,
    ),
    Scenario("A26-empty-503", _r(b"", 503), s.SmscHttpError, read_hits=3),
    Scenario("A27-500-echoes-request", lambda op, hit: [echo_500], s.SmscHttpError, read_hits=3),
    Scenario(
        "A28-429-retry-after",
        _r("<html>slow down</html>", 429, **{"Content-Type": "text/html", "Retry-After": "2"}),
        s.SmscHttpError,
        read_hits=3,
    ),
    Scenario(
        "A29-windows-1251",
        _per_op(
            lambda op, hit: (
                reply(op)
                .replace("UTF-8", "windows-1251")
                .replace("</cnt>", "</cnt><note>Привет</note>")
                .replace("</balance>", "</balance><note>Привет</note>")
                .encode("cp1251")
            )
        ),
        None,
    ),
    Scenario(
        # No XML declaration and windows-1251 only in Content-Type: XML without a declaration is
        # UTF-8, so the bytes are refused as a protocol error (documented choice), never mojibake.
        "A30-windows-1251-header-only",
        _per_op(
            lambda op, hit: (
                reply(op)
                .replace(XML_DECL, "")
                .replace("</cnt>", "</cnt><note>Привет</note>")
                .replace("</balance>", "</balance><note>Привет</note>")
                .encode("cp1251")
            ),
            **{"Content-Type": "text/xml; charset=windows-1251"},
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A31-invalid-utf8",
        _per_op(
            lambda op, hit: (
                reply(op)
                .encode()
                .replace(b"<cnt>1", b"<cnt>\xff\xfe1")
                .replace(b"<balance>10", b"<balance>\xff10")
            )
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A32-error-not-int",
        _per_op(lambda op, hit: reply(op, inner="<error>x</error>")),
        s.SmscProtocolError,
    ),
    Scenario(
        "A33-count-not-int",
        _per_op(
            lambda op, hit: reply(
                op,
                inner="<id>101</id><cnt>abc</cnt>"
                if op == "send_sms"
                else "<balance>abc</balance>",
            )
        ),
        s.SmscProtocolError,
    ),
    Scenario("A34-empty-result", _per_op(lambda op, hit: reply(op, inner="")), s.SmscProtocolError),
    Scenario(
        "A35-other-id",
        _per_op(lambda op, hit: reply(op, "999")),
        s.SmscProtocolError,
        ops=("send_sms",),
    ),
    Scenario(
        "A36-unknown-extra-element",
        _per_op(
            lambda op, hit: (
                reply(op)
                .replace("</cnt>", "</cnt><surprise>1</surprise>")
                .replace("</balance>", "</balance><surprise>1</surprise>")
            )
        ),
        None,
    ),
    Scenario(
        "A37-other-operation",
        _per_op(lambda op, hit: php_reply("get_status", "<status>1</status>")),
        s.SmscProtocolError,
    ),
    *[
        Scenario(
            f"A38-absurd-{name}",
            _per_op(lambda op, hit, v=value: reply(op, inner=v(op))),
            s.SmscProtocolError,
        )
        for name, value in [
            (
                "negative-cnt",
                lambda op: (
                    "<id>101</id><cnt>-5</cnt>" if op == "send_sms" else "<balance>-1e308</balance>"
                ),
            ),
            (
                "nan",
                lambda op: (
                    "<id>101</id><cnt>1</cnt><cost>NaN</cost>"
                    if op == "send_sms"
                    else "<balance>NaN</balance>"
                ),
            ),
            (
                "infinity",
                lambda op: (
                    "<id>101</id><cnt>1</cnt><balance>Infinity</balance>"
                    if op == "send_sms"
                    else "<balance>Infinity</balance>"
                ),
            ),
        ]
    ],
    Scenario(
        "A39-xinclude",
        _per_op(
            lambda op, hit: reply(
                op,
                f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{hit}/xi"/>',
            )
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        # An unknown xsi:type naming a schema on another host: never fetched, and not a success.
        "A40-foreign-xsi-type",
        _per_op(
            lambda op, hit: reply(
                op,
                inner=(
                    '<id xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                    f'xmlns:h="{hit}/ns" xsi:type="h:Evil">101</id><cnt>1</cnt>'
                    if op == "send_sms"
                    else '<balance xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                    f'xmlns:h="{hit}/ns" xsi:type="h:Evil">10.00</balance>'
                ),
            )
        ),
        None,  # read as the value it wraps; the foreign schema is never fetched (0 hits)
    ),
    Scenario(
        "A41-multipart",
        _r(
            "--b\r\nContent-Type: text/xml\r\n\r\n<x/>\r\n--b--",
            **{"Content-Type": 'multipart/related; boundary="b"'},
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        # A processing instruction before the envelope (SOAP forbids them) that names a stylesheet
        # on another host: harmless, never fetched.
        "A42-processing-instruction",
        _per_op(lambda op, hit: reply(op, prolog=f'<?xml-stylesheet href="{hit}/style.xsl"?>\n')),
        None,  # ignored; the stylesheet is never fetched (0 hits)
    ),
    Scenario(
        "A43-soap12",
        _r(
            '<?xml version="1.0"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>'
        ),
        s.SmscProtocolError,
    ),
    Scenario(
        "A44-error-2-not-retried",
        _per_op(lambda op, hit: reply(op, inner="<error>2</error>")),
        s.AuthenticationError,
    ),
    Scenario(
        "A45-unknown-code",
        _per_op(lambda op, hit: reply(op, inner="<error>42</error>")),
        s.SmscApiError,
    ),
    # ---- B: transport faults on an established connection
    Scenario(
        "B51-reset-after-request", lambda op, hit: [reset()], s.SmscTransportError, read_hits=3
    ),
    Scenario(
        "B52-reset-mid-body",
        lambda op, hit: [reset(HEAD_OK + b"<?xml version='1.0'?><SOAP-ENV:Envelope xm")],
        s.SmscTransportError,
        read_hits=3,
    ),
    Scenario(
        "B53-content-length-lie",
        lambda op, hit: [raw(HEAD_OK + b"<?xml version='1.0'?>")],
        s.SmscTransportError,
        read_hits=3,
    ),
    Scenario(
        "B54-no-headers",
        lambda op, hit: [hang(seconds=3)],
        s.SmscReadTimeoutError,
        read_hits=3,
        client=SHORT_TIMEOUTS,
    ),
    Scenario(
        "B55-drip-body",
        lambda op, hit: [drip(HEAD_OK, b"<", 0.1, limit=30)],
        s.SmscDeadlineExceededError,
        client=DRIP_TIMEOUTS,
    ),
    Scenario(
        "B55-drip-headers",
        lambda op, hit: [drip(b"HTTP/1.1 200 OK\r\n", b"X-a: b\r\n", 0.1, limit=30)],
        s.SmscDeadlineExceededError,
        client=DRIP_TIMEOUTS,
    ),
    Scenario(
        "B56-timeout-in-body",
        lambda op, hit: [drip(HEAD_OK, b"<", 1.5, limit=3)],
        s.SmscReadTimeoutError,
        read_hits=3,
        client=SHORT_TIMEOUTS,
    ),
    *[
        Scenario(
            f"B66-redirect-{code}",
            lambda op, hit, c=code: [respond(b"", c, {"Location": f"{hit}/elsewhere"})],
            s.SmscRedirectError,
        )
        for code in (301, 302, 303, 307, 308)
    ],
    Scenario(
        "B68-redirect-to-foreign-http",
        _r(b"", 307, Location="http://example.invalid/sys/soap.php"),
        s.SmscRedirectError,
    ),
    Scenario("B69-redirect-loop", _r(b"", 307, Location="/sys/soap.php"), s.SmscRedirectError),
]

SCENARIOS += [
    Scenario(
        "B66-redirect-with-50mb-body",
        lambda op, hit: [
            stream(
                b"HTTP/1.1 307 X\r\nLocation: /x\r\nContent-Type: text/html\r\n"
                b"Content-Length: 52428800\r\n\r\n",
                b"R" * 65536,
                52428800,
            )
        ],
        s.SmscRedirectError,
    ),
    Scenario(
        "B66-redirect-with-gzip-bomb",
        _per_op(
            lambda op, hit: gzip.compress(b"\0" * 5_000_000),
            307,
            **{"Location": "/x", "Content-Encoding": "gzip"},
        ),
        s.SmscRedirectError,
    ),
]
