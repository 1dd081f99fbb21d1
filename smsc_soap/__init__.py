"""smsc_soap: a typed, hardened client for the SMSC SOAP API, with a local emulator."""

from ._client import SoapSmsc
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
    SendOutcomeUnknownError,
    SmscApiError,
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
from ._listmsg import ListMessage, encode_list
from ._models import BalanceResult, CostResult, PhoneError, SendResult, StatusResult
from ._options import SendOptions
from ._query import php_parse_str
from ._secrets import Secret
from ._segments import Segments, estimate_cost, segments
from ._timefmt import format_time, format_tz, hours
from ._version import __version__
from ._wsdl import wsdl_path

__all__ = [
    "HOSTS",
    "AuthenticationError",
    "BalanceResult",
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
    "ListMessage",
    "MessageForbiddenError",
    "MessageNotFoundError",
    "MessageStatus",
    "PhoneError",
    "RateLimitedError",
    "Secret",
    "Segments",
    "SendOptions",
    "SendOutcomeUnknownError",
    "SendResult",
    "SmscApiError",
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
    "estimate_cost",
    "format_time",
    "format_tz",
    "hours",
    "php_parse_str",
    "segments",
    "wsdl_path",
]

# Public names say smsc_soap.X in reprs and tracebacks, not the private module they live in.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("smsc_soap._"):
        try:
            _obj.__module__ = "smsc_soap"
        except (AttributeError, TypeError):  # pragma: no cover
            pass
del _name, _obj
