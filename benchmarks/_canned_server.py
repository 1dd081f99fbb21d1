"""A canned SOAP server on 127.0.0.1 for the per-call benchmark; prints its URL, stops on stdin EOF.

python _canned_server.py

It answers every POST at once with a PHP-shaped ``send_sms2`` reply that echoes the request's ``<id>``,
over HTTP/1.1 keep-alive. It runs in its own process, so its CPU is not charged to the client measured.
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
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:ns1="'
        + NS.encode()
        + b'"><SOAP-ENV:Body><ns1:Send2Response><sendresult><id>'
        + message_id
        + b"</id><balance>99.50</balance><cost>1.95</cost><cnt>1</cnt></sendresult>"
        b"</ns1:Send2Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


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
            self.transport.write(reply(body))


async def _main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/sys/soap.php", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(_main())
