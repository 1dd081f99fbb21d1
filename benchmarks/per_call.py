"""Per-call CPU over a real keep-alive HTTP connection: the facade against plain zeep and a minimal floor.

A canned server in its own process answers every ``send_sms2`` at once (its CPU is not charged to this
process); each side keeps one connection alive to it, and the figure is this process's CPU time per call
(``time.process_time``: every thread, the deadline watchdog included).

* **ours:** ``SoapSmsc.send_sms2`` as a user calls it.
* **plain zeep:** ``service.send_sms2`` with a requests session set like ours (``trust_env`` off, so
  neither side scans the environment per call).
* **floor:** the least a client can do: an f-string envelope (escaped), ``http.client`` on a keep-alive
  connection, the reply parsed with lxml.
* **transport alone:** the same pre-built envelope posted by our transport (``SyncTransport.post``, the
  seam the client calls: keep-alive sockets and the sans-I/O codec), by the same transport on its
  urllib3 path (what proxied endpoints use), by the requests-based ``RequestsTransport`` it replaced,
  and by bare ``http.client``; reply body read, not parsed.

Every figure is measured in this process, the sides interleaved so that drift hits all alike.
"""

from __future__ import annotations

import asyncio
import http.client
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from _common import ROOT, Figure, at_most, info, interleaved, median

HERE = Path(__file__).resolve().parent
NS = "https://smsc.ru/sys/soap.php"
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}"'}

Side = tuple[Callable[[int], None], Callable[[], None]]


