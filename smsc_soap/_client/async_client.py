"""``AsyncSoapSmsc``: the asyncio client, a thin driver of the same call plans as :class:`SoapSmsc`.

Arguments are checked by the same functions, envelopes built and replies read by the same protocol,
and retries, reconcile and budgets decided by the same plan, so a result or an error means exactly what
it means from the sync client. Only the waiting differs: ``await asyncio.sleep`` and the async transport.
"""

from __future__ import annotations

import asyncio
import functools
import time as _time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from .._exceptions import SmscError
from .._http.async_transport import AsyncTransport
from .._http.types import RawReply
from .._models import BalanceResult, CostResult, SendResult, StatusResult
from .._soap.protocol import Result
from .core import OPERATIONS, ClientCore
from .plan import Plan, Post, Sleep, no_slot

__all__ = ["AsyncSoapSmsc"]


class AsyncSoapSmsc(
    ClientCore[
        Coroutine[Any, Any, SendResult],
        Coroutine[Any, Any, CostResult],
        Coroutine[Any, Any, StatusResult],
        Coroutine[Any, Any, BalanceResult],
    ]
):
    """An asyncio client for SMSC's SOAP API: ``AsyncSoapSmsc(login, psw)`` or ``AsyncSoapSmsc(apikey=...)``.

    It takes the same arguments as :class:`SoapSmsc` (``sleep`` is a coroutine function) and its
    methods return coroutines of the same results. Nothing touches the network (or builds a
    connection pool) until a method is awaited; the pool then belongs to that event loop. Many tasks
    may share one client, up to ``max_connections`` requests in flight. Use ``async with``, or
    :meth:`aclose`.
    """

    _transport_class = AsyncTransport
    _default_sleep = staticmethod(asyncio.sleep)
    _sleep: Callable[[float], Awaitable[None]]
    _transport: AsyncTransport

    async def aclose(self) -> None:
        """Close pooled connections (await it); later calls raise :class:`ClientClosedError`."""
        self._mark_closed()
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncSoapSmsc:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, plan: Plan) -> Result:
        """Run ``plan`` to its result, awaiting each sleep and post (as ``plan.drive`` blocks)."""
        try:
            step = next(plan)
            while True:
                try:
                    value: RawReply | None = None
                    if isinstance(step, Sleep):
                        await self._sleep(step.delay)
                    else:
                        value = await self._post(step)
                except SmscError as exc:
                    step = plan.throw(exc)
                else:
                    step = plan.send(value)
        except StopIteration as done:
            result: Result = done.value
            return result
        finally:
            plan.close()

    async def _post(self, step: Post) -> RawReply:
        """One POST; the transport's pool bounds concurrency, a shared store adds its own slots."""
        operation = step.request.operation
        remaining = step.deadline - self._clock()
        if remaining <= 0:
            raise no_slot(operation, "the request to be sent")
        # The transport measures real time: map what is left of the deadline onto it.
        deadline_at = _time.monotonic() + remaining
        slot = None
        if self._budget.shared_slots is not None:
            slot = await self._shared_slot(deadline_at)
            if slot is None:
                raise no_slot(operation, "a slot shared by the processes of this account")
        try:
            self._check_open(operation)  # closed by another task while this one waited?
            request = step.request
            return await self._transport.post(
                step.endpoint, request.body, request.headers, deadline_at
            )
        finally:
            if slot is not None:
                self._budget.release_shared_slot(slot)

    async def _shared_slot(self, deadline_at: float) -> object | None:
        """Take a slot of the shared limits store, polling without blocking the loop, until ``deadline_at``."""
        pause = 0.005
        while True:
            token = self._budget.try_shared_slot(lease=max(0.0, deadline_at - _time.monotonic()))
            if token is not None:
                return token
            left = deadline_at - _time.monotonic()
            if left <= 0:
                return None
            await asyncio.sleep(min(pause, left))  # real time: a slot frees in real time
            pause = min(pause * 2, 0.05)


def _as_coroutine_function(name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    """The shared operation ``name`` as a true coroutine function (same signature and docstring)."""
    shared = getattr(ClientCore, name)

    @functools.wraps(shared)
    async def operation(self: AsyncSoapSmsc, *args: Any, **kwargs: Any) -> Any:
        return await shared(self, *args, **kwargs)

    return operation


# The operations are defined once, in ClientCore, where they return what ``_run`` returns: here a
# coroutine. Rebinding them as ``async def`` functions keeps ``inspect.iscoroutinefunction`` true for
# the frameworks and wrappers that ask; type checkers see ClientCore's typed signatures.
for _name in OPERATIONS:
    setattr(AsyncSoapSmsc, _name, _as_coroutine_function(_name))
del _name
