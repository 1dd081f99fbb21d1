"""An interrupted half-open probe frees the breaker in both clients (it used to stick in the sync one)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from smsc_soap import AsyncSoapSmsc, CircuitOpenError, IpBlockedError, SoapSmsc
from tests.helpers.fakes import FakeClock, PinnedPolicy
from tests.helpers.secrets import SENTINEL_PSW
from tests.wire import php_reply

BLOCKED = php_reply("get_balance", "<balance></balance><error>4</error>")
BALANCE = php_reply("get_balance", "<balance>12.50</balance><error>0</error>")


def _options(clock: FakeClock) -> dict[str, Any]:
    return {
        "timeout": 5,
        "mirrors": [],
        "clock": clock,
        "retry": PinnedPolicy(),
        "breaker_cooldown": 60.0,
    }


def test_sync_probe_interrupted_by_ctrl_c_frees_the_breaker(httpserver: HTTPServer) -> None:
    """Ctrl-C during the half-open probe leaves the breaker ready for the next probe."""
    clock = FakeClock()
    httpserver.expect_oneshot_request("/soap").respond_with_data(BLOCKED, content_type="text/xml")
    httpserver.expect_oneshot_request("/soap").respond_with_data(BALANCE, content_type="text/xml")
    client = SoapSmsc(
        "alex",
        SENTINEL_PSW,
        endpoint=httpserver.url_for("/soap"),
        sleep=lambda s: None,
        **_options(clock),
    )
    with client:
        with pytest.raises(IpBlockedError):
            client.get_balance()
        with pytest.raises(CircuitOpenError):
            client.get_balance()
        clock.now += 61
        real_post = client._transport.post

        def interrupted(*args: Any, **kwargs: Any) -> Any:
            raise KeyboardInterrupt

        client._transport.post = interrupted  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            client.get_balance()
        client._transport.post = real_post  # type: ignore[method-assign]
        assert client.get_balance().balance == 12.5


@pytest.mark.usefixtures("async_path")
def test_async_probe_cancelled_frees_the_breaker(httpserver: HTTPServer) -> None:
    """A cancelled half-open probe of the async client leaves the breaker ready for the next probe."""
    clock = FakeClock()
    httpserver.expect_oneshot_request("/soap").respond_with_data(BLOCKED, content_type="text/xml")
    httpserver.expect_oneshot_request("/soap").respond_with_data(BALANCE, content_type="text/xml")

    async def scenario() -> None:
        async def no_sleep(seconds: float) -> None:
            return None

        client = AsyncSoapSmsc(
            "alex",
            SENTINEL_PSW,
            endpoint=httpserver.url_for("/soap"),
            sleep=no_sleep,
            **_options(clock),
        )
        async with client:
            with pytest.raises(IpBlockedError):
                await client.get_balance()
            clock.now += 61
            real_post = client._transport.post

            async def cancelled(*args: Any, **kwargs: Any) -> Any:
                raise asyncio.CancelledError

            client._transport.post = cancelled  # type: ignore[method-assign]
            with pytest.raises(asyncio.CancelledError):
                await client.get_balance()
            client._transport.post = real_post  # type: ignore[method-assign]
            assert (await client.get_balance()).balance == 12.5

    asyncio.run(scenario())
