"""A sans-I/O HTTP/1.1 codec for one POST and its reply: bytes in, events out, no sockets.

The sync connection layer (:mod:`.connection`) drives it over blocking sockets, the async one
(:mod:`.async_connection`) from an asyncio protocol's callbacks. It covers what a SOAP client meets: a status line (HTTP/1.0
or 1.1; 1xx interim replies skipped), headers (names lower-cased; malformed lines, obs-fold and a header
block over :data:`MAX_HEAD_BYTES` refused), then a body framed by Content-Length, chunked transfer
coding (size lines and trailers bounded) or the closing of the connection. Every refusal is a
:class:`HttpCodecError`; the parser never buffers more than one header block plus what it was fed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "MAX_HEAD_BYTES",
    "HttpCodecError",
    "IncompleteResponse",
    "MalformedResponse",
    "ResponseHead",
    "ResponseParser",
    "format_request_head",
]

#: The largest status line plus header block (or chunked trailer block) accepted.
MAX_HEAD_BYTES = 64 * 1024
#: The largest chunk-size line (hex size and extensions) accepted.
MAX_CHUNK_LINE = 1024
#: At most this many interim (1xx) replies before the final one.
MAX_INTERIM = 10

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LENGTH = re.compile(r"[0-9]{1,18}")
# Field values: visible characters, spaces, tabs and obs-text; no CR, LF or NUL.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_REQUEST_TEXT = re.compile(r"[\x00-\x1f\x7f]")


class HttpCodecError(Exception):
    """The peer's bytes are not an acceptable HTTP/1.1 reply."""


class MalformedResponse(HttpCodecError):
    """A status line, header, chunk or framing the codec refuses (the text says which)."""


class IncompleteResponse(HttpCodecError):
    """The connection ended before the reply was complete."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A final (non-1xx) reply's status line and headers (names lower-cased, repeats joined)."""

    status: int
    reason: str
    http_version: str
    headers: Mapping[str, str]


def format_request_head(
    target: str, host: str, headers: Mapping[str, str], content_length: int
) -> bytes:
    """The request line and headers of a POST with a ``content_length``-byte body, ending in CRLF CRLF.

    ``host`` is the Host header's value (``name`` or ``name:port``). Names must be tokens, values
    printable: a CR or LF smuggled into either is refused (ValueError), never written.
    """
    return format_request_prefix(target, host, headers) + b"Content-Length: %d\r\n\r\n" % (
        content_length
    )


