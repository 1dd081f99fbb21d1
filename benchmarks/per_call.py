"""Per-call CPU with the network stubbed out: the facade against plain zeep, and a hand-built floor.

Every side posts through the same in-memory requests adapter (no socket; it answers a PHP-shaped
reply echoing the request's id), so the figures compare only what each side does around the HTTP
call: argument checks, envelope serialisation, reply parsing and result conversion. The async client
is measured the same way through ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from _common import Figure, at_most, info, interleaved, median

NS = "https://smsc.ru/sys/soap.php"
ENDPOINT = "http://127.0.0.1:9/sys/soap.php"
_ID = re.compile(rb"<id>([^<]*)</id>")


def _reply(request_body: bytes) -> bytes:
    match = _ID.search(request_body)
    message_id = match.group(1).decode() if match else "1"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:ns1="{NS}"><SOAP-ENV:Body><ns1:Send2Response><sendresult><id>{message_id}</id>'
        "<balance>99.50</balance><cost>1.95</cost><cnt>1</cnt></sendresult></ns1:Send2Response>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    ).encode()


def _stub_adapter() -> Any:
    import requests
    import urllib3
    from requests.adapters import BaseAdapter, HTTPAdapter

    builder = HTTPAdapter()

    class Stub(BaseAdapter):  # type: ignore[misc]
        """Answers every POST in memory."""

        def send(self, request: Any, **kwargs: Any) -> requests.Response:
            body = request.body if isinstance(request.body, bytes) else request.body.encode()
            payload = _reply(body)
            raw = urllib3.HTTPResponse(
                body=io.BytesIO(payload),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "Content-Length": str(len(payload)),
                },
                status=200,
                preload_content=False,
                decode_content=False,
            )
            return builder.build_response(request, raw)

        def close(self) -> None:
            pass

    return Stub()


def _facade() -> tuple[Callable[[int], None], Callable[[], None]]:
    from smsc_soap import SoapSmsc

    client = SoapSmsc("alex", "123", endpoint=ENDPOINT)
    client._transport._get_session().mount("http://", _stub_adapter())

    def call(i: int) -> None:
        client.send_sms2("79999999999", f"Hello, customer {i}!", id=f"b{i}", query={"cost": 3})

    return call, client.close


def _zeep() -> tuple[Callable[[int], None], Callable[[], None]]:
    import requests
    import zeep

    from smsc_soap._soap.wsdl import wsdl_path

    session = requests.Session()
    session.mount("http://", _stub_adapter())
    client = zeep.Client(str(wsdl_path()), transport=zeep.Transport(session=session))
    service = client.create_service(f"{{{NS}}}ServiceSoap", ENDPOINT)

    def call(i: int) -> None:
        service.send_sms2(
            login="alex",
            psw="123",
            phones="79999999999",
            mes=f"Hello, customer {i}!",
            id=f"b{i}",
            sender="",
            time="",
            query="cost=3",
        )

    return call, session.close


_ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
    f'<ns0:send_sms2 xmlns:ns0="{NS}"><login>{{login}}</login><psw>{{psw}}</psw>'
    "<phones>{phones}</phones><mes>{mes}</mes><id>{id}</id><sender></sender><time></time>"
    "<query>{query}</query></ns0:send_sms2></soap-env:Body></soap-env:Envelope>"
)


def _floor() -> tuple[Callable[[int], None], Callable[[], None]]:
    import requests
    from lxml import etree

    session = requests.Session()
    session.mount("http://", _stub_adapter())
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}"'}
    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def call(i: int) -> None:
        fields = {
            "login": "alex",
            "psw": "123",
            "phones": "79999999999",
            "mes": f"Hello, customer {i}!",
            "id": f"b{i}",
            "query": "cost=3",
        }
        body = _ENVELOPE.format(**{k: escape(v) for k, v in fields.items()}).encode()
        response = session.post(ENDPOINT, data=body, headers=headers)
        root = etree.fromstring(response.content, parser)
        result = {el.tag: el.text for el in root.iter("id", "balance", "cost", "cnt")}
        assert result["id"] == fields["id"]

    return call, session.close


def _async_facade() -> tuple[Callable[[int], None], Callable[[], None]]:
    import httpx

    from smsc_soap._client.async_client import AsyncSoapSmsc

    client = AsyncSoapSmsc("alex", "123", endpoint=ENDPOINT)
    runner = asyncio.Runner()

    def handler(request: httpx.Request) -> httpx.Response:
        payload = _reply(request.content)
        headers = {"Content-Type": "text/xml; charset=utf-8", "Content-Length": str(len(payload))}
        return httpx.Response(200, stream=httpx.ByteStream(payload), headers=headers)

    async def install() -> None:
        transport = client._transport
        transport._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        transport._loop = asyncio.get_running_loop()

    runner.run(install())

    def call(i: int) -> None:
        async def batch() -> None:
            await client.send_sms2(
                "79999999999", f"Hello, customer {i}!", id=f"a{i}", query={"cost": 3}
            )

        runner.run(batch())

    def close() -> None:
        runner.run(client.aclose())
        runner.close()

    return call, close


def _per_call_us(call: Callable[[int], None], calls: int, offset: list[int]) -> float:
    start = offset[0]
    offset[0] += calls
    began = time.process_time()
    for i in range(start, start + calls):
        call(i)
    return (time.process_time() - began) / calls * 1e6


def run(quick: bool) -> list[Figure]:
    """Measure per-call CPU of each side."""
    calls = 150 if quick else 1500
    runs = 3 if quick else 5
    sides = [_facade(), _zeep(), _floor(), _async_facade()]
    counters = [[0] for _ in sides]
    for (call, _), counter in zip(sides, counters, strict=True):
        _per_call_us(call, 50, counter)  # warm up: WSDL loaded, caches filled
    measures = [
        (lambda c=call, k=counter: _per_call_us(c, calls, k))
        for (call, _), counter in zip(sides, counters, strict=True)
    ]
    facade, plain, floor, async_facade = (median(r) for r in interleaved(runs, *measures))
    for _, close in sides:
        close()
    return [
        info("SoapSmsc.send_sms2, network stubbed", facade, "us/call", f"median of {runs}x{calls}"),
        info("plain zeep service.send_sms2, same stub", plain, "us/call"),
        at_most("  ratio facade / plain zeep", facade / plain, "x", 1.10),
        info("floor: hand-built envelope + lxml parse", floor, "us/call"),
        info("  ratio facade / floor", facade / floor, "x"),
        info("AsyncSoapSmsc.send_sms2, httpx.MockTransport", async_facade, "us/call"),
    ]
