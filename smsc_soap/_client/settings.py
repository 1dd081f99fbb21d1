"""Client settings: credentials and every constructor check, shared by SoapSmsc and AsyncSoapSmsc.

Both clients build a :class:`ClientSettings` from their keyword arguments, so they refuse exactly the
same settings with the same messages. Credentials are held as :class:`Secret` from the first moment,
and a failing check is raised without the deeper frames whose locals could hold the raw value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._exceptions import SmscConfigurationError, SmscError
from .._hosts import Host, get_host, resolve_endpoint
from .._http.types import TransportConfig
from .._params.text import check_text
from .._reliability.outcomes import detached
from .._reliability.policy import RetryPolicy
from .._secrets import Scrubber, Secret

__all__ = ["ClientSettings", "Credentials", "client_settings", "wrap_secret"]


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

    @property
    def scrub(self) -> Scrubber:
        """A scrubber masking these credentials in any text."""
        return self.credentials.scrubber()


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
