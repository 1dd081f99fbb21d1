"""``SoapSmsc``: the synchronous facade, one typed method per SOAP operation."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ._arguments import Phones, QueryArg, cost_fields, send_fields, status_fields
from ._exceptions import (
    ClientClosedError,
    Delivery,
    SendOutcomeUnknownError,
    SmscConfigurationError,
    SmscError,
)
from ._hosts import DEFAULT_HOST, get_host, resolve_endpoint
from ._models import BalanceResult, CostResult, SendResult, StatusResult
from ._options import SendOptions, make_options
from ._protocol import Protocol, Request, Result, protocol_for
from ._secrets import Scrubber, Secret
from ._text import check_text
from ._transport import SyncTransport, TransportConfig

__all__ = ["Credentials", "SoapSmsc"]

#: What ``time=`` takes: a service-format string, 0, an aware datetime, a timedelta, or an hour window.
TimeArg = str | int | datetime | timedelta | tuple[int, int] | None
R = TypeVar("R", SendResult, CostResult, StatusResult, BalanceResult)


class Credentials:
    """Login and password, or an API key; the secrets are held in :class:`Secret` wrappers."""

    __slots__ = ("apikey", "login", "psw")

    def __init__(
        self, login: str | None, psw: str | Secret | None, apikey: str | Secret | None
    ) -> None:
        if apikey is not None and (login is not None or psw is not None):
            raise SmscConfigurationError(
                "pass either login and psw, or apikey, not both", field="apikey"
            )
        if apikey is None and (login is None or psw is None):
            raise SmscConfigurationError(
                "credentials are missing: pass login and psw, or apikey=", field="login"
            )
        self.login = None if login is None else _credential_text(login, "login")
        self.psw = None if psw is None else Secret(_credential_text(psw, "psw"))
        self.apikey = None if apikey is None else Secret(_credential_text(apikey, "apikey"))

    def fields(self) -> dict[str, str]:
        """The credential elements of a request, revealed for the envelope only."""
        if self.apikey is not None:
            return {"apikey": self.apikey.reveal()}
        assert self.login is not None and self.psw is not None
        return {"login": self.login, "psw": self.psw.reveal()}

    def scrubber(self) -> Scrubber:
        """A scrubber that masks these secrets in any text."""
        return Scrubber(self.psw, self.apikey)

    def __repr__(self) -> str:
        who = f"login={self.login!r}" if self.login is not None else "apikey=***"
        return f"Credentials({who})"


def _credential_text(value: object, field: str) -> str:
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str):
        # Never echo the value: it may be a secret.
        raise SmscConfigurationError(
            f"{field} must be a str, not {type(value).__name__}", field=field
        )
    if not value or value != value.strip() or any(c in value for c in "\r\n\t\x00"):
        raise SmscConfigurationError(
            f"{field} is empty or has surrounding spaces or control characters", field=field
        )
    try:
        check_text(value, field, single_line=True)
    except SmscError:
        raise SmscConfigurationError(
            f"{field} contains characters that cannot be sent", field=field
        ) from None
    return value


class SoapSmsc:
    """A client for SMSC's SOAP API: ``SoapSmsc(login, psw)`` or ``SoapSmsc(apikey=...)``.

    Nothing touches the network until a method is called: the WSDL is the cached copy shipped with
    the package. One client may be shared by many threads. Use it as a context manager, or call
    :meth:`close`.
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
        self._transport = SyncTransport(self._config)
        self._protocol_obj: Protocol | None = None
        self._protocol_lock = threading.Lock()
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

    def close(self) -> None:
        """Close pooled connections; later calls raise :class:`ClientClosedError`."""
        self._closed = True
        self._transport.close()

    def __enter__(self) -> SoapSmsc:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        who = f"login={self.login!r}" if self.login is not None else "apikey=***"
        return f"SoapSmsc({who}, endpoint={self._endpoint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("SoapSmsc holds credentials and open connections; it cannot be pickled")

    def __deepcopy__(self, memo: object) -> SoapSmsc:
        raise TypeError("SoapSmsc cannot be copied; create another client instead")

    __copy__ = __deepcopy__

    # ------------------------------------------------------------------ operations

    def send_sms(
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
        return self._send("send_sms", fields, message_id)

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
    ) -> SendResult:
        """Send ``mes`` with extra parameters: typed ``options``/keywords (see SendOptions) or ``query``.

        Keywords are SendOptions fields (``send_sms2(p, m, translit=1, valid="01:00")``); a misspelled
        one raises TypeError. ``query`` is a raw mapping for anything newer, encoded safely. With
        ``list=`` the ``phones`` and ``mes`` arguments stay empty.
        """
        opts = make_options(options, **kwargs)
        fields, message_id = send_fields("send_sms2", phones, mes, id, sender, time, query, opts)
        return self._send("send_sms2", fields, message_id)

    def get_sms_cost(self, phones: Phones, mes: str) -> CostResult:
        """Ask what sending ``mes`` to ``phones`` would cost, without sending it."""
        return self._call("get_sms_cost", cost_fields("get_sms_cost", phones, mes), CostResult)

    def get_sms_cost2(
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
        return self._call("get_sms_cost2", fields, CostResult)

    def get_status(self, id: int | str, phone: str, *, all: int = 0) -> StatusResult:
        """Return the delivery status of message ``id`` sent to ``phone``."""
        fields = status_fields("get_status", id, phone, all)
        return self._call("get_status", fields, StatusResult)

    def get_status2(
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
        return self._call("get_status2", fields, StatusResult)

    def get_balance(self) -> BalanceResult:
        """Return the account balance."""
        return self._call("get_balance", {}, BalanceResult)

    # ------------------------------------------------------------------ machinery

    @property
    def _protocol(self) -> Protocol:
        protocol = self._protocol_obj
        if protocol is None:
            with self._protocol_lock:
                if self._protocol_obj is None:
                    self._protocol_obj = protocol_for(self._host.namespace)
                protocol = self._protocol_obj
        return protocol

    def _call(self, operation: str, fields: dict[str, str], kind: type[R]) -> R:
        request = self._protocol.build(operation, fields, self._credentials.fields())
        result = self._execute(request)
        assert isinstance(result, kind)
        return result

    def _send(self, operation: str, fields: dict[str, str], message_id: str) -> SendResult:
        request = self._protocol.build(
            operation,
            fields,
            self._credentials.fields(),
            message_id=message_id,
            phones=fields["phones"],
        )
        result = self._execute(request)
        assert isinstance(result, SendResult)
        return result

    def _execute(self, request: Request) -> Result:
        if self._closed:
            raise ClientClosedError("the client is closed", operation=request.operation)
        deadline_at = time.monotonic() + self._config.deadline
        error: SmscError | None = None
        try:
            reply = self._transport.post(self._endpoint, request.body, request.headers, deadline_at)
            return self._protocol.parse(request, reply, self._scrub)
        except SmscError as exc:
            exc.operation = exc.operation or request.operation
            error = _outcome(request, exc)
        raise error


def _outcome(request: Request, error: SmscError) -> SmscError:
    """For a send whose fate is unknown, the error to raise is SendOutcomeUnknownError."""
    if request.is_send and error.delivery is Delivery.UNKNOWN:
        assert request.message_id is not None and request.phones is not None
        unknown = SendOutcomeUnknownError(
            f"{request.operation}: the outcome is unknown, the message (id {request.message_id}) "
            f"may have been created; check get_status before sending again ({error})",
            operation=request.operation,
            message_id=request.message_id,
            phones=request.phones,
            reason=error,
        )
        unknown.__cause__ = error
        return unknown
    return error
