"""Check a published SMSC WSDL against the contract this client is built on (for CI pipelines).

:func:`check_contract` downloads a WSDL (or reads a saved copy) and compares its structure with the cached
contract of the chosen site. Our documented local additions (``apikey``; optional ``login``/``psw``) and
known variants of a site are reported apart and are not drift. The ``soap:address`` expected is always the
chosen site's endpoint, whatever URL the document was downloaded from (a proxy, a mirror, an artifact
server).

Nothing here contacts the network unless :func:`check_contract` is called without ``against=``::

    report = check_contract(host="smsc.ru")              # https://smsc.ru/sys/soap.php?wsdl
    report = check_contract(against="artifacts/smsc.wsdl")  # a copy saved by an earlier job
    assert report.ok, report.describe()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._exceptions import SmscError
from ._soap.wsdl_diff import Capabilities, Difference

__all__ = [
    "Capabilities",
    "ContractError",
    "ContractReport",
    "ContractUnreachableError",
    "ContractUnreadableError",
    "Difference",
    "check_contract",
]

#: The largest WSDL read (downloaded or from a file), in bytes.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024


class ContractError(SmscError):
    """Base of the errors of :func:`check_contract`; ``source`` names the URL or file."""

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.source = source


class ContractUnreachableError(ContractError):
    """The WSDL could not be obtained: connection refused, timeout, HTTP error, too large, no file."""


class ContractUnreadableError(ContractError):
    """The document was obtained but is not a WSDL 1.1 document that can be read safely."""


@dataclass(frozen=True, slots=True)
class ContractReport:
    """The outcome of one check: where from, against which site, and every difference by category."""

    host: str
    source: str
    drift: tuple[Difference, ...]
    local_additions: tuple[Difference, ...]
    known_variants: tuple[Difference, ...]
    capabilities: Capabilities

    @property
    def ok(self) -> bool:
        """Whether the checked contract has no drift."""
        return not self.drift

    def describe(self) -> str:
        """Return a multi-line text: one line per difference, then a verdict."""
        lines = [f"checked {self.source} against the cached contract ({self.host})"]
        for label, items in (
            ("DRIFT", self.drift),
            ("local addition", self.local_additions),
            ("known variant", self.known_variants),
        ):
            lines += [f"  {label}: {d.describe()}" for d in items]
        lines += [f"  capability: {line}" for line in self.capabilities.describe()]
        if self.drift:
            lines.append(f"{len(self.drift)} difference(s): the contract has drifted")
        else:
            lines.append("no drift")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "host": self.host,
            "source": self.source,
            "ok": self.ok,
            "drift": [d.to_dict() for d in self.drift],
            "local_additions": [d.to_dict() for d in self.local_additions],
            "known_variants": [d.to_dict() for d in self.known_variants],
            "capabilities": self.capabilities.to_dict(),
        }


def _read_saved(against: str | os.PathLike[str] | bytes, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(against, bytes):
        if len(against) > max_bytes:
            raise ContractUnreachableError(
                f"the WSDL is larger than {max_bytes} bytes", source="<bytes>"
            )
        return against, "<bytes>"
    path = Path(against)
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ContractUnreachableError(
            f"could not read {source}: {exc.strerror or exc}", source=source
        ) from exc
    if len(data) > max_bytes:
        raise ContractUnreachableError(
            f"{source}: the WSDL is larger than {max_bytes} bytes", source=source
        )
    return data, source


def _check_url(url: object) -> None:
    """An http(s) URL with a host and no credentials in it (they would show in reports and errors)."""
    from urllib.parse import urlsplit

    from ._exceptions import SmscConfigurationError

    if not isinstance(url, str) or not url:
        raise SmscConfigurationError("url must be a non-empty URL string", field="url")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SmscConfigurationError(
            "url must be an http(s) URL with a host, like https://smsc.ru/sys/soap.php?wsdl",
            field="url",
        )
    if parts.username or parts.password:
        raise SmscConfigurationError(
            "url must not carry credentials (user:password@); the WSDL is public", field="url"
        )


def check_contract(
    url: str | None = None,
    *,
    host: str = "smsc.ru",
    against: str | os.PathLike[str] | bytes | None = None,
    expect_address: str | None = None,
    timeout: float = 15.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ContractReport:
    """Compare a WSDL with the cached contract of ``host`` and return a :class:`ContractReport`.

    ``url``: where to download the WSDL (default ``https://<host>/sys/soap.php?wsdl``). ``against``: a saved
    WSDL instead (a file path or the bytes); then nothing is downloaded. ``host``: the site whose
    namespace, address and known variants to expect (smsc.ru, smsc.ua, smsc.kz, smscentre.com).
    ``expect_address``: the ``soap:address`` to expect instead of the site's endpoint (e.g. a local
    emulator's WSDL names the emulator's own address).

    Raises :class:`ContractUnreachableError` when the document cannot be obtained,
    :class:`ContractUnreadableError` when it is not a readable WSDL, and
    :class:`~smsc_soap.SmscConfigurationError` for an unknown ``host`` or both ``url`` and ``against``.
    """
    from ._exceptions import SmscConfigurationError
    from ._hosts import get_host
    from ._soap.wsdl import wsdl_text
    from ._soap.wsdl_diff import (
        WsdlFetchError,
        WsdlParseError,
        capabilities,
        compare,
        fetch_wsdl,
        parse_contract,
    )

    site = get_host(host)
    if url is not None and against is not None:
        raise SmscConfigurationError(
            "give either url= (download) or against= (a saved WSDL), not both", field="against"
        )
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise SmscConfigurationError(
            f"max_bytes must be a positive integer, not {max_bytes!r}", field="max_bytes"
        )
    if url is not None:
        _check_url(url)
    if against is not None:
        data, source = _read_saved(against, max_bytes)
    else:
        source = url if url is not None else site.endpoint + "?wsdl"
        try:
            data = fetch_wsdl(source, timeout=timeout, max_bytes=max_bytes)
        except WsdlFetchError as exc:
            raise ContractUnreachableError(str(exc), source=source) from exc
    try:
        live = parse_contract(data)
    except WsdlParseError as exc:
        raise ContractUnreadableError(f"{source}: {exc}", source=source) from exc
    cached = parse_contract(wsdl_text(site.namespace, address=site.endpoint))
    diff = compare(
        cached,
        live,
        expected_namespace=site.namespace,
        expected_address=expect_address or site.endpoint,
        host=site.name,
    )
    return ContractReport(site.name, source, diff.drift, diff.local, diff.known, capabilities(live))
