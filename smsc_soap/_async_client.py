"""``AsyncSoapSmsc``: the asyncio facade, the same seven methods as :class:`SoapSmsc`, awaited.

Arguments are checked by the same functions (``_arguments``), envelopes are built and replies read by
the same :class:`~smsc_soap._protocol.Protocol`, and failures carry the same exception types, so a
result or an error means exactly what it means from the sync client. Only the HTTP layer differs
(httpx instead of requests, see ``_async_transport``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ._arguments import Phones, QueryArg, cost_fields, send_fields, status_fields
from ._async_transport import AsyncTransport
from ._client import Credentials, _outcome
from ._exceptions import ClientClosedError, SmscError
from ._hosts import DEFAULT_HOST, get_host, resolve_endpoint
from ._models import BalanceResult, CostResult, SendResult, StatusResult
from ._options import SendOptions, make_options
from ._protocol import Protocol, Request, Result, protocol_for
from ._secrets import Secret
from ._transport import TransportConfig

__all__ = ["AsyncSoapSmsc"]

#: What ``time=`` takes: a service-format string, 0, an aware datetime, a timedelta, or an hour window.
TimeArg = str | int | datetime | timedelta | tuple[int, int] | None
R = TypeVar("R", SendResult, CostResult, StatusResult, BalanceResult)


class AsyncSoapSmsc:
    """An asyncio client for SMSC's SOAP API: ``AsyncSoapSmsc(login, psw)`` or ``AsyncSoapSmsc(apikey=...)``.

    It takes the same arguments as :class:`SoapSmsc` and its methods are coroutines returning the same
    results. Nothing touches the network (or builds a connection pool) until a method is awaited; the
    pool then belongs to that event loop. Many tasks may share one client, up to ``max_connections``
    requests in flight. Use ``async with``, or await :meth:`aclose`.
    """

    def __init__(
        self,
        login: str | None = None,
        psw: str | Secret | None = None,
        *,
        apikey: str | Secret | None = None,
        host: str = DEFAULT_HOST,
        endpoint: str | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_response_bytes: int = 64 * 1024,
        max_connections: int = 10,
        ca_bundle: str | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._credentials = Credentials(login, psw, apikey)
        self._host = get_host(host)
        self._endpoint = resolve_endpoint(endpoint if endpoint is not None else self._host.endpoint)
        self._config = TransportConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            deadline=timeout,
            max_response_bytes=max_response_bytes,
            max_connections=max_connections,
            ca_bundle=ca_bundle,
            proxies=proxies or {},
        )
        self._scrub = self._credentials.scrubber()
        self._transport = AsyncTransport(self._config)
        self._protocol_obj: Protocol | None = None
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def endpoint(self) -> str:
        """The URL requests are posted to."""
        return self._endpoint

    @property
    def host(self) -> str:
        """The host preset whose namespace the requests use."""
        return self._host.name

    @property
    def login(self) -> str | None:
        """The login (None for API-key clients)."""
        return self._credentials.login

    @property
    def max_connections(self) -> int:
        """How many requests this client keeps in flight at most."""
        return self._config.max_connections

    async def aclose(self) -> None:
        """Close pooled connections; later calls raise :class:`ClientClosedError`."""
        self._closed = True
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncSoapSmsc:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        who = f"login={self.login!r}" if self.login is not None else "apikey=***"
        return f"AsyncSoapSmsc({who}, endpoint={self._endpoint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            "AsyncSoapSmsc holds credentials and open connections; it cannot be pickled"
        )

    def __deepcopy__(self, memo: object) -> AsyncSoapSmsc:
        raise TypeError("AsyncSoapSmsc cannot be copied; create another client instead")

    __copy__ = __deepcopy__

    # ------------------------------------------------------------------ operations

    async def send_sms(
        self,
        phones: Phones,
        mes: str,
        *,
        id: int | str | None = None,
        sender: str | None = None,
        time: TimeArg = None,
    ) -> SendResult:
        """Send ``mes`` to ``phones``; returns the message id and the SMS parts billed."""
        fields, message_id = send_fields("send_sms", phones, mes, id, sender, time)
        return await self._send("send_sms", fields, message_id)

    async def send_sms2(
        self,
        phones: Phones = "",
        mes: str = "",
        *,
        id: int | str | None = None,
        sender: str | None = None,
        time: TimeArg = None,
        query: QueryArg = None,
        options: SendOptions | None = None,
        **kwargs: Any,
    ) -> SendResult:
        """Send ``mes`` with extra parameters: typed ``options``/keywords (see SendOptions) or ``query``."""
        opts = make_options(options, **kwargs)
        fields, message_id = send_fields("send_sms2", phones, mes, id, sender, time, query, opts)
        return await self._send("send_sms2", fields, message_id)

    async def get_sms_cost(self, phones: Phones, mes: str) -> CostResult:
        """Ask what sending ``mes`` to ``phones`` would cost, without sending it."""
        fields = cost_fields("get_sms_cost", phones, mes)
        return await self._call("get_sms_cost", fields, CostResult)

    async def get_sms_cost2(
        self,
        phones: Phones = "",
        mes: str = "",
        *,
        query: QueryArg = None,
        options: SendOptions | None = None,
        **kwargs: Any,
    ) -> CostResult:
        """Ask the cost of a send described by ``options``/keywords or ``query``, without sending."""
        opts = make_options(options, **kwargs)
        fields = cost_fields("get_sms_cost2", phones, mes, query, opts)
        return await self._call("get_sms_cost2", fields, CostResult)

    async def get_status(self, id: int | str, phone: str, *, all: int = 0) -> StatusResult:
        """Return the delivery status of message ``id`` sent to ``phone``."""
        fields = status_fields("get_status", id, phone, all)
        return await self._call("get_status", fields, StatusResult)

    async def get_status2(
        self,
        id: int | str,
        phone: str,
        *,
        all: int = 0,
        query: QueryArg = None,
        options: SendOptions | None = None,
        **kwargs: Any,
    ) -> StatusResult:
        """Return the delivery status with extra parameters in ``options``/keywords or ``query``."""
        opts = make_options(options, **kwargs)
        fields = status_fields("get_status2", id, phone, all, query, opts)
        return await self._call("get_status2", fields, StatusResult)

    async def get_balance(self) -> BalanceResult:
        """Return the account balance."""
        return await self._call("get_balance", {}, BalanceResult)

    # ------------------------------------------------------------------ machinery

    @property
    def _protocol(self) -> Protocol:
        # Loaded on first use (about a tenth of a second, once per process and namespace); an event
        # loop has one thread, so no lock is needed.
        protocol = self._protocol_obj
        if protocol is None:
            protocol = self._protocol_obj = protocol_for(self._host.namespace)
        return protocol

    async def _call(self, operation: str, fields: dict[str, str], kind: type[R]) -> R:
        request = self._protocol.build(operation, fields, self._credentials.fields())
        result = await self._execute(request)
        assert isinstance(result, kind)
        return result

    async def _send(self, operation: str, fields: dict[str, str], message_id: str) -> SendResult:
        request = self._protocol.build(
            operation,
            fields,
            self._credentials.fields(),
            message_id=message_id,
            phones=fields["phones"],
        )
        result = await self._execute(request)
        assert isinstance(result, SendResult)
        return result

    async def _execute(self, request: Request) -> Result:
        if self._closed:
            raise ClientClosedError("the client is closed", operation=request.operation)
        deadline_at = time.monotonic() + self._config.deadline
        error: SmscError | None = None
        try:
            reply = await self._transport.post(
                self._endpoint, request.body, request.headers, deadline_at
            )
            return self._protocol.parse(request, reply, self._scrub)
        except SmscError as exc:
            exc.operation = exc.operation or request.operation
            error = _outcome(request, exc)
        raise error
