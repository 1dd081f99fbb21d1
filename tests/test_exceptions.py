"""No zeep, requests, urllib3 or lxml exception escapes the facade; the tree is what the docs draw."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import lxml.etree
import pytest
import requests
import urllib3
import zeep.exceptions
from pytest_httpserver import HTTPServer

import smsc_soap as s
from smsc_soap import SoapSmsc

from .wire import php_reply


def _exception_classes(*modules: ModuleType) -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in modules:
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and not name.startswith("_"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


FOREIGN = _exception_classes(zeep.exceptions, requests.exceptions, urllib3.exceptions, lxml.etree)


def _instance(cls: type[BaseException]) -> BaseException:
    for args in (("boom",), ("boom", None), ("boom", None, None), ()):
        try:
            return cls(*args)
        except Exception:
            continue
    return cls.__new__(cls)


def test_enumeration_is_not_empty() -> None:
    """The enumeration covers the libraries' trees (sanity check of the test itself)."""
    names = {c.__name__ for c in FOREIGN}
    assert {
        "Fault",
        "XMLSyntaxError",
        "ConnectionError",
        "ReadTimeoutError",
        "DTDForbidden",
    } <= names
    assert len(FOREIGN) > 60


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[SoapSmsc]:
    """A client aimed at pytest-httpserver."""
    once = s.RetryPolicy(max_attempts=1, send_max_attempts=1)
    endpoint = httpserver.url_for("/sys/soap.php")
    with SoapSmsc("alex", "123", endpoint=endpoint, timeout=5, retry=once) as c:
        yield c


@pytest.mark.parametrize("cls", FOREIGN, ids=lambda c: f"{c.__module__}.{c.__name__}")
@pytest.mark.parametrize("stage", ["transport", "urllib3", "connect", "parse"])
def test_foreign_exception_is_mapped(
    monkeypatch: pytest.MonkeyPatch,
    httpserver: HTTPServer,
    client: SoapSmsc,
    cls: type[BaseException],
    stage: str,
) -> None:
    """Whatever the libraries raise while posting or parsing, callers see an SmscError."""
    httpserver.expect_request("/sys/soap.php").respond_with_data(
        php_reply("get_balance", "<balance>1</balance>"), content_type="text/xml"
    )

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise _instance(cls)

    from smsc_soap._http import connection
    from smsc_soap._http.sync_transport import SyncTransport

    if stage == "transport":  # the socket path: the request's write fails
        monkeypatch.setattr(connection.Connection, "_write", boom)
    elif stage == "connect":  # the socket path: opening the connection fails
        monkeypatch.setattr(connection, "_open_socket", boom)
    elif stage == "urllib3":
        monkeypatch.setattr(SyncTransport, "use_sockets", False)
        monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", boom)
    else:
        monkeypatch.setattr(type(client._protocol), "_parse", boom)
    for call in (client.get_balance, lambda: client.send_sms("79999999999", "hi", id=3)):
        with pytest.raises(s.SmscError) as info:
            call()
        error = info.value
        assert error.__context__ is None or isinstance(error.__context__, s.SmscError)
        cause = error.__cause__
        assert cause is None or isinstance(cause, s.SmscError)


def test_exception_tree() -> None:
    """The bases the issue names, and a validation error that is also a ValueError."""
    assert issubclass(s.SmscApiError, s.SmscError)
    assert issubclass(s.SmscProtocolError, s.SmscError)
    assert issubclass(s.SmscFaultError, s.SmscProtocolError)
    assert issubclass(s.SmscTransportError, s.SmscError)
    assert issubclass(s.SmscValidationError, s.SmscError)
    assert issubclass(s.SmscValidationError, ValueError)
    assert issubclass(s.DuplicateSendError, s.TooManyRequestsError)
    for cls in (s.SmscConnectError, s.SmscConnectTimeoutError, s.SmscTlsError):
        assert cls.delivery is s.Delivery.NOT_SENT


def test_exceptions_pickle_round_trip() -> None:
    """Errors keep their fields across pickling (for worker processes)."""
    import pickle

    error = s._exceptions.api_error(7, "send_sms", message_id="9")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is s.InvalidPhoneError
    assert (copy.code, copy.operation, copy.message_id, str(copy)) == (
        7,
        "send_sms",
        "9",
        str(error),
    )
