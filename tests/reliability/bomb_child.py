"""Run in a subprocess: serve one bomb on 127.0.0.1, call the client, print peak memory and time as JSON."""

from __future__ import annotations

import json
import resource
import sys
import time
import zlib

from smsc_soap import SmscError, SoapSmsc
from tests.helpers.raw_server import RawServer, respond
from tests.reliability.scenarios import XML_DECL, billion_laughs, reply, stream
from tests.wire import php_reply


def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes, built in 1 MB steps so the child's peak stays low."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 1_000_000
    parts = [comp.compress(block) for _ in range(size // len(block))]
    parts.append(comp.flush())
    return b"".join(parts)


def bombs(name: str) -> tuple[list[object], dict[str, object]]:
    """The server behaviour and client options for bomb ``name``."""
    big = {"max_response_bytes": 4 * 1024 * 1024}  # let the parser see the whole bomb
    if name == "billion-laughs":
        prolog, ref = billion_laughs()
        return [respond(reply("get_balance", ref, prolog))], big
    if name == "quadratic":
        entity = "A" * 50_000
        body = reply("get_balance", "&a;" * 20_000, f'<!DOCTYPE e [<!ENTITY a "{entity}">]>')
        return [respond(body)], {"max_response_bytes": 2 * len(body)}
    if name == "deep-nesting":
        return [respond(XML_DECL + "<d>" * 100_000 + "</d>" * 100_000)], big
    if name == "text-50mb":
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n"
            + php_reply("get_balance", "<balance>").encode()[:200]
        )
        return [stream(head, b"1" * 65536, 50_000_000)], {}
    if name == "elements-50mb-chunked":
        piece = b"10000\r\n" + b"<x>1</x>" * 8192 + b"\r\n"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
        return [stream(head, piece, 50_000_000)], {}
    if name == "gzip-bomb-200mb":
        return [respond(gzip_bomb(200_000_000), headers={"Content-Encoding": "gzip"})], {}
    if name == "gzip-bomb-in-redirect":
        return [
            respond(gzip_bomb(200_000_000), 307, {"Content-Encoding": "gzip", "Location": "/x"})
        ], {}
    if (
        name == "control-100mb"
    ):  # proves the measurement sees growth: the test expects a large delta
        return [respond(php_reply("get_balance", "<balance>2</balance>"))], {}
    raise SystemExit(f"unknown bomb {name}")


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM), so the delta measures this call, not the warm-up."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # not Linux, or not allowed: fall back to ru_maxrss, a lifetime peak
        pass


def _peak_kb() -> int:
    """The peak resident set size in KB: VmHWM when available, else ru_maxrss."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(name: str) -> None:
    """Warm up with a normal call, then measure the bomb."""
    behaviours, options = bombs(name)
    with RawServer(
        respond(php_reply("get_balance", "<balance>1</balance>")), *behaviours
    ) as server:
        client = SoapSmsc("alex", "pw", endpoint=server.url, mirrors=[], timeout=10, **options)  # type: ignore[arg-type]
        client.get_balance()
        _reset_peak()
        baseline = _peak_kb()
        started = time.monotonic()
        cpu_started = time.thread_time()
        error = "none"
        ballast = bytearray(100 * 1024 * 1024 if name == "control-100mb" else 0)
        ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page so it is resident
        try:
            client.get_balance()
        except SmscError as exc:
            error = type(exc).__name__
            message = str(exc)
        else:
            message = ""
        elapsed = time.monotonic() - started
        cpu = time.thread_time() - cpu_started
        peak = _peak_kb()
    print(
        json.dumps(
            {
                "error": error,
                "message_len": len(message),
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "peak_delta_kb": peak - baseline,
                "baseline_kb": baseline,
                "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
