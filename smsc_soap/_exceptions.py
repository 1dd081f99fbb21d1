"""The exception tree. Every error says what happened to the message and whether retrying is safe.

::

    SmscError                         .delivery, .retry_safe, .operation
    ├── SmscValidationError (+ValueError)    bad input, caught before anything is sent
    │   └── SmscConfigurationError           bad client settings (endpoint, timeouts, credentials)
    ├── SmscApiError                  the service answered with an error code: .code, .message_id
    │   ├── InvalidParametersError       1
    │   ├── AuthenticationError          2  (also: request from an IP outside the allow-list)
    │   ├── InsufficientFundsError       3  on send and cost
    │   ├── MessageNotFoundError         3  on status
    │   ├── IpBlockedError               4
    │   ├── InvalidTimeError             5
    │   ├── MessageForbiddenError        6
    │   ├── InvalidPhoneError            7
    │   ├── UndeliverableError           8
    │   └── TooManyRequestsError         9
    │       └── DuplicateSendError       9 on send: an identical request came within 60 s
    ├── SmscProtocolError             a reply that is not the expected envelope or violates the contract
    │   └── SmscFaultError               a SOAP Fault: .faultcode, .faultstring
    ├── SmscTransportError            network and HTTP failures: .http_status
    │   ├── SmscConnectError             nothing reached the service (refused, DNS, TLS)
    │   │   └── SmscTlsError
    │   ├── SmscTimeoutError
    │   │   ├── SmscConnectTimeoutError  nothing reached the service
    │   │   ├── SmscReadTimeoutError     the request may have been processed
    │   │   └── SmscDeadlineExceededError
    │   ├── SmscHttpError                a non-200 status (5xx, 429 with .retry_after)
    │   ├── SmscRedirectError            a 3xx: never followed, the password stays here
    │   └── SmscResponseTooLargeError
    ├── SendOutcomeUnknownError       a send whose fate is unknown: .message_id, .reason (the error behind it)
    │   └── SendConfirmedError           reconciled: the reply was lost but get_status shows the message
    ├── CircuitOpenError              refused locally while the IP-block breaker is open
    ├── RateLimitedError              refused locally: the service's own limit would be exceeded
    ├── ClientClosedError
    └── SmscCallbackError (+ValueError)      a pushed report with a bad signature, or malformed: .reason
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "ClientClosedError",
    "Delivery",
    "DuplicateSendError",
    "InsufficientFundsError",
    "InvalidParametersError",
    "InvalidPhoneError",
    "InvalidTimeError",
    "IpBlockedError",
    "MessageForbiddenError",
    "MessageNotFoundError",
    "RateLimitedError",
    "SendConfirmedError",
    "SendOutcomeUnknownError",
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
    "TooManyRequestsError",
    "UndeliverableError",
    "api_error",
]


class Delivery(enum.Enum):
    """What a failure means for the message."""

    NOT_SENT = "not_sent"
    """Nothing reached the service (bad input, refused connection, TLS failure, breaker open)."""
    UNKNOWN = "unknown"
    """The request may have reached the service; the message may or may not exist."""
    REJECTED = "rejected"
    """The service answered and refused the request with an error code."""
    ACCEPTED = "accepted"
    """The service accepted the request (used when only the reply's details were unusable)."""


class SmscError(Exception):
    """Base of every error raised by smsc_soap."""

    delivery: Delivery = Delivery.UNKNOWN
    retry_safe: bool = False

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        delivery: Delivery | None = None,
        retry_safe: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        if delivery is not None:
            self.delivery = delivery
        if retry_safe is not None:
            self.retry_safe = retry_safe

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions cross process boundaries (bulk workers); keep their state, not their constructor.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[SmscError], state: dict[str, object]) -> SmscError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class SmscValidationError(SmscError, ValueError):
    """Input that the service would refuse; raised before any network I/O."""

    delivery = Delivery.NOT_SENT
    retry_safe = False

    def __init__(self, message: str, *, field: str | None = None, operation: str | None = None):
        super().__init__(message, operation=operation)
        self.field = field


class SmscConfigurationError(SmscValidationError):
    """A client setting that cannot work (endpoint, timeouts, credentials, options)."""


# ---------------------------------------------------------------- service error codes


