"""``smsc-soap serve`` for a person, and the server's bounds: connections, request log, memory."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from smsc_soap.cli import add_serve
from smsc_soap.emulator import Emulator, EmulatorServer, ManualClock, default_account
from tests.helpers.fakes import wait_until

ROOT = Path(__file__).resolve().parents[2]
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "https://smsc.ru/sys/soap.php"


def envelope(element: str, inner: str) -> bytes:
    """A request envelope as PHP's SoapClient writes it."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:{element}>{inner}</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSC_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def serve() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``smsc-soap serve --sender MyShop`` on a free port (with --host, the old name of --bind)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smsc_soap",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--account",
            "alex:123:50",
            "--apikey",
            "KEY1",
            "--sender",
            "MyShop",
            "--sender",
            "Other",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+/sys/soap\.php)", first)
        assert match, first
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stdout is not None and process.stderr is not None
    return process.stdout.read(), process.stderr.read()


CREDS = "<login>alex</login><psw>123</psw>"


@pytest.mark.slow
def test_serve_senders_log_and_unblock(serve: tuple[subprocess.Popen[str], str]) -> None:
    """--sender registers names, stderr has a line per request with the reason, and
    POST /emulator/unblock lifts the block of five wrong passwords without a restart."""
    process, url = serve

    def send(sender: str) -> str:
        inner = f"{CREDS}<phones>79991234567</phones><mes>hi</mes><sender>{sender}</sender>"
        return requests.post(url, data=envelope("send", inner), timeout=10).text

    assert "<id>1</id>" in send("MyShop")
    assert "<error>6</error>" in send("Nobody")
    key = envelope("balance", "<apikey>KEY1</apikey>")
    assert "<error>2</error>" in requests.post(url, data=key, timeout=10).text
    wrong = envelope("balance", "<login>alex</login><psw>nope</psw>")
    for _ in range(4):
        requests.post(url, data=wrong, timeout=10)
    balance = envelope("balance", CREDS)
    assert "<error>4</error>" in requests.post(url, data=balance, timeout=10).text
    admin = url.replace("/sys/soap.php", "/emulator/unblock")
    assert requests.post(admin, timeout=10).text == "unblocked: 127.0.0.1\n"
    assert "<balance>" in requests.post(url, data=balance, timeout=10).text
    out, err = _stop(process)
    assert "senders MyShop, Other, SmscTest" in out and "emulator/unblock" in out
    lines = err.splitlines()
    assert len(lines) == 9
    assert re.search(r"send_sms login=alex -> ok: id=1 cnt=1$", lines[0])
    assert "send_sms login=alex -> error 6: sender 'Nobody' is not registered" in lines[1]
    assert "get_balance login=- -> error 2" in lines[2]
    assert "ignored undeclared <apikey>" in lines[2]
    assert "error 4: IP 127.0.0.1 is blocked" in lines[7]
    assert "123" not in err.replace("127.0.0.1", "") and "KEY1" not in err


def test_bind_and_host_alias_parse_to_the_same_option() -> None:
    """serve takes --bind for the listen address and keeps --host as its alias."""
    parser = argparse.ArgumentParser()
    add_serve(parser)
    assert parser.parse_args(["--bind", "0.0.0.0"]).bind == "0.0.0.0"
    assert parser.parse_args(["--host", "::1"]).bind == "::1"
    args = parser.parse_args(["--sender", "A", "--sender", "B", "--apikey-element"])
    assert (args.sender, args.apikey_element, args.documented_fields) == (["A", "B"], True, False)
    assert (args.log_limit, args.log_body_bytes, args.max_connections) == (1000, 1024, 256)


def test_connections_are_capped_with_a_503() -> None:
    """Past max_connections a new connection gets 503 and is closed; below it requests go on."""
    emulator = Emulator([default_account()], clock=ManualClock())
    with EmulatorServer(emulator, max_connections=16) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(16)]
        try:
            wait_until(lambda: server.open_connections == 16, what="16 open connections")
            with socket.create_connection(("127.0.0.1", server.port)) as extra:
                extra.settimeout(5)
                assert extra.recv(100).startswith(b"HTTP/1.1 503 Service Unavailable")
            idle.pop().close()
            wait_until(lambda: server.open_connections == 15, what="a slot to free")
            body = envelope("balance", "<login>test</login><psw>test-password</psw>")
            assert "<balance>" in requests.post(server.url, data=body, timeout=10).text
        finally:
            for sock in idle:
                sock.close()


def test_max_connections_keeps_the_services_own_limit_observable() -> None:
    """A cap below 16 would hide error 9 at 15 concurrent requests, so it is refused."""
    with pytest.raises(ValueError, match="at least 16"):
        EmulatorServer(max_connections=15)


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, json, socket, threading, time
    import requests
    from smsc_soap.emulator import Emulator, EmulatorServer, default_account

    def rss_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    junk = b"\\x00not soap" * (390_000)  # 3.9 MB
    emulator = Emulator([default_account()], max_messages=1000)
    with EmulatorServer(emulator, log_limit=100, log_body_limit=1024, max_connections=64) as server:
        with requests.Session() as session:
            for _ in range(5):
                session.post(server.url, data=junk, timeout=30)
            gc.collect()
            before = rss_kib()
            for _ in range(40):
                session.post(server.url, data=junk, timeout=30)
        gc.collect()
        after_junk = rss_kib()
        sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(400)]
        for _ in range(500):
            if server.open_connections >= 64:
                break
            time.sleep(0.01)
        threads = threading.active_count()
        logged = sum(len(r.body) for r in server.requests)
        for sock in sockets:
            sock.close()
    print(json.dumps({"before": before, "after_junk": after_junk, "threads": threads,
                      "records": len(server.requests), "logged": logged}))
    """
)


@pytest.mark.slow
def test_memory_stays_flat_under_junk_and_idle_connections() -> None:
    """In a subprocess: 40 junk posts of 3.9 MB add little memory; 400 idle connections
    make at most max_connections threads; the request log stays bounded."""
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["after_junk"] - figures["before"] < 40 * 1024  # was +156 MB with every body kept
    assert figures["threads"] <= 64 + 4
    assert figures["records"] == 45 and figures["logged"] == 45 * 1024
