"""The sans-I/O HTTP/1.1 codec: requests formatted exactly, replies parsed the same however they are
split, hostile replies refused with a typed error and bounded memory, and keep-alive decided right."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsc_soap._http.codec import (
    MAX_HEAD_BYTES,
    HttpCodecError,
    IncompleteResponse,
    MalformedResponse,
    ResponseParser,
    format_request_head,
)

BODY = b'<?xml version="1.0"?><Envelope><id>101</id></Envelope>'


def parse(pieces: list[bytes], *, close: bool = True) -> tuple[int, dict[str, str], bytes, bool]:
    """Feed ``pieces`` one by one (then EOF if ``close``); the status, headers, body, keep-alive."""
    parser = ResponseParser()
    body: list[bytes] = []
    for piece in pieces:
        parser.feed(piece)
        if parser.head() is not None:
            body.append(parser.body())
    if close and not parser.done:
        parser.feed(b"")
        if parser.head() is not None:
            body.append(parser.body())
    head = parser.head()
    assert head is not None and parser.done
    return head.status, dict(head.headers), b"".join(body), parser.keep_alive


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for point in [*points, len(data)]:
        pieces.append(data[start:point])
        start = point
    return [p for p in pieces if p]


def chunked(body: bytes, size: int) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


REPLIES = {
    "length": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(BODY)
        + BODY,
        True,
    ),
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(BODY, 7),
        True,
    ),
    "close-delimited": (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n" + BODY, False),
    "http-1.0": (b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY, False),
    "connection-close": (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        False,
    ),
    "after-100-continue": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        True,
    ),
}


def test_request_head_is_exact() -> None:
    head = format_request_head(
        "/sys/soap.php?x=1",
        "smsc.ru",
        {"User-Agent": "ua", "SOAPAction": '"a"', "Content-Type": "text/xml"},
        42,
    )
    assert head == (
        b"POST /sys/soap.php?x=1 HTTP/1.1\r\nHost: smsc.ru\r\nUser-Agent: ua\r\n"
        b'SOAPAction: "a"\r\nContent-Type: text/xml\r\nContent-Length: 42\r\n\r\n'
    )


@pytest.mark.parametrize(
    ("target", "host", "headers"),
    [
        ("/x\r\nX: y", "h", {}),
        ("/x y", "h", {}),
        ("x", "h", {}),
        ("/x", "h\r\n", {}),
        ("/x", "", {}),
        ("/x", "h", {"X-A": "v\r\nInjected: 1"}),
        ("/x", "h", {"X-A": "v\n"}),
        ("/x", "h", {"Bad Name": "v"}),
        ("/x", "h", {"X:A": "v"}),
        ("/x", "h", {"Content-Length": "1"}),
        ("/x", "h", {"Host": "evil"}),
    ],
)
def test_request_injection_is_refused(target: str, host: str, headers: dict[str, str]) -> None:
    """A CR or LF (or a space) smuggled into the target, Host or a header never reaches the wire."""
    with pytest.raises(ValueError):
        format_request_head(target, host, headers, 1)


@pytest.mark.parametrize("name", list(REPLIES))
def test_each_framing_parses_whole(name: str) -> None:
    data, keep = REPLIES[name]
    status, headers, body, keep_alive = parse([data])
    assert (status, body, keep_alive) == (200, BODY, keep)
    assert all(key == key.lower() for key in headers)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(REPLIES)), cuts=st.lists(st.integers(0, 400), max_size=30))
def test_any_split_parses_the_same(name: str, cuts: list[int]) -> None:
    """However the bytes arrive (one at a time, in odd pieces), the reply is the same."""
    data, keep = REPLIES[name]
    assert parse(split(data, cuts)) == parse([data])
    assert parse(split(data, cuts))[3] is keep


def test_byte_by_byte() -> None:
    for data, _ in REPLIES.values():
        assert parse([data[i : i + 1] for i in range(len(data))]) == parse([data])


def test_repeated_headers_are_joined_and_names_lowered() -> None:
    data = b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nCONTENT-LENGTH: 0\r\n\r\n"
    _, headers, body, keep = parse([data])
    assert headers == {"x-a": "1, 2", "content-length": "0"} and body == b"" and keep


def test_no_body_statuses_and_zero_length() -> None:
    for data in (
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ):
        assert parse([data], close=False)[2:] == (b"", True)


def test_bytes_after_the_reply_forbid_reuse() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"
    assert parse([data], close=False)[2:] == (b"ok", False)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_bytes_after_an_empty_body_forbid_reuse(head: bytes) -> None:
    """A reply with no body, followed in the same read by bytes nobody asked for (a second reply, a
    body the server thought it was sending): the connection's framing is in doubt, never reused."""
    junk = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert parse([head + junk], close=False)[2:] == (b"", False)


