"""Interop with PHP's own SOAP stack, the one ``soap.php`` most likely runs (not our emulator's reading).

* PHP's SoapServer, built from the published WSDL (our cached one without its local additions), answers our
  clients: the envelopes we write are what such a server decodes, and we read what it writes.
* PHP's SoapClient reads the emulator's WSDL and calls it, as SMSC's PHP users do.

PHP (php-cli with php-soap) comes from Debian; ``python3 dev.py test`` installs it where it can. Locally
without it these tests skip; under CI=true they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smsc_soap import AsyncSoapSmsc, AuthenticationError, Delivery, SoapSmsc
from smsc_soap.emulator import Account, Contract, Emulator, EmulatorServer, served_wsdl

NAMESPACE = "https://smsc.ru/sys/soap.php"

SERVER_PHP = r"""<?php
function record($op, $p) {
    file_put_contents(getenv('SMSC_LOG'), json_encode(['op' => $op, 'args' => $p]) . "\n", FILE_APPEND);
}
function authorised($p) {
    // Like soap.php: login and psw, or apikey inside query (the only place this WSDL lets it reach us).
    parse_str(isset($p->query) ? $p->query : '', $q);
    if (isset($q['apikey'])) { return $q['apikey'] === 'KEY-abc-123'; }
    return isset($p->login) && $p->login !== '' && isset($p->psw) && $p->psw !== '';
}
class Handler {
    function get_balance($p) { record('get_balance', $p);
        if (!authorised($p)) { return ['balanceresult' => ['error' => '2']]; }
        return ['balanceresult' => ['balance' => '12.50', 'error' => '0']]; }
    function send_sms2($p) { record('send_sms2', $p);
        if (!authorised($p)) { return ['sendresult' => ['error' => '2']]; }
        return ['sendresult' => ['id' => $p->id, 'cnt' => '1', 'cost' => '1.95', 'balance' => '10.55',
                                 'error' => '0']]; }
    function get_sms_cost2($p) { record('get_sms_cost2', $p);
        if (!authorised($p)) { return ['costresult' => ['error' => '2']]; }
        return ['costresult' => ['cost' => '1.95', 'cnt' => '1']]; }
    function get_status($p) { record('get_status', $p);
        return ['statusresult' => ['status' => '1', 'last_date' => '01.12.2026 10:00:00', 'err' => '0',
                                   'error' => '0']]; }
    function get_status2($p) { record('get_status2', $p);
        if (!authorised($p)) { return ['statusresult' => ['error' => '2']]; }
        return ['statusresult' => ['status' => '1', 'last_date' => '01.12.2026 10:00:00', 'err' => '0',
                                   'error' => '0']]; }
}
$server = new SoapServer(getenv('SMSC_WSDL'), ['cache_wsdl' => WSDL_CACHE_NONE]);
$server->setClass('Handler');
$server->handle();
"""

CLIENT_PHP = r"""<?php
$c = new SoapClient($argv[1], ['cache_wsdl' => WSDL_CACHE_NONE, 'exceptions' => true]);
$out = [];
$out['balance'] = $c->get_balance(['login' => 'php', 'psw' => 'php-secret']);
$out['send'] = $c->send_sms(['login' => 'php', 'psw' => 'php-secret', 'phones' => '79991234567',
    'mes' => 'Привет из PHP', 'id' => '', 'sender' => '', 'time' => '']);
$out['cost'] = $c->get_sms_cost2(['login' => 'php', 'psw' => 'php-secret', 'phones' => '79991234567',
    'mes' => 'hello', 'query' => 'translit=1']);
