"""Host presets: where each SMSC site's SOAP endpoint lives and which namespace its WSDL uses.

A server refuses a request whose body element carries another host's namespace (a PHP SoapServer answers
``Procedure 'send2' not present``), so the namespace always follows the chosen host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._exceptions import SmscConfigurationError

__all__ = [
    "DEFAULT_HOST",
    "HOSTS",
    "WSDL_NAMESPACE",
    "Host",
    "get_host",
    "is_loopback_url",
    "resolve_endpoint",
]

#: The namespace our cached WSDL is written in (smsc.ru's).
WSDL_NAMESPACE = "https://smsc.ru/sys/soap.php"


@dataclass(frozen=True, slots=True)
class Host:
    """One SMSC site: its name, SOAP endpoint, WSDL namespace and backup mirror."""

    name: str
    namespace: str

    @property
    def endpoint(self) -> str:
        """The primary SOAP endpoint, always https."""
        return f"https://{self.name}/sys/soap.php"

    @property
    def mirror(self) -> str:
        """The documented backup server (``www2.<host>``)."""
        return f"https://www2.{self.name}/sys/soap.php"


HOSTS: dict[str, Host] = {
    "smsc.ru": Host("smsc.ru", "https://smsc.ru/sys/soap.php"),
    # smsc.ua's WSDL was generated over plain http, and its namespace kept the http scheme.
    "smsc.ua": Host("smsc.ua", "http://smsc.ua/sys/soap.php"),
    "smsc.kz": Host("smsc.kz", "https://smsc.kz/sys/soap.php"),
    "smscentre.com": Host("smscentre.com", "https://smscentre.com/sys/soap.php"),
}
DEFAULT_HOST = "smsc.ru"


def get_host(name: str) -> Host:
    """Return the preset called ``name`` or raise a configuration error listing the presets."""
    try:
        return HOSTS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(sorted(HOSTS))
        raise SmscConfigurationError(
            f"host must be one of {allowed}; use endpoint= for any other URL", field="host"
        ) from None


def is_loopback_url(url: str) -> bool:
    """Tell whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    hostname = urlsplit(url).hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def resolve_endpoint(url: str, *, field: str = "endpoint") -> str:
    """Check an endpoint URL: https anywhere, plain http only to loopback, no credentials in it."""
    if not isinstance(url, str) or not url:
        raise SmscConfigurationError(f"{field} must be a non-empty URL string", field=field)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SmscConfigurationError(
            f"{field} must be an http(s) URL with a host, like https://smsc.ru/sys/soap.php",
            field=field,
        )
    if parts.username or parts.password:
        raise SmscConfigurationError(
            f"{field} must not carry credentials; pass login/psw or apikey instead", field=field
        )
    if parts.scheme == "http" and not is_loopback_url(url):
        raise SmscConfigurationError(
            f"{field} uses plain http to a non-loopback host; the password would travel "
            "unencrypted. Use https (plain http is allowed only to 127.0.0.1/::1/localhost)",
            field=field,
        )
    return url
