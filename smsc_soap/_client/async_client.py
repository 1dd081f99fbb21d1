"""``AsyncSoapSmsc``: the asyncio facade, the same seven methods as :class:`SoapSmsc`, awaited.

Arguments are checked by the same functions (``_arguments``), envelopes are built and replies read by
the same :class:`~smsc_soap._soap.protocol.Protocol`, and failures carry the same exception types, so a
result or an error means exactly what it means from the sync client. Only the HTTP layer differs
(httpx instead of requests, see ``_async_transport``).
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .._exceptions import (
    AuthenticationError,
    ClientClosedError,
    Delivery,
    DuplicateSendError,
    SmscApiError,
    SmscDeadlineExceededError,
    SmscError,
)
from .._hosts import DEFAULT_HOST
from .._http.async_transport import AsyncTransport
from .._models import BalanceResult, CostResult, SendResult, StatusResult
from .._params.arguments import (
    Phones,
    QueryArg,
    cost_fields,
    recipients_of,
    send_fields,
    status_fields,
)
from .._params.options import SendOptions, make_options
from .._reliability.budget import ClientBudget
from .._reliability.limits import LimitsStore, open_store
from .._reliability.outcomes import detached, in_flight_duplicate, send_outcome
from .._reliability.policy import (
    Action,
    Attempts,
    Reconciler,
    ReconcileStep,
    RetryPolicy,
    describe,
    retryable,
    status_says_missing,
)
from .._secrets import Secret
from .._soap.protocol import Protocol, Request, Result, protocol_for
from .settings import client_settings, env_arguments, wrap_secret

__all__ = ["AsyncSoapSmsc"]

_log = logging.getLogger("smsc_soap")

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
        mirrors: Sequence[str] | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_response_bytes: int = 64 * 1024,
        max_connections: int = 10,
        ca_bundle: str | None = None,
        proxies: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        reconcile: bool = False,
        breaker_cooldown: float = 600.0,
        limits_store: str | LimitsStore | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Check every setting as :class:`SoapSmsc` does (no I/O); ``sleep`` is a coroutine function."""
        # Credentials become Secrets first: a setting error carries this frame, and traceback locals
        # (capture_locals=True) must show Secret('***'), never the password.
        psw = wrap_secret(psw)
        apikey = wrap_secret(apikey)
        settings = client_settings(
            login,
            psw,
            apikey,
            host=host,
            endpoint=endpoint,
            mirrors=mirrors,
            timeout=timeout,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_response_bytes=max_response_bytes,
            max_connections=max_connections,
            ca_bundle=ca_bundle,
            proxies=proxies,
            retry=retry,
            reconcile=reconcile,
            breaker_cooldown=breaker_cooldown,
        )
        self._settings = settings
        self._credentials = settings.credentials
        self._host = settings.host
        self._endpoint = settings.endpoint
        self._endpoints = settings.endpoints
        self._config = settings.transport
        self._retry = settings.retry
        self._reconcile = settings.reconcile
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._clock: Callable[[], float] = clock or _time.monotonic
        # Rate windows, the IP-block breaker, the retry budget and in-flight duplicate sends are shared
        # with the sync client's rules; concurrency is bounded by the httpx pool (max_connections).
        # Shared limits: a redis:// URL keeps slots, windows and the breaker in Redis for every
        # process of this account (keyed by the login, never a secret); None keeps them here.
        store, self._owns_store = open_store(
            limits_store, clock=self._clock, account=settings.credentials.login or "apikey"
        )
        self._budget = ClientBudget(
            max_connections=self._config.max_connections,
            breaker_cooldown=breaker_cooldown,
            clock=self._clock,
            store=store,
        )
        self._scrub = settings.scrub
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> AsyncSoapSmsc:
        """Build a client from ``SMSC_LOGIN``/``SMSC_PSW`` or ``SMSC_APIKEY``, ``SMSC_HOST``, ``SMSC_ENDPOINT``.

        ``environ`` defaults to ``os.environ``; the library reads the environment only here. Other
        keywords go to the constructor and win over the environment (``login``/``psw``/``apikey``
        given here mean the environment's credentials are not read). A missing credential raises
        :class:`SmscConfigurationError` naming the variable.
        """
        return cls(**env_arguments(environ, kwargs))

    async def aclose(self) -> None:
        """Close pooled connections; later calls raise :class:`ClientClosedError`."""
        self._closed = True
        await self._transport.aclose()
        if self._owns_store:
            self._budget.store.close()

    async def __aenter__(self) -> AsyncSoapSmsc:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        if not hasattr(self, "_endpoint"):  # a constructor that failed: tracebacks still render it
            return "AsyncSoapSmsc(<not configured>)"
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
        plan = self._settings.prepare(operation, fields, now=self._clock())
        request = self._protocol.build(plan.operation, plan.fields, plan.credentials)
        try:
            result = await self._execute(request)
        except AuthenticationError as exc:
            self._settings.auth_failed(plan, exc)
            raise
        assert isinstance(result, kind)
        return result

    async def _send(
        self, operation: str, fields: dict[str, str], message_id: str | None
    ) -> SendResult:
        plan = self._settings.prepare(operation, fields, message_id, now=self._clock())
        request = self._protocol.build(
            plan.operation,
            plan.fields,
            plan.credentials,
            message_id=plan.message_id,
            phones=recipients_of(plan.fields),
        )
        result = await self._execute(request)
        assert isinstance(result, SendResult)
        return result

    async def _execute(self, request: Request) -> Result:
        """Run one logical call: budgets, attempts, retries, fail-over and (for sends) reconcile."""
        if self._closed:
            raise ClientClosedError("the client is closed", operation=request.operation)
        outcome: Result | SmscError
        key: str | None = None
        if request.is_send:
            key = self._budget.enter_send(request.limit_key)
            if key is None:
                raise detached(in_flight_duplicate(request))
        try:
            outcome, attempts = await self._attempts(request, self._endpoints)
            if (
                request.is_send
                and isinstance(outcome, SmscError)
                and outcome.delivery is Delivery.UNKNOWN
            ):
                if self._reconcile:
                    outcome = await self._reconciled(request, outcome, attempts)
                else:
                    outcome = send_outcome(request, outcome)
        finally:
            if key is not None:
                self._budget.leave_send(key)
        if isinstance(outcome, SmscError):
            raise detached(outcome)
        return outcome

    async def _attempts(
        self, request: Request, endpoints: Sequence[str]
    ) -> tuple[Result | SmscError, Attempts]:
        """Attempt ``request`` until it succeeds or the policy gives up; never raises SmscError."""
        started = self._clock()
        attempts = Attempts(
            self._retry,
            is_send=request.is_send,
            endpoints=endpoints,
            started_at=started,
            deadline=started + self._config.deadline,
        )
        self._budget.retries.deposit()
        while True:
            attempts.sent_at = self._clock()
            outcome = await self._attempt(request, attempts.endpoint, attempts.deadline)
            if not isinstance(outcome, SmscError):
                return outcome, attempts
            if not request.is_send and retryable(outcome, is_send=False):
                outcome.retry_safe = True  # reads are idempotent
            decision = attempts.decide(outcome, self._clock())
            if decision.action is Action.GIVE_UP or not self._budget.retries.withdraw():
                return outcome, attempts
            _log.debug(
                "%s failed (%s); %s to attempt %d in %.2f s",
                request.operation,
                describe(outcome),
                decision.action.value,
                attempts.attempt,
                decision.delay,
            )
            if decision.delay > 0:
                await self._sleep(decision.delay)

    async def _attempt(
        self, request: Request, endpoint: str, deadline: float
    ) -> Result | SmscError:
        """One request on the wire, inside the budgets; the error is returned, never raised."""
        operation = request.operation
        try:
            probe = self._budget.admit(operation, request.limit_key)
        except SmscError as exc:
            return exc
        remaining = deadline - self._clock()
        if remaining <= 0:
            if probe:
                self._budget.breaker.release_probe()
            return SmscDeadlineExceededError(
                f"{operation}: the deadline passed before the request was sent",
                operation=operation,
                delivery=Delivery.NOT_SENT,
                retry_safe=True,
            )
        error: SmscError | None = None
        # The transport measures real time: map what is left of the deadline onto it.
        deadline_at = _time.monotonic() + remaining
        slot: object | None = None
        try:
            if self._budget.shared_slots is not None:
                slot = await self._shared_slot(deadline_at)
                if slot is None:
                    if probe:
                        self._budget.breaker.release_probe()
                    return SmscDeadlineExceededError(
                        f"{operation}: the deadline passed while waiting for a slot shared by "
                        "the processes of this account; nothing was sent",
                        operation=operation,
                        delivery=Delivery.NOT_SENT,
                        retry_safe=True,
                    )
            reply = await self._transport.post(endpoint, request.body, request.headers, deadline_at)
            result = self._protocol.parse(request, reply, self._scrub)
        except SmscError as exc:
            exc.operation = exc.operation or operation
            error = exc
        except BaseException:
            if probe:
                self._budget.breaker.release_probe()  # cancelled: the probe settled nothing
            raise
        finally:
            if slot is not None:
                self._budget.release_shared_slot(slot)
        self._budget.breaker.record(probe, error)
        if error is not None:
            return error
        return result

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

    async def _reconciled(
        self, request: Request, error: SmscError, attempts: Attempts
    ) -> Result | SmscError:
        """Find out what became of a send whose reply was lost; resend it at most once, if safe."""
        assert request.message_id is not None and request.phones is not None
        endpoint = attempts.endpoint
        reconciler = Reconciler(self._retry, sent_at=attempts.sent_at)
        _step, delay = reconciler.start(self._clock())
        if delay > 0:
            await self._sleep(delay)
        phone = request.phones.replace(";", ",").split(",")[0].strip()
        plan = self._settings.prepare(
            "get_status", status_fields("get_status", request.message_id, phone, 0), now=0.0
        )
        status_request = self._protocol.build(plan.operation, plan.fields, plan.credentials)
        others = [e for e in self._endpoints if e != endpoint]
        status, _ = await self._attempts(status_request, [endpoint, *others])
        step = reconciler.on_status(status_says_missing(status), self._clock())
        _log.debug("reconcile of message %s: %s", request.message_id, step.value)
        if step is ReconcileStep.CONFIRMED:
            return send_outcome(request, error, status=status, confirmed=True)
        if step is not ReconcileStep.RESEND:
            return send_outcome(request, error, status=status)
        reconciler.resend_started()
        resent = await self._attempt(request, endpoint, self._clock() + self._config.deadline)
        if isinstance(resent, DuplicateSendError):
            resent.probably_sent = True
            resent.reconciled = True
            resent.delivery = Delivery.ACCEPTED
            return resent
        if not isinstance(resent, SmscError):
            return resent
        if isinstance(resent, SmscApiError):
            return resent
        return send_outcome(
            request, resent if resent.delivery is Delivery.UNKNOWN else error, status=status
        )