echo json_encode($out, JSON_UNESCAPED_UNICODE);
"""


def _php() -> str:
    php = shutil.which("php")
    if php is not None:
        modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
        if "soap" in modules.lower().split():
            return php
    if os.environ.get("CI") == "true":
        pytest.fail(
            "CI needs php-cli with php-soap: python3 dev.py test installs the Debian packages"
        )
    pytest.skip("php with the soap extension is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def php_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """PHP's built-in web server running a SoapServer from the published WSDL; its URL and call log."""
    php = _php()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/sys/soap.php"
    (tmp_path / "smsc.wsdl").write_text(served_wsdl(NAMESPACE, url, Contract()), encoding="utf-8")
    (tmp_path / "server.php").write_text(SERVER_PHP, encoding="utf-8")
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, "SMSC_WSDL": str(tmp_path / "smsc.wsdl"), "SMSC_LOG": str(log)}
    process = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{port}", str(tmp_path / "server.php")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("php -S did not start") from None
                time.sleep(0.05)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def _calls(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def test_php_soapserver_decodes_our_requests_and_we_read_its_replies(
    php_server: tuple[str, Path],
) -> None:
    """A SoapServer from the published WSDL gets login, psw and every field we send; we parse its replies."""
    url, log = php_server
    with SoapSmsc("alex", "pw-123", endpoint=url) as client:
        assert client.get_balance().balance == Decimal("12.50")
        sent = client.send_sms2(
            "79991234567", "Привет <&> мир", id="order-42", query={"translit": "1"}
        )
        assert sent.id == "order-42" and sent.cnt == 1 and sent.cost == Decimal("1.95")
    balance, send = _calls(log)
    assert balance == {"op": "get_balance", "args": {"login": "alex", "psw": "pw-123"}}
    args = send["args"]
    assert isinstance(args, dict)
    assert args["login"] == "alex" and args["phones"] == "79991234567"
    assert args["mes"] == "Привет <&> мир" and args["id"] == "order-42"
    assert "translit=1" in str(args["query"])


def test_php_soapserver_drops_an_undeclared_apikey_element(php_server: tuple[str, Path]) -> None:
    """Built from the published WSDL, SoapServer never hands an <apikey> element to its handler.

    This is why an API key must also travel inside ``query`` where an operation has one. get_balance
    has none: its error 2 says so, and the client refuses the next API-key balance call itself.
    """
    url, log = php_server

    async def call() -> list[AuthenticationError]:
        errors = []
        async with AsyncSoapSmsc(apikey="KEY-abc-123", endpoint=url) as client:
            for _ in range(2):
                try:
                    await client.get_balance()
                except AuthenticationError as exc:
                    errors.append(exc)
        return errors

    import asyncio

    first, second = asyncio.run(call())
    assert "wsdl check" in str(first) and second.delivery is Delivery.NOT_SENT
    (balance,) = _calls(log)
    args = balance["args"]
    assert isinstance(args, dict)
    assert "apikey" not in args
    assert "KEY-abc-123" not in json.dumps(balance)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_php_soapserver_takes_the_key_inside_query(php_server: tuple[str, Path], kind: str) -> None:
    """send_sms, get_sms_cost and get_status with an API key reach SoapServer as their *2 twin with
    ``apikey=`` inside query (and empty login/psw, which the published WSDL requires)."""
    url, log = php_server

    def sync() -> tuple[Any, Any, Any]:
        with SoapSmsc(apikey="KEY-abc-123", endpoint=url) as client:
            return (
                client.send_sms("79991234567", "по ключу", id="key-1"),
                client.get_sms_cost("79991234567", "x"),
                client.get_status("key-1", "79991234567"),
            )

    async def run_async() -> tuple[Any, Any, Any]:
        async with AsyncSoapSmsc(apikey="KEY-abc-123", endpoint=url) as client:
            return (
                await client.send_sms("79991234567", "по ключу", id="key-1"),
                await client.get_sms_cost("79991234567", "x"),
                await client.get_status("key-1", "79991234567"),
            )

    import asyncio

    sent, cost, status = sync() if kind == "sync" else asyncio.run(run_async())
    assert (sent.id, sent.cost, sent.balance) == ("key-1", Decimal("1.95"), Decimal("10.55"))
    assert cost.cnt == 1 and status.status is not None
    calls = _calls(log)
    assert [c["op"] for c in calls] == ["send_sms2", "get_sms_cost2", "get_status2"]
    for call in calls:
        args = call["args"]
        assert isinstance(args, dict)
        assert args["login"] == "" and args["psw"] == "" and "apikey" not in args
        assert str(args["query"]).endswith("apikey=KEY-abc-123")
    assert "cost=3" in str(calls[0]["args"]["query"])  # type: ignore[index]


def test_php_soapclient_calls_the_emulator(tmp_path: Path) -> None:
    """PHP's SoapClient reads the emulator's WSDL and gets balance, a send and a cost from it."""
    php = _php()
    emulator = Emulator([Account("php", "php-secret", balance=Decimal("100.00"))])
    with EmulatorServer(emulator) as server:
        script = tmp_path / "client.php"
        script.write_text(CLIENT_PHP, encoding="utf-8")
        result = subprocess.run(
            [php, str(script), f"{server.url}?wsdl"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        server.check()
        assert result.returncode == 0, result.stdout + result.stderr
        out = json.loads(result.stdout)
        assert out["balance"]["balanceresult"]["balance"] == "100.00"
        assert out["send"]["sendresult"]["cnt"] == "1"
        assert out["send"]["sendresult"].get("error", "0") in ("0", "")
        assert out["cost"]["costresult"]["cnt"] == "1"
        (message,) = server.messages
        assert message.text == "Привет из PHP" and message.phones == ("79991234567",)