class CannedServer:
    """The canned SOAP server in a child process; its URL is known once started."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_canned_server.py"), str(latency_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the canned server did not start")

    def __enter__(self) -> CannedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def _ours(url: str) -> Side:
    from smsc_soap import SoapSmsc

    client = SoapSmsc("alex", "123", endpoint=url)

    def call(i: int) -> None:
        result = client.send_sms2(
            "79999999999", f"Hello, customer {i}!", id=f"b{i}", query={"cost": 3}
        )
        assert result.id == f"b{i}"

    return call, client.close


def _zeep(url: str) -> Side:
    import requests
    import zeep

    from smsc_soap._soap.wsdl import wsdl_path

    session = requests.Session()
    session.trust_env = False  # as ours: no per-call scan of proxy/CA variables and .netrc
    client = zeep.Client(str(wsdl_path()), transport=zeep.Transport(session=session))
    service = client.create_service(f"{{{NS}}}ServiceSoap", url)

    def call(i: int) -> None:
        result = service.send_sms2(
            login="alex",
            psw="123",
            phones="79999999999",
            mes=f"Hello, customer {i}!",
            id=f"b{i}",
            sender="",
            time="",
            query="cost=3",
        )
        assert result.id == f"b{i}"

    return call, session.close


def _floor(url: str) -> Side:
    from lxml import etree

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def call(i: int) -> None:
        mes, message_id = escape(f"Hello, customer {i}!"), f"b{i}"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
            f'<soap-env:Body><ns0:send_sms2 xmlns:ns0="{NS}"><login>alex</login><psw>123</psw>'
            f"<phones>79999999999</phones><mes>{mes}</mes><id>{escape(message_id)}</id>"
            "<sender></sender><time></time><query>cost=3</query></ns0:send_sms2>"
            "</soap-env:Body></soap-env:Envelope>"
        ).encode()
        conn.request("POST", parts.path, body, HEADERS)
        response = conn.getresponse()
        root = etree.fromstring(response.read(), parser)
        result = {el.tag: el.text for el in root.iter("id", "balance", "cost", "cnt")}
        assert response.status == 200 and result["id"] == message_id

    return call, conn.close


def _envelope() -> bytes:
    from smsc_soap._soap.protocol import protocol_for

    fields = {"phones": "79999999999", "mes": "Hello!", "id": "b1", "query": "cost=3"}
    return protocol_for(NS).build("send_sms2", fields, {"login": "alex", "psw": "123"}).body


def _our_transport(url: str) -> Side:
    from smsc_soap import SoapSmsc

    client = SoapSmsc("alex", "123", endpoint=url)
    transport = client._transport  # the seam the client posts through
    body = _envelope()

    def call(i: int) -> None:
        reply = transport.post(url, body, HEADERS, time.monotonic() + 30)
        assert reply.status == 200 and reply.body

    return call, client.close


def _urllib3_transport(url: str) -> Side:
    from smsc_soap._http.sync_transport import SyncTransport
    from smsc_soap._http.types import TransportConfig

    transport = SyncTransport(TransportConfig(), sockets=False)
    body = _envelope()

    def call(i: int) -> None:
        reply = transport.post(url, body, HEADERS, time.monotonic() + 30)
        assert reply.status == 200 and reply.body

    return call, transport.close


def _requests_transport(url: str) -> Side:
    from smsc_soap._http.requests_transport import RequestsTransport
    from smsc_soap._http.types import TransportConfig

    transport = RequestsTransport(TransportConfig())
    body = _envelope()

    def call(i: int) -> None:
        reply = transport.post(url, body, HEADERS, time.monotonic() + 30)
        assert reply.status == 200 and reply.body

    return call, transport.close


def _floor_transport(url: str) -> Side:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
    body = _envelope()

    def call(i: int) -> None:
        conn.request("POST", parts.path, body, HEADERS)
        response = conn.getresponse()
        assert response.status == 200 and response.read()

    return call, conn.close


def _async_ours(url: str) -> Side:
    from smsc_soap import AsyncSoapSmsc

    client = AsyncSoapSmsc("alex", "123", endpoint=url)
    runner = asyncio.Runner()

    def call(i: int) -> None:
        async def one() -> None:
            result = await client.send_sms2(
                "79999999999", f"Hello, customer {i}!", id=f"a{i}", query={"cost": 3}
            )
            assert result.id == f"a{i}"

        runner.run(one())

    def batch(start: int, count: int) -> None:
        """``count`` calls awaited one after another inside one running loop, as an app makes them."""

        async def many() -> None:
            for i in range(start, start + count):
                result = await client.send_sms2(
                    "79999999999", f"Hello, customer {i}!", id=f"a{i}", query={"cost": 3}
                )
                assert result.id == f"a{i}"

        runner.run(many())

    call.batch = batch  # type: ignore[attr-defined]

    def close() -> None:
        runner.run(client.aclose())
        runner.close()

    return call, close


def _per_call_us(call: Callable[[int], None], calls: int, offset: list[int]) -> float:
    start = offset[0]
    offset[0] += calls
    batch = getattr(call, "batch", None)
    began = time.process_time()
    if batch is not None:
        batch(start, calls)
    else:
        for i in range(start, start + calls):
            call(i)
    return (time.process_time() - began) / calls * 1e6


def measure(quick: bool, url: str) -> dict[str, float]:
    """Median CPU per call of every side, in microseconds."""
    calls = 100 if quick else 1000
    runs = 3 if quick else 7
    makers = {
        "ours": _ours,
        "zeep": _zeep,
        "floor": _floor,
        "our_transport": _our_transport,
        "urllib3_transport": _urllib3_transport,
        "requests_transport": _requests_transport,
        "floor_transport": _floor_transport,
        "async": _async_ours,
    }
    sides = {name: make(url) for name, make in makers.items()}
    counters = {name: [0] for name in sides}
    try:
        for name, (call, _) in sides.items():
            _per_call_us(call, 50, counters[name])  # warm up: WSDL loaded, connection open
        measures = [
            (lambda c=call, k=counters[name]: _per_call_us(c, calls, k))
            for name, (call, _) in sides.items()
        ]
        results = interleaved(runs, *measures)
    finally:
        for _, close in sides.values():
            close()
    figures = {name: median(values) for name, values in zip(sides, results, strict=True)}
    figures["runs"], figures["calls"] = runs, calls
    return figures


def run(quick: bool) -> list[Figure]:
    """Measure per-call CPU of each side over keep-alive HTTP."""
    with CannedServer() as server:
        m = measure(quick, server.url)
    note = f"median of {m['runs']:g} runs x {m['calls']:g} calls"
    return [
        info("SoapSmsc.send_sms2, keep-alive HTTP", m["ours"], "us/call", note),
        info("plain zeep, requests session as ours (trust_env off)", m["zeep"], "us/call"),
        at_most("  ratio ours / plain zeep", m["ours"] / m["zeep"], "x", 0.7),
        info("floor: f-string envelope + http.client + lxml", m["floor"], "us/call"),
        at_most("  ratio ours / floor", m["ours"] / m["floor"], "x", 3.0),
        info("transport alone: SyncTransport.post, built envelope", m["our_transport"], "us/call"),
        info(
            "  the same on its urllib3 path (proxied endpoints)",
            m["urllib3_transport"],
            "us/call",
        ),
        info(
            "  the same on requests (RequestsTransport, not shipped)",
            m["requests_transport"],
            "us/call",
        ),
        info("transport floor: http.client, same envelope", m["floor_transport"], "us/call"),
        info(
            "  ratio transport / transport floor",
            m["our_transport"] / m["floor_transport"],
            "x",
        ),
        info("AsyncSoapSmsc.send_sms2, keep-alive HTTP, one loop", m["async"], "us/call"),
        info("  ratio async / plain zeep", m["async"] / m["zeep"], "x"),
    ]


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(figure.line())
