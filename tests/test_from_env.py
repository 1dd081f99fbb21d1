"""`SoapSmsc.from_env()` / `AsyncSoapSmsc.from_env()` against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import socket

import pytest

from smsc_soap import AsyncSoapSmsc, SmscConfigurationError, SoapSmsc
from smsc_soap.emulator import (
    TEST_APIKEY,
    TEST_LOGIN,
    TEST_PASSWORD,
    TEST_SENDER,
    EmulatorServer,
)

PHONE = "79991234567"


def _dead_url() -> str:
    """A loopback URL nobody listens on: reaching it would fail the call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/soap"


def _soap_calls(server: EmulatorServer) -> list[tuple[str | None, str | None]]:
    return [(r.operation, r.login) for r in server.requests if r.operation is not None]


def test_login_and_password_from_a_mapping(smsc_emulator: EmulatorServer) -> None:
    """SMSC_LOGIN/SMSC_PSW/SMSC_ENDPOINT come from the mapping given; the send reaches the emulator."""
    environ = {
        "SMSC_LOGIN": TEST_LOGIN,
        "SMSC_PSW": TEST_PASSWORD,
        "SMSC_ENDPOINT": smsc_emulator.url,
    }
    with SoapSmsc.from_env(environ) as client:
        assert TEST_PASSWORD not in repr(client)
        result = client.send_sms(PHONE, "from env", sender=TEST_SENDER)
    assert result.cnt == 1
    [message] = smsc_emulator.messages
    assert (message.text, message.sender) == ("from env", TEST_SENDER)
    assert _soap_calls(smsc_emulator) == [("send_sms", TEST_LOGIN)]


def test_apikey_is_used_when_set(smsc_emulator: EmulatorServer) -> None:
    """SMSC_APIKEY wins over SMSC_LOGIN/SMSC_PSW (as on the command line).

    The published contract (the emulator's default) reads the key inside query: a send carries it.
    """
    environ = {
        "SMSC_APIKEY": TEST_APIKEY,
        "SMSC_LOGIN": "nobody",
        "SMSC_PSW": "wrong",
        "SMSC_ENDPOINT": smsc_emulator.url,
    }
    with SoapSmsc.from_env(environ) as client:
        sent = client.send_sms(PHONE, "by key")
    assert sent.balance == smsc_emulator.emulator.account(TEST_LOGIN).balance
    [(operation, login)] = _soap_calls(smsc_emulator)
    assert operation == "send_sms2" and login != "nobody"


def test_keywords_pass_through_and_win_over_the_environment(smsc_emulator: EmulatorServer) -> None:
    """endpoint= overrides SMSC_ENDPOINT (which points at a dead port); other keywords reach the client."""
    environ = {"SMSC_LOGIN": TEST_LOGIN, "SMSC_PSW": TEST_PASSWORD, "SMSC_ENDPOINT": _dead_url()}
    with SoapSmsc.from_env(environ, endpoint=smsc_emulator.url, mirrors=[], timeout=7.0) as client:
        client.get_balance()
    assert _soap_calls(smsc_emulator) == [("get_balance", TEST_LOGIN)]


@pytest.mark.parametrize(
    "smsc_emulator_options", [{}, {"apikey_element": True}], ids=["published", "element"]
)
def test_explicit_credentials_skip_the_environment_ones(smsc_emulator: EmulatorServer) -> None:
    """apikey= given by the caller: SMSC_LOGIN/SMSC_PSW (wrong here) are not read."""
    environ = {"SMSC_LOGIN": "nobody", "SMSC_PSW": "wrong", "SMSC_ENDPOINT": smsc_emulator.url}
    with SoapSmsc.from_env(environ, apikey=TEST_APIKEY) as client:
        assert client.get_sms_cost(PHONE, "x").cnt == 1
    [(operation, login)] = _soap_calls(smsc_emulator)
    assert operation == "get_sms_cost2" and login != "nobody"


def test_host_comes_from_smsc_host() -> None:
    """SMSC_HOST picks the preset (its namespace and endpoint); nothing is sent to build a client."""
    environ = {"SMSC_LOGIN": TEST_LOGIN, "SMSC_PSW": TEST_PASSWORD, "SMSC_HOST": "smsc.kz"}
    with SoapSmsc.from_env(environ) as client:
        assert "smsc.kz" in client.endpoint


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({}, "SMSC_LOGIN"),
        ({"SMSC_LOGIN": TEST_LOGIN}, "SMSC_PSW"),
        ({"SMSC_PSW": TEST_PASSWORD}, "SMSC_LOGIN"),
        ({"SMSC_LOGIN": TEST_LOGIN, "SMSC_PSW": ""}, "SMSC_PSW"),
    ],
)
def test_missing_credentials_name_the_variable(environ: dict[str, str], field: str) -> None:
    with pytest.raises(SmscConfigurationError) as info:
        SoapSmsc.from_env(environ)
    assert info.value.field == field
    assert field in str(info.value) and "SMSC_APIKEY" in str(info.value)
    assert TEST_PASSWORD not in str(info.value)


def test_environ_none_reads_os_environ(
    smsc_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """environ=None (the default) reads os.environ; the constructor alone never does."""
    monkeypatch.setenv("SMSC_LOGIN", TEST_LOGIN)
    monkeypatch.setenv("SMSC_PSW", TEST_PASSWORD)
    monkeypatch.setenv("SMSC_ENDPOINT", smsc_emulator.url)
    with SoapSmsc.from_env() as client:
        client.get_balance()
    assert _soap_calls(smsc_emulator) == [("get_balance", TEST_LOGIN)]
    with pytest.raises(SmscConfigurationError):
        SoapSmsc()


def test_async_from_env(smsc_emulator: EmulatorServer) -> None:
    """AsyncSoapSmsc.from_env reads the same variables and sends through the emulator."""
    environ = {
        "SMSC_LOGIN": TEST_LOGIN,
        "SMSC_PSW": TEST_PASSWORD,
        "SMSC_ENDPOINT": smsc_emulator.url,
    }

    async def main() -> str:
        async with AsyncSoapSmsc.from_env(environ, reconcile=True) as client:
            result = await client.send_sms2(PHONE, "async env", sender=TEST_SENDER)
            return result.id

    message_id = asyncio.run(main())
    [message] = smsc_emulator.messages
    assert message.id == message_id and message.text == "async env"
    assert _soap_calls(smsc_emulator) == [("send_sms2", TEST_LOGIN)]
    with pytest.raises(SmscConfigurationError) as info:
        AsyncSoapSmsc.from_env({"SMSC_APIKEY": ""})
    assert info.value.field == "SMSC_LOGIN"