class SmscApiError(SmscError):
    """The service answered with a request error code (``error`` in the result)."""

    delivery = Delivery.REJECTED
    code: int = 0
    meaning: ClassVar[str] = "request error"

    def __init__(
        self,
        code: int,
        *,
        operation: str | None = None,
        message_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.code = code
        self.message_id = message_id
        text = f"SMSC error {code} ({self.meaning})"
        if operation:
            text += f" in {operation}"
        if message_id:
            text += f", message id {message_id}"
        if detail:
            text += f": {detail}"
        super().__init__(text, operation=operation)


class InvalidParametersError(SmscApiError):
    """Error 1: the service found a parameter error."""

    meaning = "parameter error"


class AuthenticationError(SmscApiError):
    """Error 2: wrong login/password/API key, or a request from an IP outside the allow-list."""

    meaning = "wrong login or password, or request from an IP outside the account's allow-list"


class InsufficientFundsError(SmscApiError):
    """Error 3 on send or cost: not enough money on the account."""

    meaning = "insufficient funds"


class MessageNotFoundError(SmscApiError):
    """Error 3 on status: no message with this id for this phone."""

    meaning = "message not found"


class IpBlockedError(SmscApiError):
    """Error 4: the IP is temporarily blocked after frequent erroneous requests."""

    meaning = "IP address temporarily blocked"


class InvalidTimeError(SmscApiError):
    """Error 5 on send: the ``time`` parameter has a wrong format."""

    meaning = "wrong date format"


class MessageForbiddenError(SmscApiError):
    """Error 6: the message is forbidden by its text or sender name."""

    meaning = "message forbidden (text or sender name)"


class InvalidPhoneError(SmscApiError):
    """Error 7: a phone number has a wrong format."""

    meaning = "wrong phone number format"


class UndeliverableError(SmscApiError):
    """Error 8: the message cannot be delivered to the number."""

    meaning = "message cannot be delivered to the number"


class TooManyRequestsError(SmscApiError):
    """Error 9: a request-rate limit of the service (duplicates, polling, concurrency)."""

    meaning = "too many requests"


class DuplicateSendError(TooManyRequestsError):
    """Error 9 on send: an identical send arrived within a minute, so the service suppressed this one.

    ``probably_sent`` is true when an earlier attempt of the same call may have reached the service
    (the ``reconcile=True`` resend): that attempt most likely created the message, so ``delivery`` is
    then ACCEPTED and ``reconciled`` is true. On a first attempt it means another worker sent the
    identical request within the minute; it is also raised locally, with delivery NOT_SENT, when an
    identical send is already in flight in this client.
    """

    meaning = "identical send request within a minute, or too many concurrent requests"
    probably_sent: bool = False
    reconciled: bool = False


_BY_CODE: dict[int, type[SmscApiError]] = {
    1: InvalidParametersError,
    2: AuthenticationError,
    3: InsufficientFundsError,
    4: IpBlockedError,
    5: InvalidTimeError,
    6: MessageForbiddenError,
    7: InvalidPhoneError,
    8: UndeliverableError,
    9: TooManyRequestsError,
}
_BY_OPERATION: dict[str, dict[int, type[SmscApiError]]] = {
    "send": {9: DuplicateSendError},
    "status": {3: MessageNotFoundError},
}
_OPERATION_FAMILY = {
    "send_sms": "send",
    "send_sms2": "send",
    "get_sms_cost": "cost",
    "get_sms_cost2": "cost",
    "get_status": "status",
    "get_status2": "status",
    "get_balance": "balance",
}


def api_error(
    code: int, operation: str, *, message_id: str | None = None, detail: str | None = None
) -> SmscApiError:
    """Build the exception for service error ``code`` in ``operation`` (the base for unknown codes)."""
    family = _OPERATION_FAMILY.get(operation, operation)
    cls = _BY_OPERATION.get(family, {}).get(code) or _BY_CODE.get(code, SmscApiError)
    return cls(code, operation=operation, message_id=message_id, detail=detail)


# ---------------------------------------------------------------- protocol and transport


class SmscProtocolError(SmscError):
    """The reply was not the expected SOAP envelope, or broke the contract (for a send: unknown)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        delivery: Delivery | None = None,
        retry_safe: bool | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, operation=operation, delivery=delivery, retry_safe=retry_safe)
        self.http_status = http_status


class SmscFaultError(SmscProtocolError):
    """The server answered with a SOAP Fault."""

    def __init__(
        self,
        faultcode: str,
        faultstring: str,
        *,
        operation: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.faultcode = faultcode
        self.faultstring = faultstring
        client_fault = faultcode.rsplit(":", 1)[-1].startswith("Client")
        super().__init__(
            f"SOAP Fault {faultcode}: {faultstring}",
            operation=operation,
            delivery=Delivery.REJECTED if client_fault else Delivery.UNKNOWN,
            retry_safe=False,
            http_status=http_status,
        )


class SmscTransportError(SmscError):
    """A network or HTTP failure."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        delivery: Delivery | None = None,
        retry_safe: bool | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, operation=operation, delivery=delivery, retry_safe=retry_safe)
        self.http_status = http_status


