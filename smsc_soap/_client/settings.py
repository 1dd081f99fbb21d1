"""Client settings: credentials and every constructor check, shared by SoapSmsc and AsyncSoapSmsc.

Both clients build a :class:`ClientSettings` from their keyword arguments, so they refuse exactly the
same settings with the same messages. Credentials are held as :class:`Secret` from the first moment,
and a failing check is raised without the deeper frames whose locals could hold the raw value.

:meth:`ClientSettings.prepare` turns an operation's fields into what goes on the wire: an API-key call
routed to the operation whose ``query`` can carry the key, the credential elements, and a send's default
message id (an HMAC under the client's own random key, see :func:`derive_message_id`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from .._exceptions import AuthenticationError, Delivery, SmscConfigurationError, SmscError
from .._hosts import Host, get_host, resolve_endpoint
from .._http.types import TransportConfig
from .._params.arguments import with_query
from .._params.text import check_text
from .._params.validation import derive_message_id
from .._reliability.outcomes import detached
from .._reliability.policy import RetryPolicy
from .._secrets import Scrubber, Secret

__all__ = [
    "ClientSettings",
    "Credentials",
    "Prepared",
    "client_settings",
    "env_arguments",
    "wrap_secret",
]


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

    def fields(self, query: str | None = None) -> dict[str, str]:
        """The credential elements of a request, revealed for the envelope only.

        With an API key: empty ``login`` and ``psw`` (the published WSDL requires both), the
        ``apikey`` element (for a live WSDL that declares it), and, when the request has a ``query``
        (passed here), that query with ``apikey=`` added: the route the SOAP page documents, which a
        server built from the published WSDL reads.
        """
        if self.apikey is not None:
            key = self.apikey.reveal()
            values = {"login": "", "psw": "", "apikey": key}
            if query is not None:
                pair = "apikey=" + quote_plus(key, safe="")
                values["query"] = f"{query}&{pair}" if query else pair
            return values
        assert self.login is not None and self.psw is not None
        return {"login": self.login, "psw": self.psw.reveal()}

    def scrubber(self) -> Scrubber:
        """A scrubber that masks these secrets in any text."""
        return Scrubber(self.psw, self.apikey)

    def __repr__(self) -> str:
        login = getattr(
            self, "login", None
        )  # a constructor that failed: tracebacks still render it
        if login is not None:
            return f"Credentials(login={login!r})"
        return (
            "Credentials(apikey=***)"
            if getattr(self, "apikey", None) is not None
            else "Credentials()"
        )


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


def wrap_secret(value: str | Secret | None) -> Secret | None:
    """Hold a credential in a Secret as soon as it arrives (any type: Credentials checks it)."""
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What one call puts on the wire: the operation, its fields, its credentials, its message id.

    ``fields`` never hold credentials (the service's limits are counted by them); ``credentials`` are
    revealed and kept out of the repr.
    """

    operation: str
    fields: dict[str, str]
    credentials: dict[str, str] = field(repr=False)
    message_id: str | None = None


_BALANCE_APIKEY_HINT = (
    "get_balance has no query, so the API key went only as the <apikey> element, and the live WSDL "
    "may not declare that element (`smsc-soap wsdl check` shows whether it does); if the key works "
    "for sends, that is the cause, else the key is wrong; login and password work for get_balance. "
    "Further API-key balance calls of this client are refused locally, since five failed logins "
    "within 30 minutes block the IP"
)


