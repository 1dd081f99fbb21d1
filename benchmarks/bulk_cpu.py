"""Bulk CPU: the client's CPU per message in ``send_bulk``, against a lean client on the same connection.

The emulator runs in its own process with no latency, so the figures are the client process's CPU time
(every thread: producer, senders, journal) divided by the messages sent. ``send_bulk`` runs as shipped:
every line checked, a journal on disk with ``synchronous=FULL``. The lean floor sends the same messages in
the same 100-line ``list`` requests with nothing but an f-string envelope, ``http.client`` on one
keep-alive connection and lxml for the reply: no checks, no journal, no retries.

The ``list`` query rows show the changes that removed double work: a batch's query given as a mapping is
encoded per send and decoded twice (the merge of options, then the numbers to reconcile by), what bulk
sending did first; a prepared query is checked whole and encoded once, never decoded; a batch's query as
bulk sends it now has the run's options checked once per run and its list, made of lines the batcher
checked one by one, only encoded.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import quote_plus, urlsplit
from xml.sax.saxutils import escape

from _common import Figure, info, median
from emulator_throughput import EmulatorProcess

BATCH = 100
CONCURRENCY = 4
NS = "https://smsc.ru/sys/soap.php"


def _messages(count: int, offset: int) -> list[tuple[str, str]]:
    return [
        (f"7999{(offset + i) % 10_000_000:07d}", f"Hello, customer {offset + i}! Your code is {i}.")
        for i in range(count)
    ]


def _bulk(url: str, count: int, offset: int) -> float:
    from smsc_soap import SoapSmsc
    from smsc_soap._bulk.session import send_bulk

    messages = _messages(count, offset)
    with SoapSmsc("test", "test-password", endpoint=url, max_connections=CONCURRENCY) as client:
        client.get_balance()
        started = time.process_time()
        summary = send_bulk(client, messages, concurrency=CONCURRENCY, batch_size=BATCH)
        used = time.process_time() - started
    assert summary.sent == count, summary
    return used / count


def _lean(url: str, count: int, offset: int) -> float:
    from lxml import etree

    messages = _messages(count, offset)
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    try:
        started = time.process_time()
        for start in range(0, count, BATCH):
            listing = "\n".join(f"{p}:{m}" for p, m in messages[start : start + BATCH])
            query = f"cost=3&err=1&list={quote_plus(listing, safe='')}"
            body = (
                '<?xml version="1.0" encoding="utf-8"?><soap-env:Envelope xmlns:soap-env='
                '"http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
                f'<ns0:send2 xmlns:ns0="{NS}"><login>test</login><psw>test-password</psw>'
                f"<phones></phones><mes></mes><id>lean{offset}x{start}</id><sender></sender>"
                f"<time></time><query>{escape(query)}</query></ns0:send2></soap-env:Body>"
                "</soap-env:Envelope>"
            ).encode()
            connection.request(
                "POST", parts.path, body, {"Content-Type": "text/xml; charset=utf-8"}
            )
            reply = etree.fromstring(connection.getresponse().read())
            sent = reply.xpath("string(//*[local-name()='cnt'])")
            assert sent and int(sent) == min(BATCH, count - start), sent
        used = time.process_time() - started
    finally:
        connection.close()
    return used / count


def _query_work(repeat: int) -> tuple[float, float, float]:
    """Microseconds per batch: a mapping query (encoded per send, decoded twice), a prepared one
    (checked whole and encoded once), and a batch's query as bulk sends it now (the run's options
    checked once, the batcher's list only encoded)."""
    from smsc_soap._params.arguments import recipients_of, send_fields
    from smsc_soap._params.query import prepare_list_query, prepare_query

    values = {"cost": "3", "err": "1"}
    values["list"] = "\n".join(f"{p}:{m}" for p, m in _messages(BATCH, 0))
    numbers = ",".join(p for p, _ in _messages(BATCH, 0))

    def mapping() -> None:
        fields, _ = send_fields("send_sms2", "", "", "id1", None, None, dict(values))
        recipients_of(fields)

    def prepared() -> None:
        query = prepare_query(dict(values), "send_sms2", recipients=numbers)
        fields, _ = send_fields("send_sms2", "", "", "id1", None, None, query)
        recipients_of(fields)

    def batch() -> None:
        query = prepare_list_query({"cost": "3", "err": "1"}, values["list"], recipients=numbers)
        fields, _ = send_fields("send_sms2", "", "", "id1", None, None, query)
        recipients_of(fields)

    timings = []
    for work in (mapping, prepared, batch):
        started = time.process_time()
        for _ in range(repeat):
            work()
        timings.append((time.process_time() - started) / repeat * 1e6)
    return timings[0], timings[1], timings[2]


def run(quick: bool) -> list[Figure]:
    """Measure the client's CPU per bulk message against the lean floor, and the query work."""
    count = 1_000 if quick else 10_000
    runs = 1 if quick else 3
    bulk: list[float] = []
    lean: list[float] = []
    with EmulatorProcess(0) as emulator:
        for index in range(runs):  # interleaved, so that drift hits both alike
            bulk.append(_bulk(emulator.url, count, index * 2 * count))
            lean.append(_lean(emulator.url, count, index * 2 * count + count))
    bulk_us, lean_us = median(bulk) * 1e6, median(lean) * 1e6
    mapping_us, prepared_us, batch_us = _query_work(20 if quick else 300)
    note = f"median of {runs}, {count:,} msgs" if runs > 1 else f"one run, {count:,} msgs"
    return [
        info("send_bulk: client CPU per message", bulk_us, "us", note),
        info("  lean floor: f-string envelope, http.client", lean_us, "us", note),
        info("  send_bulk / lean floor", bulk_us / lean_us, "x"),
        info(
            "list query per batch, as a mapping (before)", mapping_us, "us", "encoded, decoded 2x"
        ),
        info("  prepared once", prepared_us, "us", "checked whole, encoded once"),
        info(
            "  a batch's query (now)", batch_us, "us", "options checked once per run, list encoded"
        ),
        info("  before / now", mapping_us / batch_us, "x"),
    ]
