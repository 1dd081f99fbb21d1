"""``smsc-soap send | cost | status | balance`` through the real entry point, against the emulator."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from decimal import Decimal

import pytest

import smsc_soap
from smsc_soap.cli import main
from smsc_soap.emulator import TEST_SENDER, Account, Emulator, EmulatorServer, ManualClock

from .helpers import cli_env, run_cli

SECRET = "S3cr3t-CLI-PSW-41b7"
APIKEY = "K3y-CLI-APIKEY-0e99"


def _emulator() -> Emulator:
    return Emulator(
        [
            Account("alex", SECRET, balance=Decimal("100.00"), senders=frozenset({TEST_SENDER})),
            Account("keyed", apikey=APIKEY, balance=Decimal("50.00")),
            Account("broke", "broke-psw", balance=Decimal("0.00")),
        ],
        clock=ManualClock(),
    )


@pytest.fixture(scope="module")
def server() -> EmulatorServer:
    """One emulator for the module: an account with a sentinel password, one with an API key, one broke.

    It speaks the published WSDL (no <apikey> element): API keys work where they travel in query.
    """
    with EmulatorServer(_emulator()) as running:
        yield running
        running.check()


@pytest.fixture(scope="module")
def element_server() -> EmulatorServer:
    """The same accounts behind a live WSDL that declares <apikey> (so get_balance takes a key)."""
    with EmulatorServer(_emulator(), apikey_element=True) as running:
        yield running
        running.check()


@pytest.fixture(autouse=True)
def _fresh(server: EmulatorServer) -> None:
    """Reset the module's emulator before each test."""
    server.reset()


def _env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return cli_env(server.url, **{"SMSC_LOGIN": "alex", "SMSC_PSW": SECRET, **extra})


def _assert_no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in (SECRET, APIKEY):
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_balance_json(server: EmulatorServer) -> None:
    """`balance --json` prints the balance as a JSON string and exits 0."""
    result = run_cli("balance", "--json", env=_env(server))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "exit_code": 0, "balance": "100.00"}
    _assert_no_secret(result)


