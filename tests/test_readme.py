"""The README's examples run for real: the send, the options, the async client and the fixture tests."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import smsc_soap
from smsc_soap.emulator import Account, Emulator, EmulatorServer, ManualClock, Tariff

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def _block(containing: str) -> str:
    (block,) = [b for b in BLOCKS if containing in b]
    return block


@pytest.fixture
def readme_server() -> Any:
    """An emulator with the README's account (login 'login', password 'password') and its sender."""
    account = Account(
        "login", "password", balance=Decimal("100"), tariff=Tariff(Decimal("1.95")),
        senders=frozenset({"MyShop"}),
    )  # fmt: skip
    with EmulatorServer(Emulator([account], clock=ManualClock())) as server:
        yield server


@pytest.fixture
def aimed(monkeypatch: pytest.MonkeyPatch, readme_server: EmulatorServer) -> EmulatorServer:
    """SoapSmsc and AsyncSoapSmsc built by README code talk to the emulator instead of smsc.ru."""
    for name in ("SoapSmsc", "AsyncSoapSmsc"):
        real = getattr(smsc_soap, name)
        aimed_class = type(name, (real,), {})
        original_init = real.__init__

        def init(self: Any, *args: Any, _init: Any = original_init, **kwargs: Any) -> None:
            _init(self, *args, endpoint=readme_server.url, mirrors=[], **kwargs)

        aimed_class.__init__ = init  # type: ignore[misc]
        monkeypatch.setattr(smsc_soap, name, aimed_class)
    return readme_server


def test_five_line_send(aimed: EmulatorServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The first screen's send works as written and prints the id, parts and status."""
    exec(_block("sent.id, sent.cnt"), {})
    (message,) = aimed.messages
    assert message.text == "Здравствуйте! Ваш код: 4821" and message.sender == "MyShop"
    printed = capsys.readouterr().out.split()
    assert printed[0] == message.id and printed[1] == "1" and printed[2] == "-1"


def test_options_example(aimed: EmulatorServer) -> None:
    """The options example sends a windowed message and a two-line list."""
    code = _block("from smsc_soap import SendOptions")
    with smsc_soap.SoapSmsc("login", "password") as smsc:
        exec(code, {"smsc": smsc})
    texts = [m.text for m in aimed.messages]
    assert texts == ["Напоминание о записи", "Привет, Анна!", "Привет, Олег!"]
    assert smsc_soap.segments("Привет, мир!") == smsc_soap.Segments("ucs2", 12, 1, 70, 58)


def test_async_example(aimed: EmulatorServer) -> None:
    """The async example runs inside an event loop."""
    body = textwrap.indent(_block("AsyncSoapSmsc(").split("\n", 2)[2], "    ")
    namespace: dict[str, Any] = {"AsyncSoapSmsc": smsc_soap.AsyncSoapSmsc}
    exec(f"async def main():\n{body}", namespace)
    asyncio.run(namespace["main"]())
    assert [m.text for m in aimed.messages] == ["Привет!"]


def test_fixture_examples_pass_under_pytest(tmp_path: Path) -> None:
    """The README's test functions pass when pytest runs them with the installed plugin."""
    tests = [b for b in BLOCKS if "def test_" in b]
    assert len(tests) == 3
    (tmp_path / "test_from_readme.py").write_text("\n\n".join(tests), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