class SmscConnectError(SmscTransportError):
    """The connection could not be made (refused, DNS failure): nothing reached the service."""

    delivery = Delivery.NOT_SENT
    retry_safe = True


class SmscTlsError(SmscConnectError):
    """TLS verification failed; nothing was sent and retrying will not help."""

    retry_safe = False


class SmscTimeoutError(SmscTransportError):
    """A timeout."""


class SmscConnectTimeoutError(SmscTimeoutError):
    """Connecting took longer than the connect timeout: nothing reached the service."""

    delivery = Delivery.NOT_SENT
    retry_safe = True


class SmscReadTimeoutError(SmscTimeoutError):
    """The reply did not come within the read timeout; the request may have been processed."""


class SmscDeadlineExceededError(SmscTimeoutError):
    """The whole call took longer than the total deadline."""


class SmscHttpError(SmscTransportError):
    """The server answered with an HTTP status other than 200 and no SOAP envelope."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        operation: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, http_status=http_status)
        self.retry_after = retry_after


class SmscRedirectError(SmscTransportError):
    """The server answered with a redirect; it is never followed, so no credential goes elsewhere."""


class SmscResponseTooLargeError(SmscTransportError):
    """The reply exceeded the size cap and was not read further."""


# ---------------------------------------------------------------- outcomes and local refusals


class SendOutcomeUnknownError(SmscError):
    """A send whose outcome is unknown: the request may have created the message.

    ``message_id`` is the id the request carried; ask ``get_status(message_id, phone)`` before sending
    again, or use ``reconcile=True``. ``reason`` is the error that made the outcome unknown.
    ``reconciled`` is true when the client already asked ``get_status`` (``reconcile=True``) and
    ``status`` holds what it learnt (a StatusResult, an error, or None).
    """

    delivery = Delivery.UNKNOWN
    retry_safe = False

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        message_id: str,
        phones: str,
        reason: SmscError,
        reconciled: bool = False,
        status: object | None = None,
    ) -> None:
        super().__init__(message, operation=operation)
        self.message_id = message_id
        self.phones = phones
        self.reason = reason
        self.reconciled = reconciled
        self.status = status


class SendConfirmedError(SendOutcomeUnknownError):
    """The send's reply was lost, but ``get_status`` shows the service has the message: it was sent.

    Raised only with ``reconcile=True``. ``status`` is the StatusResult; the SendResult (parts, cost,
    balance) is lost. A subclass of SendOutcomeUnknownError, so that code which refuses to resend on
    an unknown outcome also refuses here; never send this message again.
    """

    delivery = Delivery.ACCEPTED


class CircuitOpenError(SmscError):
    """Refused locally: the service blocked this IP (error 4) and the cool-down has not ended."""

    delivery = Delivery.NOT_SENT
    retry_safe = False

    def __init__(self, message: str, *, operation: str | None = None, retry_after: float) -> None:
        super().__init__(message, operation=operation)
        self.retry_after = retry_after


class RateLimitedError(SmscError):
    """Refused locally: the call would exceed one of the service's documented rate limits."""

    delivery = Delivery.NOT_SENT
    retry_safe = True

    def __init__(self, message: str, *, operation: str | None = None, retry_after: float) -> None:
        super().__init__(message, operation=operation)
        self.retry_after = retry_after


class ClientClosedError(SmscError):
    """The client was closed."""

    delivery = Delivery.NOT_SENT
    retry_safe = False


class SmscCallbackError(SmscError, ValueError):
    """A pushed callback (status report or inbound message) was refused: bad signature or malformed.

    ``reason`` is ``"signature"`` (missing or wrong ``sha1`` while a secret is set) or ``"malformed"``
    (a field missing, repeated or out of range: ``field`` names it). Never carries the secret.
    """

    delivery = Delivery.NOT_SENT
    retry_safe = False

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, operation="callback")
        self.reason = reason
        self.field = field


# Tracebacks name the public path (smsc_soap.AuthenticationError), not this private module; pickling
# still finds every class there, through the package's lazy attributes.
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, Exception) and _cls.__module__ == __name__:
        _cls.__module__ = "smsc_soap"
del _cls
