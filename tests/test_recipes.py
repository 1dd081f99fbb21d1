"""docs/recipes.md runs: each block is saved under the file name on its first line and run against the
emulator (FastAPI through its TestClient, Celery with task_always_eager, Django with settings.configure)."""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from celery.exceptions import Retry

from smsc_soap import AsyncSoapSmsc, ClientClosedError, RetryPolicy, SoapSmsc
from smsc_soap.emulator import Account, Emulator, EmulatorServer, FaultPlan, ManualClock

RECIPES = (Path(__file__).resolve().parent.parent / "docs" / "recipes.md").read_text(
    encoding="utf-8"
)
BLOCKS = {
    match.group(1): match.group(0)
    for match in re.finditer(r"^# (\w+\.py)\n.*?(?=^```)", RECIPES, flags=re.S | re.M)
}
PHONE = "79991234567"


def test_every_recipe_block_is_tested() -> None:
    """Every Python block of the page is one of the files these tests run."""
    python_blocks = re.findall(r"^```python\n", RECIPES, flags=re.M)
    assert len(python_blocks) == len(BLOCKS) == 4
    assert set(BLOCKS) == {"fastapi_app.py", "celery_tasks.py", "django_settings.py", "sms.py"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    """An emulator with one account, which the recipes reach through SMSC_* variables."""
    account = Account("shop", "Shop-PSW-31f0", balance=Decimal("100"))
    with EmulatorServer(Emulator([account], clock=ManualClock())) as running:
        for name in ("SMSC_APIKEY", "SMSC_HOST"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SMSC_LOGIN", "shop")
        monkeypatch.setenv("SMSC_PSW", "Shop-PSW-31f0")
        monkeypatch.setenv("SMSC_ENDPOINT", running.url)
        yield running


@pytest.fixture
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Save recipe blocks as modules in a temporary directory and import them."""
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded: list[str] = []

    def _load(filename: str) -> ModuleType:
        (tmp_path / filename).write_text(BLOCKS[filename], encoding="utf-8")
        name = filename.removesuffix(".py")
        loaded.append(name)
        return importlib.import_module(name)

    yield _load
    for name in loaded:
        sys.modules.pop(name, None)


# Starlette's TestClient prefers the httpx2 package and warns when it runs on httpx (which we have).
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_fastapi_app(server: EmulatorServer, load: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """One AsyncSoapSmsc in the lifespan serves every request; errors map to HTTP statuses."""
    from fastapi.testclient import TestClient

    module = load("fastapi_app.py")  # type: ignore[operator]
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    class NoSleep(AsyncSoapSmsc):  # the recipe's client, with its pauses recorded instead of slept
        @classmethod
        def from_env(cls, environ: Any = None, **kwargs: Any) -> Any:
            return super().from_env(environ, sleep=no_sleep, **kwargs)

    monkeypatch.setattr(module, "AsyncSoapSmsc", NoSleep)
    with TestClient(module.app) as http:
        reply = http.post("/sms", json={"phone": PHONE, "text": "Заказ принят", "order_id": 7})
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"id": "order-7", "parts": 1}
        assert http.get("/balance").json() == {"balance": str(Decimal("100") - Decimal("1.95"))}
        bad = http.post("/sms", json={"phone": "12", "text": "x", "order_id": 8})
        assert bad.status_code == 422 and "phone" in bad.json()["detail"]
        # The reply is lost after the message was stored: reconcile finds it, the app says sent.
        server.inject(FaultPlan.drop_connection(operations=["send_sms2"]))
        lost = http.post("/sms", json={"phone": PHONE, "text": "Заказ отправлен", "order_id": 9})
        assert lost.status_code == 200 and lost.json() == {"id": "order-9", "parts": None}
        client = module.app.state.smsc
    assert [m.id for m in server.messages] == ["order-7", "order-9"]
    assert waits  # the reconcile pause was asked for, not slept
    with pytest.raises(ClientClosedError):  # the lifespan closed the client
        asyncio.run(client.get_balance())


@pytest.fixture
def tasks(server: EmulatorServer, load: object) -> Iterator[ModuleType]:
    """The Celery recipe with eager tasks; its worker client is closed afterwards."""
    module = load("celery_tasks.py")  # type: ignore[operator]
    module.app.conf.task_always_eager = True
    module.app.conf.task_eager_propagates = True
    # The recipe's client, with its pauses (reconcile waits 2 s) recorded instead of slept.
    module._smsc = SoapSmsc.from_env(reconcile=True, sleep=lambda seconds: None)
    yield module
    if module._smsc is not None:
        module._smsc.close()


def test_celery_task_sends_once(server: EmulatorServer, tasks: ModuleType) -> None:
    """The same order run twice within the minute is one message (the second is a duplicate)."""
    first = tasks.send_order_sms.delay(41, PHONE, "Заказ 41 отправлен").get()
    again = tasks.send_order_sms.delay(41, PHONE, "Заказ 41 отправлен").get()
    assert first == again == "order-41"
    assert [m.id for m in server.messages] == ["order-41"]


def test_celery_task_lost_reply_is_confirmed(server: EmulatorServer, tasks: ModuleType) -> None:
    """A reply lost after the message was stored: reconcile confirms it; nothing is sent twice."""
    server.inject(FaultPlan.drop_connection(operations=["send_sms2"]))
    assert tasks.send_order_sms.delay(42, PHONE, "Заказ 42 отправлен").get() == "order-42"
    assert [m.id for m in server.messages] == ["order-42"]


def test_celery_task_retry_asks_before_sending(server: EmulatorServer, tasks: ModuleType) -> None:
    """Outcome unknown even after reconcile: the retry finds the message and does not resend it."""
    tasks._smsc.close()
    tasks._smsc = SoapSmsc.from_env(
        reconcile=True,
        retry=RetryPolicy(max_attempts=1, send_max_attempts=1),
        sleep=lambda seconds: None,
    )
    server.inject(
        FaultPlan.drop_connection(operations=["send_sms2"]),
        FaultPlan.http_error(503, operations=["get_status"]),
    )
    args = (43, PHONE, "Заказ 43 отправлен")
    with pytest.raises(Retry):  # eager mode hands the retry back instead of queueing it
        tasks.send_order_sms.delay(*args).get()
    assert [m.id for m in server.messages] == ["order-43"]
    # The worker runs the retry later: it asks get_status first and sends nothing again.
    assert tasks.send_order_sms.apply(args=args, retries=1).get() == "order-43"
    assert [m.id for m in server.messages] == ["order-43"]
    sends = [r for r in server.requests if r.operation == "send_sms2"]
    assert len(sends) == 1


def test_django_settings(server: EmulatorServer, load: object) -> None:
    """Client settings from settings.py, credentials from the environment, one client per process."""
    from django.conf import settings

    config = load("django_settings.py")  # type: ignore[operator]
    if not settings.configured:
        settings.configure(**{k: v for k, v in vars(config).items() if k.isupper()})
    assert settings.SMSC_CLIENT == config.SMSC_CLIENT
    sms = load("sms.py")  # type: ignore[operator]
    try:
        assert sms.send_welcome(PHONE, "Анна") == server.messages[0].id
        assert sms.smsc() is sms.smsc()
        assert server.messages[0].text == "Добро пожаловать, Анна!"
    finally:
        sms.smsc().close()
        sms.smsc.cache_clear()
