"""What both clients are, apart from how they wait: settings, the seven operations and their plans.

:class:`ClientCore` checks the constructor's settings, holds the budgets and the protocol, guards
repr/pickle/copy, and defines every public operation once. An operation checks nothing itself: it
hands a :class:`~smsc_soap._client.plan.CallPlan` plan to ``_run``, the one method each client
implements (``SoapSmsc`` drives the plan with blocking calls, ``AsyncSoapSmsc`` returns a coroutine
that awaits them). The class is generic in what ``_run`` returns, so that ``SoapSmsc.send_sms`` is
typed ``-> SendResult`` and ``AsyncSoapSmsc.send_sms`` ``-> Coroutine[..., SendResult]``.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, Self, TypeVar, cast

from .._exceptions import ClientClosedError
from .._hosts import DEFAULT_HOST
from .._http.types import TransportConfig
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
from .._reliability.policy import RetryPolicy
from .._secrets import Secret
from .._soap.protocol import Protocol, Request, protocol_for
from .._soap.spec import OPERATIONS
from .plan import CallPlan, Plan
from .settings import client_settings, env_arguments, wrap_secret

__all__ = ["OPERATIONS", "ClientCore", "TimeArg"]

#: What ``time=`` takes: a service-format string, 0, an aware datetime, a timedelta, or an hour window.
TimeArg = str | int | datetime | timedelta | tuple[int, int] | None

SendT = TypeVar("SendT")
CostT = TypeVar("CostT")
StatusT = TypeVar("StatusT")
BalanceT = TypeVar("BalanceT")


class ClientCore(Generic[SendT, CostT, StatusT, BalanceT]):
    """The shared body of :class:`SoapSmsc` and :class:`AsyncSoapSmsc`; not used directly."""

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
        sleep: Callable[[float], Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Check every setting (no network I/O here).

        ``mirrors`` lists fail-over endpoints; by default the preset's ``www2`` mirror when no
        ``endpoint`` is given, none for a custom endpoint; ``[]`` disables fail-over. ``timeout`` is
        the total deadline of a call: retries, reconcile and its resend included. ``retry`` is the
        :class:`RetryPolicy` (``RetryPolicy(max_attempts=1, send_max_attempts=1)`` turns retries
        off). ``reconcile=True`` makes a send whose reply was lost ask ``get_status`` and resend the
        identical request at most once, only if the service says the message does not exist and the
        resend is still covered by SMSC's duplicate window. ``breaker_cooldown`` is how long calls
        are refused locally after an error 4 (IP blocked). ``limits_store`` (a ``redis://`` URL or a
        store object) shares in-flight slots, rate windows and the breaker with every process of this
        login; None keeps them in this client. ``sleep`` (a function, or a coroutine function for
        the async client) and ``clock`` (monotonic seconds) are injectable for tests.
        """
        # Rebind the raw secrets at once: a setting error raised below carries this frame, and
        # traceback locals (capture_locals=True) must show Secret('***'), never the password.
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
        self._credentials = settings.credentials
        self._host = settings.host
        self._endpoint = settings.endpoint
        self._endpoints = settings.endpoints
        self._config: TransportConfig = settings.transport
        self._sleep = sleep or self._default_sleep
        self._clock: Callable[[], float] = clock or _time.monotonic
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
        self._protocol_obj: Protocol | None = None
        self._protocol_lock = threading.Lock()
        self._closed = False
        self._plans = CallPlan(
            protocol=lambda: self._protocol,
            settings=settings,
            budget=self._budget,
            retry=settings.retry,
            endpoints=settings.endpoints,
            deadline=self._config.deadline,
            reconcile=settings.reconcile,
            scrub=self._scrub,
            clock=self._clock,
            closed=lambda: self._closed,
        )
        self._transport = self._transport_class(self._config)

    # ------------------------------------------------------------------ what each client provides

    #: The transport class (built here, connecting on first use) and the sleep used by default.
    _transport_class: Callable[[TransportConfig], Any]
    _default_sleep: Callable[[float], Any]

    def _check_open(self, operation: str) -> None:
        """Refuse to open a connection once the client is closed."""
        if self._closed:
            raise ClientClosedError("the client is closed", operation=operation)

    def _mark_closed(self) -> None:
        """Refuse every later call, and any retry or reconcile step of a call in flight."""
        self._closed = True
        if self._owns_store:
            self._budget.store.close()

    def _run(self, plan: Plan) -> Any:
        """Drive ``plan`` to its result (the sync client) or return a coroutine that does (async)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ properties

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
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Self:
        """Build a client from ``SMSC_LOGIN``/``SMSC_PSW`` or ``SMSC_APIKEY``, ``SMSC_HOST``, ``SMSC_ENDPOINT``.

        ``environ`` defaults to ``os.environ``; the library reads the environment only here. Other
        keywords go to the constructor and win over the environment (``login``/``psw``/``apikey``
        given here mean the environment's credentials are not read). A missing credential raises
        :class:`SmscConfigurationError` naming the variable.
        """
        return cls(**env_arguments(environ, kwargs))

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "_endpoint"):  # a constructor that failed: tracebacks still render it
            return f"{name}(<not configured>)"
        who = f"login={self.login!r}" if self.login is not None else "apikey=***"
        return f"{name}({who}, endpoint={self._endpoint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        name = type(self).__name__
        raise TypeError(f"{name} holds credentials and open connections; it cannot be pickled")

    def __deepcopy__(self, memo: object) -> Self:
        name = type(self).__name__
        raise TypeError(f"{name} cannot be copied; create another client instead")

    def __copy__(self) -> Self:
        return self.__deepcopy__(None)

    # ------------------------------------------------------------------ operations

    def send_sms(
        self,
        phones: Phones,
        mes: str,
        *,
        id: int | str | None = None,
        sender: str | None = None,
        time: TimeArg = None,
    ) -> SendT:
        """Send ``mes`` to ``phones``; returns the message id and the SMS parts billed."""

        def build() -> Request:
            fields, message_id = send_fields("send_sms", phones, mes, id, sender, time)
            return self._send_request("send_sms", fields, message_id)

        return cast(SendT, self._run(self._plans.call(build)))

    def send_sms2(
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
    ) -> SendT:
        """Send ``mes`` with extra parameters: typed ``options``/keywords (see SendOptions) or ``query``.

        Keywords are SendOptions fields (``send_sms2(p, m, translit=1, valid="01:00")``); a misspelled
        one raises TypeError. ``query`` is a raw mapping for anything newer, encoded safely. With
        ``list=`` the ``phones`` and ``mes`` arguments stay empty.
        """

        def build() -> Request:
            opts = make_options(options, **kwargs)
            fields, message_id = send_fields(
                "send_sms2", phones, mes, id, sender, time, query, opts
            )
            return self._send_request("send_sms2", fields, message_id)

        return cast(SendT, self._run(self._plans.call(build)))

    def get_sms_cost(self, phones: Phones, mes: str) -> CostT:
        """Ask what sending ``mes`` to ``phones`` would cost, without sending it."""

        def build() -> Request:
            return self._plans.request("get_sms_cost", cost_fields("get_sms_cost", phones, mes))

        return cast(CostT, self._run(self._plans.call(build)))

    def get_sms_cost2(
        self,
        phones: Phones = "",
        mes: str = "",
        *,
        query: QueryArg = None,
        options: SendOptions | None = None,
        **kwargs: Any,
    ) -> CostT:
        """Ask the cost of a send described by ``options``/keywords or ``query``, without sending."""

        def build() -> Request:
            opts = make_options(options, **kwargs)
            fields = cost_fields("get_sms_cost2", phones, mes, query, opts)
            return self._plans.request("get_sms_cost2", fields)

        return cast(CostT, self._run(self._plans.call(build)))

    def get_status(self, id: int | str, phone: str, *, all: int = 0) -> StatusT:
        """Return the delivery status of message ``id`` sent to ``phone``."""

        def build() -> Request:
            return self._plans.request("get_status", status_fields("get_status", id, phone, all))

        return cast(StatusT, self._run(self._plans.call(build)))

    def get_status2(
        self,
        id: int | str,
        phone: str,
        *,
        all: int = 0,
        query: QueryArg = None,
        options: SendOptions | None = None,
        **kwargs: Any,
    ) -> StatusT:
        """Return the delivery status with extra parameters in ``options``/keywords or ``query``."""

        def build() -> Request:
            opts = make_options(options, **kwargs)
            fields = status_fields("get_status2", id, phone, all, query, opts)
            return self._plans.request("get_status2", fields)

        return cast(StatusT, self._run(self._plans.call(build)))

    def get_balance(self) -> BalanceT:
        """Return the account balance."""
        return cast(
            BalanceT, self._run(self._plans.call(lambda: self._plans.request("get_balance", {})))
        )

    # ------------------------------------------------------------------ machinery

    @property
    def _protocol(self) -> Protocol:
        """The namespace's protocol, loaded on first use (once per process and namespace)."""
        protocol = self._protocol_obj
        if protocol is None:
            with self._protocol_lock:
                if self._protocol_obj is None:
                    self._protocol_obj = protocol_for(self._host.namespace)
                protocol = self._protocol_obj
        return protocol

    def _send_request(
        self, operation: str, fields: dict[str, str], message_id: str | None
    ) -> Request:
        return self._plans.request(
            operation, fields, message_id=message_id, phones=recipients_of(fields)
        )
