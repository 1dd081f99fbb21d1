"""Both clients behind one interface: each scenario runs against SoapSmsc and AsyncSoapSmsc.

The async client is wrapped by :class:`Blocking`, which runs its coroutines on a private event loop
(``asyncio.Runner``), so one test body drives both; no pytest-asyncio is needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from smsc_soap import AsyncSoapSmsc


class Blocking:
    """An AsyncSoapSmsc whose coroutine methods are run to completion on one private event loop."""

    def __init__(self, client: AsyncSoapSmsc) -> None:
        self.client = client
        self.runner = asyncio.Runner()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if inspect.iscoroutinefunction(attr):

            def call(*args: Any, **kwargs: Any) -> Any:
                return self.runner.run(attr(*args, **kwargs))

            return call
        return attr

    def run(self, coroutine: Any) -> Any:
        """Run any coroutine on this client's loop (for async-only scenarios)."""
        return self.runner.run(coroutine)

    def close(self) -> None:
        """Close the client, as ``SoapSmsc.close`` does; the loop stays usable."""
        self.runner.run(self.client.aclose())

    def dispose(self) -> None:
        """Close the client, then its event loop."""
        try:
            self.close()
        finally:
            self.runner.close()

    def __enter__(self) -> Blocking:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


MakeClient = Callable[..., Any]
