"""The cached WSDL: where it lives, and the zeep Document built from it for one host's namespace.

The wheel carries the file as ``smsc_soap/wsdl/smsc.wsdl``; a source checkout reads ``wsdl/smsc.wsdl``.
Nothing here touches the network: the document is parsed from bytes, and the transport zeep is given for
imports refuses every load.
"""

from __future__ import annotations

import functools
import io
import threading
from pathlib import Path
from typing import Any

from .._hosts import WSDL_NAMESPACE

__all__ = ["load_document", "wsdl_path", "wsdl_text", "zeep_settings"]

_lock = threading.Lock()


def wsdl_path() -> Path:
    """Return the path of the cached WSDL file (inside the installed package, or the checkout's)."""
    here = Path(__file__).resolve().parent.parent  # the smsc_soap package
    packaged = here / "wsdl" / "smsc.wsdl"
    if packaged.is_file():
        return packaged
    checkout = here.parent / "wsdl" / "smsc.wsdl"
    if checkout.is_file():
        return checkout
    raise FileNotFoundError("smsc_soap's cached WSDL (wsdl/smsc.wsdl) is missing from the install")


@functools.cache
def _wsdl_source() -> str:
    return wsdl_path().read_text(encoding="utf-8")


def wsdl_text(namespace: str = WSDL_NAMESPACE, address: str | None = None) -> str:
    """Return the WSDL text for ``namespace`` (and, when given, with ``soap:address`` set to ``address``)."""
    text = _wsdl_source()
    if address is not None:
        text = text.replace(
            f'<soap:address location="{WSDL_NAMESPACE}"/>', f'<soap:address location="{address}"/>'
        )
    if namespace != WSDL_NAMESPACE:
        text = text.replace(WSDL_NAMESPACE, namespace)
    return text


def zeep_settings() -> Any:
    """zeep settings that forbid DTDs, entities, external references and huge trees."""
    from zeep import Settings

    return Settings(
        strict=True,
        raw_response=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
        xml_huge_tree=False,
        xsd_ignore_sequence_order=False,
    )


class _NoNetworkTransport:
    """Handed to zeep while parsing the WSDL: any attempt to fetch a document is a bug."""

    def load(self, url: str) -> bytes:
        raise RuntimeError(f"smsc_soap never fetches WSDL documents at run time (asked for {url})")


def load_document(namespace: str) -> Any:
    """Return the parsed zeep Document for ``namespace``; parsed once per process and shared."""
    with _lock:
        return _load_document(namespace)


@functools.cache
def _load_document(namespace: str) -> Any:
    from zeep.wsdl import Document

    source = io.BytesIO(wsdl_text(namespace).encode("utf-8"))
    return Document(source, _NoNetworkTransport(), base=None, settings=zeep_settings())  # type: ignore[arg-type]