def test_content_length_beside_chunked_forbids_reuse() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n" + (
        chunked(BODY, 10)
    )
    assert parse([data], close=False)[2:] == (BODY, False)


HOSTILE = {
    "not-http": b"SSH-2.0-OpenSSH\r\n\r\n",
    "http-2": b"HTTP/2 200\r\n\r\n",
    "http-0.9-ish": b"<html>hello</html>\r\n\r\n",
    "bad-status": b"HTTP/1.1 2000 OK\r\n\r\n",
    "status-below-100": b"HTTP/1.1 099 X\r\n\r\n",
    "switching-protocols": b"HTTP/1.1 101 Switching\r\n\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    "no-colon": b"HTTP/1.1 200 OK\r\nJust a line\r\n\r\n",
    "space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "nul-in-value": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
    "cr-in-value": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
    "bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
    "negative-length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "unicode-digit-length": "HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\n".encode("latin-1"),
    "conflicting-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "huge-length": b"HTTP/1.1 200 OK\r\nContent-Length: 1" + b"0" * 30 + b"\r\n\r\n",
    "gzip-transfer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "unknown-transfer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "huge-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"f" * 17
    + b"\r\n",
    "chunk-without-crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX",
    "too-many-interim": b"HTTP/1.1 100 Continue\r\n\r\n" * 11,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_reply_is_refused(name: str) -> None:
    parser = ResponseParser()
    parser.feed(HOSTILE[name])
    with pytest.raises(MalformedResponse):
        parser.head()
        parser.body()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
    ],
)
def test_eof_before_the_end_is_incomplete(data: bytes) -> None:
    parser = ResponseParser()
    parser.feed(data)
    parser.feed(b"")
    with pytest.raises(IncompleteResponse):
        parser.head()
        parser.body()


def test_a_header_block_over_the_cap_is_refused_without_growing() -> None:
    """Endless headers: refused once the block passes the cap; memory stays near it."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    with pytest.raises(MalformedResponse, match="header block"):
        for _ in range(1000):
            parser.feed(line)
            assert parser.head() is None
    assert parser.buffered <= MAX_HEAD_BYTES + len(line)


def test_an_endless_chunk_size_line_and_trailer_are_refused() -> None:
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 2000)
    assert parser.head() is not None
    with pytest.raises(MalformedResponse, match="chunk-size line"):
        parser.body()
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    assert parser.head() is not None
    with pytest.raises(MalformedResponse, match="trailer"):
        for _ in range(100):
            parser.feed(b"X-T: " + b"t" * 1000 + b"\r\n")
            assert parser.body() == b""


def test_body_is_handed_out_as_it_arrives() -> None:
    """A large body is not accumulated by the parser: each body() hands out what was fed."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert parser.head() is not None
    for _ in range(100):
        parser.feed(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
        assert len(parser.body()) == 0x4000 and parser.buffered == 0
    assert not parser.done


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=8))
def test_random_bytes_end_typed(data: bytes, cuts: list[int]) -> None:
    """Whatever the bytes, fed in any pieces and then closed: a reply or a typed error, never a hang."""
    parser = ResponseParser()
    try:
        for piece in [*split(data, cuts), b""]:
            parser.feed(piece)
            if parser.head() is not None:
                parser.body()
        assert parser.head() is not None and parser.done
    except HttpCodecError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 500 X\r\n", b"HTTP/1.1 100 C\r\n"]),
    lines=st.lists(st.binary(max_size=40), max_size=6),
    rest=st.binary(max_size=100),
)
def test_random_header_lines_end_typed(prefix: bytes, lines: list[bytes], rest: bytes) -> None:
    data = prefix + b"\r\n".join(lines) + b"\r\n\r\n" + rest
    parser = ResponseParser()
    try:
        parser.feed(data)
        parser.feed(b"")
        if parser.head() is not None:
            parser.body()
        assert parser.head() is not None and parser.done
    except HttpCodecError:
        pass
