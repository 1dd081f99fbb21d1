"""A canned SOAP server on 127.0.0.1 for the benchmarks; prints its URL, stops on stdin EOF.

python _canned_server.py [latency_ms]

It answers every POST with a PHP-shaped ``send_sms2`` reply that echoes the request's ``<id>`` and counts
the lines of a ``list`` (``cnt``), over HTTP/1.1 keep-alive, at once or ``latency_ms`` after the request
arrived (requests on different connections wait in parallel, as on a remote service). It runs in its own
process and does next to no work per message, so neither its CPU nor the emulator's is charged to the
client measured: what a client takes beyond the latency is its own.
"""

from __future__ import annotations

import asyncio
import re
import sys

NS = "https://smsc.ru/sys/soap.php"
_ID = re.compile(rb"<id>([^<]*)</id>")


def reply(request_body: bytes) -> bytes:
    """The HTTP response to one request body."""
    match = _ID.search(request_body)
    message_id = match.group(1) if match else b"1"
    # A list's lines are separated by an encoded newline (%0A); a newline inside a text is "\\n".
    count = request_body.count(b"%0A") + 1 if b"list=" in request_body else 1
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:ns1="'
        + NS.encode()
        + b'"><SOAP-ENV:Body><ns1:Send2Response><sendresult><id>'
        + message_id
        + b"</id><balance>99.50</balance><cost>"
        + f"{count * 1.95:.2f}".encode()
        + b"</cost><cnt>"
        + str(count).encode()
        + b"</cnt></sendresult>"
        b"</ns1:Send2Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


LATENCY = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0


class _Http(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            assert self.transport is not None
            if LATENCY:
                asyncio.get_running_loop().call_later(LATENCY, self._write, reply(body))
            else:
                self.transport.write(reply(body))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


async def _main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/sys/soap.php", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(_main())