def test_balance_table_with_apikey(element_server: EmulatorServer) -> None:
    """`balance` with SMSC_APIKEY prints a readable table and never the key (WSDL with <apikey>)."""
    element_server.reset()
    env = cli_env(element_server.url, SMSC_APIKEY=APIKEY)
    result = run_cli("balance", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["balance", "50.00"]
    _assert_no_secret(result)


def test_balance_with_apikey_on_the_published_wsdl(server: EmulatorServer) -> None:
    """Against the published WSDL an API-key balance exits 3 and says why and what works instead."""
    result = run_cli("balance", env=cli_env(server.url, SMSC_APIKEY=APIKEY))
    assert result.returncode == 3
    assert "wsdl check" in result.stderr and "login and password" in result.stderr
    _assert_no_secret(result)


@pytest.mark.parametrize("which", ["published", "element"])
def test_send_cost_status_with_apikey(
    server: EmulatorServer, element_server: EmulatorServer, which: str
) -> None:
    """send, cost and status with SMSC_APIKEY work in both contracts: the key travels in query."""
    target = server if which == "published" else element_server
    target.reset()
    env = cli_env(target.url, SMSC_APIKEY=APIKEY)
    sent = run_cli("send", "79991234567", "key", "--json", env=env)
    assert sent.returncode == 0, sent.stderr
    data = json.loads(sent.stdout)
    assert data["cnt"] == 1
    assert target.emulator.account("keyed").balance == Decimal("48.05")
    cost = run_cli("cost", "79991234567", "key", "--json", env=env)
    assert cost.returncode == 0, cost.stderr
    status = run_cli("status", data["id"], "79991234567", "--json", env=env)
    assert status.returncode == 0, status.stderr
    for result in (sent, cost, status):
        _assert_no_secret(result)


def test_send_then_status_json(server: EmulatorServer) -> None:
    """`send --json` returns the id; `status ID PHONE --json` finds the message."""
    sent = run_cli(
        "send", "79991234567", "Привет", "--sender", TEST_SENDER, "--json", env=_env(server)
    )
    assert sent.returncode == 0, sent.stderr
    data = json.loads(sent.stdout)
    assert data["cnt"] == 1 and server.emulator.account("alex").balance == Decimal("98.05")
    assert len(server.messages) == 1 and server.messages[0].text == "Привет"
    status = run_cli("status", data["id"], "79991234567", "--json", env=_env(server))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == -1
    assert data["ok"] is True and data["exit_code"] == 0
    _assert_no_secret(sent)
    _assert_no_secret(status)


def test_send_options_reach_the_query(server: EmulatorServer) -> None:
    """Typed flags and repeatable --option pairs travel in send_sms2's query."""
    result = run_cli(
        "send",
        "79991234567",
        "Hello there",
        "--maxsms",
        "1",
        "-o",
        "tinyurl=1",
        "--json",
        env=_env(server),
    )
    assert result.returncode == 0, result.stderr
    body = server.requests[-1].body.decode()
    assert "<ns0:send2" in body or "send2" in body
    assert "maxsms=1" in body and "tinyurl=1" in body


def test_send_reads_text_from_stdin(server: EmulatorServer) -> None:
    """`send PHONE -` reads the text from standard input."""
    result = run_cli("send", "79991234567", "-", "--json", env=_env(server), input="from stdin\n")
    assert result.returncode == 0, result.stderr
    assert server.messages[0].text == "from stdin"


def test_cost_table(server: EmulatorServer) -> None:
    """`cost` prints the price and parts without sending."""
    result = run_cli("cost", "79991234567", "x" * 200, env=_env(server))
    assert result.returncode == 0, result.stderr
    assert "3.90" in result.stdout and "2" in result.stdout
    assert server.messages == []


@pytest.mark.parametrize(
    ("args", "env_extra", "code", "error_type"),
    [
        (["send", "not-a-phone", "hi"], {}, 2, "SmscValidationError"),
        (["send", "70000000022", "hi"], {}, 5, "InvalidPhoneError"),
        (["status", "424242", "79991234567"], {}, 5, "MessageNotFoundError"),
        (["balance"], {"SMSC_PSW": "wrong-password-1"}, 3, "AuthenticationError"),
        (
            ["send", "79991234567", "hi"],
            {"SMSC_LOGIN": "broke", "SMSC_PSW": "broke-psw"},
            4,
            "InsufficientFundsError",
        ),
    ],
)
def test_exit_codes_and_json_errors(
    server: EmulatorServer, args: list[str], env_extra: dict[str, str], code: int, error_type: str
) -> None:
    """Each error class has its own exit code, and --json prints the error as JSON on stdout."""
    result = run_cli(*args, "--json", env=_env(server, **env_extra))
    assert result.returncode == code, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["exit_code"] == code
    assert data["error"]["type"] == error_type
    assert result.stderr.startswith("smsc-soap: error: ")
    _assert_no_secret(result)


@pytest.mark.slow
def test_transport_failure_exits_6() -> None:
    """A closed port is a transport failure: exit 6, nothing echoed but the error.

    Slow on purpose (about 1 s): the CLI in its own process retries the refused connection with its
    real back-off; a subprocess takes no injected sleep.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = cli_env(f"http://127.0.0.1:{port}/sys/soap.php", SMSC_LOGIN="alex", SMSC_PSW=SECRET)
    result = run_cli("balance", "--timeout", "5", env=env)
    assert result.returncode == 6, result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_missing_credentials_without_terminal_exit_2(server: EmulatorServer) -> None:
    """No password and no terminal to prompt on: a usage error naming SMSC_PSW, exit 2."""
    result = run_cli("balance", env=cli_env(server.url, SMSC_LOGIN="alex"))
    assert result.returncode == 2
    assert "SMSC_PSW" in result.stderr


def test_password_prompt_is_used_and_not_echoed(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a terminal a missing password is asked for with getpass, and never printed."""
    prompts: list[str] = []

    def fake_getpass(prompt: str, stream: object = None) -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("SMSC_LOGIN", "alex")
    monkeypatch.setenv("SMSC_ENDPOINT", server.url)
    assert main(["balance", "--json"]) == 0
    out = capsys.readouterr()
    assert prompts == ["SMSC password for alex: "]
    assert json.loads(out.out)["balance"] == "100.00"
    assert SECRET not in out.out + out.err


def test_help_is_instant_and_imports_no_network_stack() -> None:
    """`--help` of every command imports neither zeep, requests nor httpx."""
    code = (
        "import sys\n"
        "from smsc_soap.cli import main\n"
        "for cmd in (['--help'], ['send', '--help'], ['bulk', '--help'], ['wsdl', 'check', '--help']):\n"
        "    try:\n"
        "        main(cmd)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'zeep', 'requests', 'httpx'})\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, check=False
    )
    assert "HEAVY=\n" in result.stderr, result.stderr
    assert "exit codes:" in result.stdout


def test_psw_flag_warns_that_it_is_visible(server: EmulatorServer) -> None:
    """`--psw` works but warns on stderr that other local users can read it; the environment does not warn."""
    env = cli_env(server.url)
    result = run_cli("balance", "--login", "alex", "--psw", SECRET, env=env)
    assert result.returncode == 0, result.stderr
    assert "--psw on the command line is readable by other local users" in result.stderr
    _assert_no_secret(result)
    quiet = run_cli("balance", env=_env(server))
    assert quiet.returncode == 0 and "readable by other local users" not in quiet.stderr


def test_version_prints_the_package_version() -> None:
    """`smsc-soap --version` prints the installed version and exits 0 without a subcommand."""
    result = run_cli("--version", env=cli_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"smsc-soap {smsc_soap.__version__}"


def test_send_refuses_cost_1_which_sends_nothing(server: EmulatorServer) -> None:
    """`send --cost 1` (cost only) is refused before anything is sent, pointing to `smsc-soap cost`."""
    result = run_cli("send", "79991234567", "hi", "--cost", "1", env=_env(server))
    assert result.returncode == 2
    assert "invalid choice: '1'" in result.stderr
    assert server.requests == []
    help_text = run_cli("send", "--help", env=_env(server)).stdout
    assert "smsc-soap cost" in " ".join(help_text.split())