class _ApikeyState:
    """What a client has learnt about its API key (shared by its threads; a flag set once)."""

    __slots__ = ("balance_refused",)

    def __init__(self) -> None:
        self.balance_refused = False


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a client needs to know before its first call, checked."""

    credentials: Credentials
    host: Host
    endpoint: str
    endpoints: tuple[str, ...]
    transport: TransportConfig
    retry: RetryPolicy
    reconcile: bool
    breaker_cooldown: float
    #: The client's own random key for default message ids (never a credential).
    id_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _apikey: _ApikeyState = field(default_factory=_ApikeyState, repr=False)

    @property
    def scrub(self) -> Scrubber:
        """A scrubber masking these credentials in any text."""
        return self.credentials.scrubber()

    def prepare(
        self,
        operation: str,
        fields: Mapping[str, str],
        message_id: str | None = None,
        *,
        now: float,
    ) -> Prepared:
        """Prepare one request of ``operation``: route, credentials and (for a send) the message id.

        With an API key, send_sms, get_sms_cost and get_status go as their ``*2`` twin, whose
        ``query`` carries ``apikey=``; a balance call after an API-key balance call failed with error 2
        is refused here (AuthenticationError, NOT_SENT). A send without ``message_id`` gets
        :func:`derive_message_id` of its content and the minute of ``now`` (the client's clock, in
        seconds). Nothing here does I/O.
        """
        apikey = self.credentials.apikey is not None
        if apikey:
            if operation == "get_balance" and self._apikey.balance_refused:
                refused = AuthenticationError(
                    2,
                    operation=operation,
                    detail="refused locally, nothing was sent: an earlier API-key get_balance "
                    "of this client got error 2 (the live WSDL may not declare <apikey> for "
                    "get_balance; `smsc-soap wsdl check` shows it); use login and password for "
                    "the balance",
                )
                refused.delivery = Delivery.NOT_SENT
                raise refused
            operation, routed = with_query(operation, fields)
        else:
            routed = dict(fields)
        if operation in ("send_sms", "send_sms2"):
            if message_id is None:
                minute = int(now // 60)
                message_id = derive_message_id(self.id_key, operation, routed, minute)
            routed["id"] = message_id
        credentials = self.credentials.fields(routed.get("query") if apikey else None)
        return Prepared(operation, routed, credentials, message_id)

    def auth_failed(self, operation: str, error: AuthenticationError) -> None:
        """Note an error 2: after an API-key balance call, explain it and refuse further ones."""
        if operation != "get_balance" or self.credentials.apikey is None:
            return
        self._apikey.balance_refused = True
        error.message = f"{error.message}: {_BALANCE_APIKEY_HINT}"
        error.args = (error.message,)


def client_settings(
    login: str | None,
    psw: Secret | None,
    apikey: Secret | None,
    *,
    host: str,
    endpoint: str | None,
    mirrors: Sequence[str] | None,
    timeout: float,
    connect_timeout: float,
    read_timeout: float,
    max_response_bytes: int,
    max_connections: int,
    ca_bundle: str | None,
    proxies: Mapping[str, str] | None,
    retry: RetryPolicy | None,
    reconcile: bool,
    breaker_cooldown: float,
) -> ClientSettings:
    """Check a client's settings (no I/O); ``psw``/``apikey`` arrive already wrapped by :func:`wrap_secret`."""
    error: SmscError | None = None
    try:
        credentials = Credentials(login, psw, apikey)
    except SmscError as exc:  # re-raised detached: the deeper frames hold the raw value
        error = exc
    if error is not None:
        raise detached(error)
    preset = get_host(host)
    primary = resolve_endpoint(endpoint if endpoint is not None else preset.endpoint)
    if mirrors is None:
        mirrors = [preset.mirror] if endpoint is None else []
    if isinstance(mirrors, str) or not isinstance(mirrors, Sequence):
        raise SmscConfigurationError("mirrors must be a list of URLs", field="mirrors")
    extra = [resolve_endpoint(url, field="mirrors") for url in mirrors]
    if retry is None:
        retry = RetryPolicy()
    if not isinstance(retry, RetryPolicy):
        raise SmscConfigurationError("retry must be a RetryPolicy", field="retry")
    if not isinstance(reconcile, bool):
        raise SmscConfigurationError("reconcile must be True or False", field="reconcile")
    return ClientSettings(
        credentials=credentials,
        host=preset,
        endpoint=primary,
        endpoints=tuple(dict.fromkeys([primary, *extra])),
        transport=TransportConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            deadline=timeout,
            max_response_bytes=max_response_bytes,
            max_connections=max_connections,
            ca_bundle=ca_bundle,
            proxies=proxies or {},
        ),
        retry=retry,
        reconcile=reconcile,
        breaker_cooldown=breaker_cooldown,
    )


#: The environment variables ``from_env()`` reads (the same ones the command line reads).
ENV_VARIABLES = ("SMSC_LOGIN", "SMSC_PSW", "SMSC_APIKEY", "SMSC_HOST", "SMSC_ENDPOINT")


def env_arguments(environ: Mapping[str, str] | None, keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Return a client's constructor keywords from ``environ`` (``None``: ``os.environ``).

    Explicit ``keywords`` win: any of ``login``/``psw``/``apikey`` among them means the environment's
    credentials are not read at all, and ``host``/``endpoint`` given there override ``SMSC_HOST`` /
    ``SMSC_ENDPOINT``. Otherwise ``SMSC_APIKEY`` is used when set, else ``SMSC_LOGIN`` with
    ``SMSC_PSW``. Empty values count as unset.
    """
    env = os.environ if environ is None else environ
    if not isinstance(env, Mapping):
        raise SmscConfigurationError(
            "environ must be a mapping of names to strings", field="environ"
        )

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is not None and not isinstance(value, str):
            raise SmscConfigurationError(f"{name} must be a string", field=name)
        return value or None

    arguments = dict(keywords)
    if not any(arguments.get(key) is not None for key in ("login", "psw", "apikey")):
        apikey = wrap_secret(
            get("SMSC_APIKEY")
        )  # Secrets at once: no raw value in a frame's locals
        if apikey is not None:
            arguments["apikey"] = apikey
        else:
            login, psw = get("SMSC_LOGIN"), wrap_secret(get("SMSC_PSW"))
            if login is None or psw is None:
                missing = " and ".join(
                    name
                    for name, value in (("SMSC_LOGIN", login), ("SMSC_PSW", psw))
                    if value is None
                )
                raise SmscConfigurationError(
                    f"no credentials in the environment: {missing} not set; set SMSC_LOGIN and "
                    "SMSC_PSW, or SMSC_APIKEY (or pass login=/psw= or apikey=)",
                    field="SMSC_PSW" if login else "SMSC_LOGIN",
                )
            arguments["login"], arguments["psw"] = login, psw
    for key, name in (("host", "SMSC_HOST"), ("endpoint", "SMSC_ENDPOINT")):
        value = get(name)
        if key not in arguments and value is not None:
            arguments[key] = value
    return arguments
