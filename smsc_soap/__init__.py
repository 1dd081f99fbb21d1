"""smsc_soap: a typed, hardened client for the SMSC SOAP API, with a local emulator.

Public names are imported on first use (PEP 562), so that ``import smsc_soap`` and ``smsc-soap --help``
stay fast; type checkers see the imports below.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._bulk.async_driver import send_bulk_async
    from ._bulk.journal import JournalError
    from ._bulk.session import (
        BulkEstimate,
        BulkInterrupted,
        BulkProgress,
        BulkSummary,
        estimate_bulk,
        send_bulk,
    )
    from ._bulk.settle import SettleSummary, settle_bulk
    from ._client.async_client import AsyncSoapSmsc
    from ._client.sync_client import SoapSmsc
    from ._codes import DeliveryError, MessageStatus
    from ._exceptions import (
        AuthenticationError,
        CircuitOpenError,
        ClientClosedError,
        Delivery,
        DuplicateSendError,
        InsufficientFundsError,
        InvalidParametersError,
        InvalidPhoneError,
        InvalidTimeError,
        IpBlockedError,
        MessageForbiddenError,
        MessageNotFoundError,
        RateLimitedError,
        SendConfirmedError,
        SendOutcomeUnknownError,
        SmscApiError,
        SmscCallbackError,
        SmscConfigurationError,
        SmscConnectError,
        SmscConnectTimeoutError,
        SmscDeadlineExceededError,
        SmscError,
        SmscFaultError,
        SmscHttpError,
        SmscProtocolError,
        SmscReadTimeoutError,
        SmscRedirectError,
        SmscResponseTooLargeError,
        SmscTimeoutError,
        SmscTlsError,
        SmscTransportError,
        SmscValidationError,
        TooManyRequestsError,
        UndeliverableError,
    )
    from ._hosts import HOSTS, Host
    from ._models import BalanceResult, CostResult, PhoneError, SendResult, StatusResult
    from ._params.listmsg import ListMessage, encode_list
    from ._params.options import SendOptions
    from ._params.query import php_parse_str
    from ._params.segments import Segments, estimate_cost, segments
    from ._params.timefmt import format_time, format_tz, hours
    from ._reliability.limits import LimitsStore
    from ._reliability.policy import RetryPolicy
    from ._reliability.redis_limits import RedisLimitsStore
    from ._secrets import Secret
    from ._soap.wsdl import wsdl_path

__all__ = [
    "HOSTS",
    "AsyncSoapSmsc",
    "AuthenticationError",
    "BalanceResult",
    "BulkEstimate",
    "BulkInterrupted",
    "BulkProgress",
    "BulkSummary",
    "CircuitOpenError",
    "ClientClosedError",
    "CostResult",
    "Delivery",
    "DeliveryError",
    "DuplicateSendError",
    "Host",
    "InsufficientFundsError",
    "InvalidParametersError",
    "InvalidPhoneError",
    "InvalidTimeError",
    "IpBlockedError",
    "JournalError",
    "LimitsStore",
    "ListMessage",
    "MessageForbiddenError",
    "MessageNotFoundError",
    "MessageStatus",
    "PhoneError",
    "RateLimitedError",
    "RedisLimitsStore",
    "RetryPolicy",
    "Secret",
    "Segments",
    "SendConfirmedError",
    "SendOptions",
    "SendOutcomeUnknownError",
    "SendResult",
    "SettleSummary",
    "SmscApiError",
    "SmscCallbackError",
    "SmscConfigurationError",
    "SmscConnectError",
    "SmscConnectTimeoutError",
    "SmscDeadlineExceededError",
    "SmscError",
    "SmscFaultError",
    "SmscHttpError",
    "SmscProtocolError",
    "SmscReadTimeoutError",
    "SmscRedirectError",
    "SmscResponseTooLargeError",
    "SmscTimeoutError",
    "SmscTlsError",
    "SmscTransportError",
    "SmscValidationError",
    "SoapSmsc",
    "StatusResult",
    "TooManyRequestsError",
    "UndeliverableError",
    "__version__",
    "encode_list",
    "estimate_bulk",
    "estimate_cost",
    "format_time",
    "format_tz",
    "hours",
    "php_parse_str",
    "segments",
    "send_bulk",
    "send_bulk_async",
    "settle_bulk",
    "wsdl_path",
]

_LOCATIONS = {
    "AsyncSoapSmsc": "._client.async_client",
    "AuthenticationError": "._exceptions",
    "BalanceResult": "._models",
    "BulkEstimate": "._bulk.session",
    "BulkInterrupted": "._bulk.session",
    "BulkProgress": "._bulk.session",
    "BulkSummary": "._bulk.session",
    "CircuitOpenError": "._exceptions",
    "ClientClosedError": "._exceptions",
    "CostResult": "._models",
    "Delivery": "._exceptions",
    "DeliveryError": "._codes",
    "DuplicateSendError": "._exceptions",
    "HOSTS": "._hosts",
    "Host": "._hosts",
    "InsufficientFundsError": "._exceptions",
    "InvalidParametersError": "._exceptions",
    "InvalidPhoneError": "._exceptions",
    "InvalidTimeError": "._exceptions",
    "IpBlockedError": "._exceptions",
    "JournalError": "._bulk.journal",
    "LimitsStore": "._reliability.limits",
    "ListMessage": "._params.listmsg",
    "MessageForbiddenError": "._exceptions",
    "MessageNotFoundError": "._exceptions",
    "MessageStatus": "._codes",
    "PhoneError": "._models",
    "RateLimitedError": "._exceptions",
    "RedisLimitsStore": "._reliability.redis_limits",
    "RetryPolicy": "._reliability.policy",
    "Secret": "._secrets",
    "Segments": "._params.segments",
    "SendConfirmedError": "._exceptions",
    "SendOptions": "._params.options",
    "SendOutcomeUnknownError": "._exceptions",
    "SendResult": "._models",
    "SettleSummary": "._bulk.settle",
    "SmscApiError": "._exceptions",
    "SmscCallbackError": "._exceptions",
    "SmscConfigurationError": "._exceptions",
    "SmscConnectError": "._exceptions",
    "SmscConnectTimeoutError": "._exceptions",
    "SmscDeadlineExceededError": "._exceptions",
    "SmscError": "._exceptions",
    "SmscFaultError": "._exceptions",
    "SmscHttpError": "._exceptions",
    "SmscProtocolError": "._exceptions",
    "SmscReadTimeoutError": "._exceptions",
    "SmscRedirectError": "._exceptions",
    "SmscResponseTooLargeError": "._exceptions",
    "SmscTimeoutError": "._exceptions",
    "SmscTlsError": "._exceptions",
    "SmscTransportError": "._exceptions",
    "SmscValidationError": "._exceptions",
    "SoapSmsc": "._client.sync_client",
    "StatusResult": "._models",
    "TooManyRequestsError": "._exceptions",
    "UndeliverableError": "._exceptions",
    "encode_list": "._params.listmsg",
    "estimate_bulk": "._bulk.session",
    "estimate_cost": "._params.segments",
    "format_time": "._params.timefmt",
    "format_tz": "._params.timefmt",
    "hours": "._params.timefmt",
    "php_parse_str": "._params.query",
    "segments": "._params.segments",
    "send_bulk": "._bulk.session",
    "send_bulk_async": "._bulk.async_driver",
    "settle_bulk": "._bulk.settle",
    "wsdl_path": "._soap.wsdl",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, presenting it as ``smsc_soap.<name>``."""
    module_name = _LOCATIONS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'smsc_soap' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    if getattr(value, "__module__", "").startswith("smsc_soap._"):
        try:
            value.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover - builtins and instances
            pass
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
