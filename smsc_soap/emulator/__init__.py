"""A local SMSC: the same SOAP, from the same WSDL, with the same rules, for tests and demos.

The state model (:class:`Emulator`, :class:`Account`, :class:`Message`) is apart from the wire layer
(:func:`make_app`, a WSGI app that speaks SOAP as PHP's SoapServer does) and from the server
(:class:`EmulatorServer`, the app on 127.0.0.1 on a daemon thread). By default it speaks the published
contract (an ``<apikey>`` element is ignored, ``apikey=`` inside ``query`` works); ``apikey_element=True``
and ``documented_fields=True`` simulate a richer live WSDL (:class:`Contract`). The rules, test numbers,
lifecycle, limits and assumptions are described in ``docs/emulator.md``.

    with EmulatorServer(Emulator([Account("alex", "123")], clock=ManualClock())) as server:
        ...  # point a client at server.url; server.advance(10) moves the statuses on
"""

from __future__ import annotations

from ._accounts import TEST_APIKEY, TEST_LOGIN, TEST_PASSWORD, TEST_SENDER, default_account
from ._clock import Clock, ManualClock, SystemClock
from ._contract import Contract, served_wsdl
from ._errors import (
    BadCredentials,
    BadDate,
    BadNumber,
    BadParameters,
    Forbidden,
    IpBlocked,
    MessageNotFound,
    NoFunds,
    RequestError,
    TooManyRequests,
    Undeliverable,
)
from ._faults import ConnectionDropped, FaultKind, FaultPlan, Faults
from ._limits import Guards
from ._model import (
    OPERATIONS,
    TEST_PREFIX,
    Account,
    Emulator,
    Limits,
    Message,
    NumberReport,
    Recipient,
    Reply,
    Tariff,
)
from ._push import CallbackAttempt, CallbackPusher, is_loopback_url
from ._receiver import TEST_CALLBACK_SECRET, CallbackReceiver
from ._server import EmulatorServer
from ._times import MOSCOW, format_moscow, parse_send_time
from ._wire import RequestRecord, SoapApp, format_record, make_app, render_fault, render_reply

__all__ = [
    "MOSCOW",
    "OPERATIONS",
    "TEST_APIKEY",
    "TEST_CALLBACK_SECRET",
    "TEST_LOGIN",
    "TEST_PASSWORD",
    "TEST_PREFIX",
    "TEST_SENDER",
    "Account",
    "BadCredentials",
    "BadDate",
    "BadNumber",
    "BadParameters",
    "CallbackAttempt",
    "CallbackPusher",
    "CallbackReceiver",
    "Clock",
    "ConnectionDropped",
    "Contract",
    "Emulator",
    "EmulatorServer",
    "FaultKind",
    "FaultPlan",
    "Faults",
    "Forbidden",
    "Guards",
    "IpBlocked",
    "Limits",
    "ManualClock",
    "Message",
    "MessageNotFound",
    "NoFunds",
    "NumberReport",
    "Recipient",
    "Reply",
    "RequestError",
    "RequestRecord",
    "SoapApp",
    "SystemClock",
    "Tariff",
    "TooManyRequests",
    "Undeliverable",
    "default_account",
    "format_moscow",
    "format_record",
    "is_loopback_url",
    "make_app",
    "parse_send_time",
    "render_fault",
    "render_reply",
    "served_wsdl",
]
