"""smsc_soap: a typed, hardened client for the SMSC SOAP API, with a local emulator.

Public names are imported on first use (PEP 562), so that ``import smsc_soap`` and ``smsc-soap --help``
stay fast. ``_PUBLIC`` is the one table of public names and their modules; ``__all__`` is derived from it,
and the imports below only tell type checkers the same (a test keeps the two in step).
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._bulk.async_driver import (
        send_bulk_async as send_bulk_async,
    )
    from ._bulk.journal import (
        JournalError as JournalError,
    )
    from ._bulk.session import (
        BulkEstimate as BulkEstimate,
    )
    from ._bulk.session import (
        BulkInterrupted as BulkInterrupted,
    )
    from ._bulk.session import (
        BulkProgress as BulkProgress,
    )
    from ._bulk.session import (
        BulkSummary as BulkSummary,
    )
    from ._bulk.session import (
        estimate_bulk as estimate_bulk,
    )
    from ._bulk.session import (
        send_bulk as send_bulk,
    )
    from ._bulk.settle import (
        SettleSummary as SettleSummary,
    )
    from ._bulk.settle import (
        settle_bulk as settle_bulk,
    )
    from ._client.async_client import (
        AsyncSoapSmsc as AsyncSoapSmsc,
    )
    from ._client.sync_client import (
        SoapSmsc as SoapSmsc,
    )
    from ._codes import (
        DeliveryError as DeliveryError,
    )
    from ._codes import (
        MessageStatus as MessageStatus,
    )
    from ._exceptions import (
        AuthenticationError as AuthenticationError,
    )
    from ._exceptions import (
        CircuitOpenError as CircuitOpenError,
    )
    from ._exceptions import (
        ClientClosedError as ClientClosedError,
    )
    from ._exceptions import (
        Delivery as Delivery,
    )
    from ._exceptions import (
        DuplicateSendError as DuplicateSendError,
    )
    from ._exceptions import (
        InsufficientFundsError as InsufficientFundsError,
    )
    from ._exceptions import (
        InvalidParametersError as InvalidParametersError,
    )
    from ._exceptions import (
        InvalidPhoneError as InvalidPhoneError,
    )
    from ._exceptions import (
        InvalidTimeError as InvalidTimeError,
    )
    from ._exceptions import (
        IpBlockedError as IpBlockedError,
    )
    from ._exceptions import (
        MessageForbiddenError as MessageForbiddenError,
    )
    from ._exceptions import (
        MessageNotFoundError as MessageNotFoundError,
    )
    from ._exceptions import (
        RateLimitedError as RateLimitedError,
    )
    from ._exceptions import (
        SendConfirmedError as SendConfirmedError,
    )
    from ._exceptions import (
        SendOutcomeUnknownError as SendOutcomeUnknownError,
    )
    from ._exceptions import (
        SmscApiError as SmscApiError,
    )
    from ._exceptions import (
        SmscCallbackError as SmscCallbackError,
    )
    from ._exceptions import (
        SmscConfigurationError as SmscConfigurationError,
    )
    from ._exceptions import (
        SmscConnectError as SmscConnectError,
    )
    from ._exceptions import (
        SmscConnectTimeoutError as SmscConnectTimeoutError,
    )
    from ._exceptions import (
        SmscDeadlineExceededError as SmscDeadlineExceededError,
    )
    from ._exceptions import (
        SmscError as SmscError,
    )
    from ._exceptions import (
        SmscFaultError as SmscFaultError,
    )
    from ._exceptions import (
        SmscHttpError as SmscHttpError,
    )
    from ._exceptions import (
        SmscProtocolError as SmscProtocolError,
    )
    from ._exceptions import (
        SmscReadTimeoutError as SmscReadTimeoutError,
    )
    from ._exceptions import (
        SmscRedirectError as SmscRedirectError,
    )
    from ._exceptions import (
        SmscResponseTooLargeError as SmscResponseTooLargeError,
    )
    from ._exceptions import (
        SmscTimeoutError as SmscTimeoutError,
    )
    from ._exceptions import (
        SmscTlsError as SmscTlsError,
    )
    from ._exceptions import (
        SmscTransportError as SmscTransportError,
    )
    from ._exceptions import (
        SmscValidationError as SmscValidationError,
    )
    from ._exceptions import (
        TooManyRequestsError as TooManyRequestsError,
    )
    from ._exceptions import (
        UndeliverableError as UndeliverableError,
    )
    from ._hosts import (
        HOSTS as HOSTS,
    )
    from ._hosts import (
        Host as Host,
    )
    from ._models import (
        BalanceResult as BalanceResult,
    )
    from ._models import (
        CostResult as CostResult,
    )
    from ._models import (
        PhoneError as PhoneError,
    )
    from ._models import (
        SendResult as SendResult,
    )
    from ._models import (
        StatusResult as StatusResult,
    )
    from ._params.listmsg import (
        ListMessage as ListMessage,
    )
    from ._params.options import (
        SendOptions as SendOptions,
    )
    from ._params.segments import (
        Segments as Segments,
    )
    from ._params.segments import (
        estimate_cost as estimate_cost,
    )
    from ._params.segments import (
        segments as segments,
    )
    from ._params.timefmt import (
        format_time as format_time,
    )
    from ._params.timefmt import (
        hours as hours,
    )
    from ._reliability.limits import (
        LimitsStore as LimitsStore,
    )
    from ._reliability.policy import (
        RetryPolicy as RetryPolicy,
    )
    from ._reliability.redis_limits import (
        RedisLimitsStore as RedisLimitsStore,
    )
    from ._secrets import (
        Secret as Secret,
    )

#: Public name -> the module that defines it.
_PUBLIC = {
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
    "estimate_bulk": "._bulk.session",
    "estimate_cost": "._params.segments",
    "format_time": "._params.timefmt",
    "hours": "._params.timefmt",
    "segments": "._params.segments",
    "send_bulk": "._bulk.session",
    "send_bulk_async": "._bulk.async_driver",
    "settle_bulk": "._bulk.settle",
}

#: Names that moved to :mod:`smsc_soap.lowlevel`; importable from here for one more release, with a warning.
_DEPRECATED = frozenset(["encode_list", "format_tz", "php_parse_str", "wsdl_path"])

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, presenting it as ``smsc_soap.<name>``."""
    if name in _DEPRECATED:
        import warnings

        warnings.warn(
            f"smsc_soap.{name} is deprecated; import it from smsc_soap.lowlevel",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import lowlevel

        return getattr(lowlevel, name)
    module_name = _PUBLIC.get(name)
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