def format_request_prefix(target: str, host: str, headers: Mapping[str, str]) -> bytes:
    """Everything of :func:`format_request_head` but the Content-Length line and the blank line."""
    if not target.startswith("/") or _BAD_REQUEST_TEXT.search(target) or " " in target:
        raise ValueError("the request target must be a path without spaces or control characters")
    if not host or _BAD_REQUEST_TEXT.search(host) or " " in host:
        raise ValueError("the Host value must be non-empty without spaces or control characters")
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name.encode("latin-1", "replace")):
            raise ValueError(f"invalid header name {name[:40]!r}")
        lowered = name.lower()
        if lowered in {"host", "content-length", "transfer-encoding"}:
            raise ValueError(f"the {name} header is set by the codec")
        if _BAD_REQUEST_TEXT.search(value.replace("\t", " ")):
            raise ValueError(f"invalid value for header {name[:40]!r}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


# Parser states.
_HEAD, _BY_LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _CLOSE, _DONE = range(8)


class ResponseParser:
    """Parses one reply fed in any pieces: :meth:`feed` bytes, ask :meth:`head`, then :meth:`body`.

    ``feed(b"")`` says the peer closed the connection. ``head()`` returns None until the final head is
    complete; ``body()`` returns the body bytes decodable so far (b"" when more must be fed) and sets
    :attr:`done` at the end of the body. :attr:`keep_alive` says, once done, whether the connection
    may carry another request.
    """

    __slots__ = (
        "_buf",
        "_eof",
        "_interim",
        "_remaining",
        "_state",
        "done",
        "keep_alive",
        "response",
    )

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._state = _HEAD
        self._remaining = 0
        self._interim = 0
        self.response: ResponseHead | None = None
        self.done = False
        self.keep_alive = False

    @property
    def buffered(self) -> int:
        """Bytes fed and not yet consumed."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        """Add bytes read from the connection; ``b""`` means the connection ended."""
        if not data:
            self._eof = True
        else:
            self._buf += data

    # ------------------------------------------------------------------ head

    def head(self) -> ResponseHead | None:
        """The final reply's head once complete, else None (feed more); raises on a refused one."""
        while self.response is None:
            block = self._take_block()
            if block is None:
                return None
            head = self._parse_head(block)
            if head is not None:
                self.response = head
                self._frame(head)
        return self.response

    def _take_block(self) -> bytes | None:
        """The next header block (through CRLF CRLF), or None; refuses an oversized one."""
        buf = self._buf
        end = buf.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise MalformedResponse(f"the reply's header block exceeds {MAX_HEAD_BYTES} bytes")
            if self._eof:
                if not buf:
                    raise IncompleteResponse("the connection closed before a reply began")
                raise IncompleteResponse("the connection closed in the middle of the reply headers")
            return None
        block = bytes(buf[:end])
        del buf[: end + 4]
        return block

    def _parse_head(self, block: bytes) -> ResponseHead | None:
        lines = block.split(b"\r\n")
        match = _STATUS.fullmatch(lines[0])
        if match is None:
            raise MalformedResponse(f"invalid status line {lines[0][:60]!r}")
        minor, status = match.group(1), int(match.group(2))
        headers = _parse_fields(lines[1:])
        if 100 <= status < 200:
            if status == 101:
                raise MalformedResponse("the server switched protocols (101), which was not asked")
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise MalformedResponse(f"more than {MAX_INTERIM} interim (1xx) replies")
            return None
        if status < 100:
            raise MalformedResponse(f"invalid status code {status}")
        reason = (match.group(3) or b"").decode("latin-1")
        return ResponseHead(status, reason, f"HTTP/1.{minor.decode()}", headers)

    def _frame(self, head: ResponseHead) -> None:
        headers = head.headers
        keep = head.http_version == "HTTP/1.1" and "close" not in _tokens(
            headers.get("connection", "")
        )
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if head.status in (204, 304):
            self.keep_alive = keep
            self._finish()  # bytes already after the head forbid reuse, as after any body
            return
        if encoding is not None:
            codings = _tokens(encoding)
            if not codings or codings[-1] != "chunked" or codings.count("chunked") != 1:
                raise MalformedResponse(
                    f"unsupported Transfer-Encoding {encoding[:40]!r} (only chunked is read)"
                )
            if len(codings) > 1:
                raise MalformedResponse(
                    f"unsupported Transfer-Encoding {encoding[:40]!r} (no coding is decoded)"
                )
            # A Content-Length beside chunked is ignored, but such a connection is not reused.
            self._state, self.keep_alive = _CHUNK_SIZE, keep and length is None
            return
        if length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not _LENGTH.fullmatch(value := values.pop()):
                raise MalformedResponse(f"invalid Content-Length {length[:40]!r}")
            self._remaining = int(value)
            self._state, self.keep_alive = _BY_LENGTH, keep
            if self._remaining == 0:
                self._finish()
            return
        self._state, self.keep_alive = _CLOSE, False

    # ------------------------------------------------------------------ body

    def body(self) -> bytes:
        """Body bytes decodable now (b"" if more must be fed or the body is done)."""
        if self.response is None:
            raise RuntimeError("the head is not complete")
        out: list[bytes] = []
        while True:
            state = self._state
            buf = self._buf
            if state == _DONE:
                break
            if state == _BY_LENGTH:
                if buf:
                    take = min(self._remaining, len(buf))
                    out.append(bytes(buf[:take]))
                    del buf[:take]
                    self._remaining -= take
                    if self._remaining == 0:
                        self._finish()
                        continue
                if self._eof:
                    raise IncompleteResponse(
                        f"the connection closed {self._remaining} bytes before the declared end "
                        "of the reply"
                    )
                break
            if state == _CLOSE:
                if buf:
                    out.append(bytes(buf))
                    buf.clear()
                if self._eof:
                    self._finish()
                break
            if state == _CHUNK_SIZE:
                line = self._line(MAX_CHUNK_LINE, "chunk-size line")
                if line is None:
                    break
                size_text = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(size_text):
                    raise MalformedResponse(f"invalid chunk size {line[:40]!r}")
                self._remaining = int(size_text, 16)
                self._state = _CHUNK_DATA if self._remaining else _TRAILER
                continue
            if state == _CHUNK_DATA:
                if buf:
                    take = min(self._remaining, len(buf))
                    out.append(bytes(buf[:take]))
                    del buf[:take]
                    self._remaining -= take
                    if self._remaining == 0:
                        self._state = _CHUNK_END
                        continue
                if self._eof:
                    raise IncompleteResponse("the connection closed in the middle of a chunk")
                break
            if state == _CHUNK_END:
                if len(buf) < 2:
                    if self._eof:
                        raise IncompleteResponse("the connection closed after a chunk's data")
                    break
                if buf[:2] != b"\r\n":
                    raise MalformedResponse("a chunk's data is not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
                continue
            # _TRAILER: field lines up to an empty line, bounded like the head; read and dropped.
            if buf[:2] == b"\r\n":
                del buf[:2]
                self._finish()
                continue
            end = buf.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    raise MalformedResponse(f"the chunked trailer exceeds {MAX_HEAD_BYTES} bytes")
                if self._eof:
                    raise IncompleteResponse("the connection closed in the chunked trailer")
                break
            _parse_fields(bytes(buf[:end]).split(b"\r\n"))
            del buf[: end + 4]
            self._finish()
        return b"".join(out)

    def _finish(self) -> None:
        self._state, self.done = _DONE, True
        if self._buf:
            # Bytes after the reply (nothing was asked for): the connection is not reused.
            self.keep_alive = False

    def _line(self, cap: int, what: str) -> bytes | None:
        buf = self._buf
        end = buf.find(b"\r\n", 0, cap + 2)
        if end < 0:
            if len(buf) > cap:
                raise MalformedResponse(f"the {what} exceeds {cap} bytes")
            if self._eof:
                raise IncompleteResponse(f"the connection closed in a {what}")
            return None
        line = bytes(buf[:end])
        del buf[: end + 2]
        return line


def _parse_fields(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise MalformedResponse("a folded header line (obs-fold) is refused")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise MalformedResponse(f"invalid header line {line[:60]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise MalformedResponse(f"invalid characters in the {name[:40]!r} header")
        key = name.decode("ascii").lower()
        text = value.decode("latin-1")
        previous = headers.get(key)
        headers[key] = text if previous is None else f"{previous}, {text}"
    return headers


def _tokens(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]
