"""SMSC's message status codes and delivery error codes, with their documented meanings."""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = ["DeliveryError", "MessageStatus"]


class _DescribedIntEnum(enum.IntEnum):
    """An IntEnum that keeps unknown codes (as ``UNKNOWN_<n>`` members) instead of failing."""

    _descriptions: ClassVar[dict[int, str]]

    @classmethod
    def _missing_(cls, value: object) -> _DescribedIntEnum | None:
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}" if value >= 0 else f"UNKNOWN_MINUS_{-value}"
            member._value_ = value  # type: ignore[assignment]
            return member
        return None

    @property
    def description(self) -> str:
        """The service's meaning of this code, in English."""
        return type(self)._descriptions.get(int(self), f"unknown code {int(self)}")

    @property
    def known(self) -> bool:
        """Whether SMSC documents this code."""
        return int(self) in type(self)._descriptions


class MessageStatus(_DescribedIntEnum):
    """The ``status`` of a message (get_status)."""

    NOT_FOUND = -3
    STOPPED = -2
    WAITING = -1
    TRANSFERRED = 0
    DELIVERED = 1
    READ = 2
    EXPIRED = 3
    LINK_CLICKED = 4
    UNDELIVERABLE = 20
    WRONG_NUMBER = 22
    FORBIDDEN = 23
    INSUFFICIENT_FUNDS = 24
    UNAVAILABLE_NUMBER = 25

    @property
    def is_final(self) -> bool:
        """Whether the message has left the delivery pipeline (delivered counts, though 2/4 may follow)."""
        return int(self) not in {-2, -1, 0}

    @property
    def is_success(self) -> bool:
        """Delivered, read or link clicked."""
        return int(self) in {1, 2, 4}


MessageStatus._descriptions = {
    -3: "message not found",
    -2: "stopped (the mailing was paused)",
    -1: "waiting to be sent",
    0: "transferred to the operator",
    1: "delivered",
    2: "read",
    3: "expired",
    4: "link clicked",
    20: "cannot be delivered",
    22: "wrong number",
    23: "forbidden",
    24: "insufficient funds",
    25: "unavailable number",
}


class DeliveryError(_DescribedIntEnum):
    """The delivery error ``err`` of a status reply."""

    NO_ERROR = 0
    SUBSCRIBER_NOT_EXISTS = 1
    MAILBOX_FULL = 2
    MAIL_SERVER_NOT_FOUND = 3
    MAILBOX_BLOCKED = 4
    SUBSCRIBER_NOT_IN_NETWORK = 6
    SERVICE_NOT_CONNECTED = 11
    HANDSET_ERROR = 12
    SUBSCRIBER_BLOCKED = 13
    SERVICE_NOT_SUPPORTED = 21
    VIRTUAL_SENDING = 200
    SIM_REPLACED = 219
    OPERATOR_QUEUE_FULL = 220
    NO_ANSWER = 237
    NO_TEMPLATE = 238
    FORBIDDEN_IP = 239
    SUBSCRIBER_BUSY = 240
    CONVERSION_ERROR = 241
    ANSWERING_MACHINE = 242
    NO_CONTRACT = 243
    MAILING_FORBIDDEN = 244
    STATUS_NOT_RECEIVED = 245
    TIME_RESTRICTION = 246
    MESSAGE_LIMIT_EXCEEDED = 247
    NO_ROUTE = 248
    INVALID_NUMBER_FORMAT = 249
    NUMBER_FORBIDDEN_BY_SETTINGS = 250
    PER_NUMBER_LIMIT_EXCEEDED = 251
    NUMBER_FORBIDDEN = 252
    SPAM_FILTER = 253
    UNREGISTERED_SENDER_ID = 254
    REJECTED_BY_OPERATOR = 255


DeliveryError._descriptions = {
    0: "no error",
    1: "subscriber does not exist",
    2: "mailbox full (e-mail)",
    3: "recipient's mail server not found (e-mail)",
    4: "mailbox blocked (e-mail)",
    6: "subscriber not in network",
    11: "service not connected",
    12: "error in the subscriber's handset or SIM card",
    13: "subscriber blocked",
    21: "service not supported by the device",
    200: "virtual sending (test mode)",
    219: "SIM card replaced",
    220: "operator's queue overflowed",
    237: "subscriber did not answer",
    238: "no template",
    239: "forbidden IP address",
    240: "subscriber busy",
    241: "conversion error",
    242: "answering machine detected",
    243: "no contract",
    244: "mailing forbidden",
    245: "status not received",
    246: "time restriction",
    247: "message limit exceeded",
    248: "no route",
    249: "invalid number format",
    250: "number forbidden by the account's settings",
    251: "per-number limit exceeded",
    252: "number forbidden",
    253: "forbidden by the spam filter",
    254: "unregistered sender ID",
    255: "rejected by the operator",
}
