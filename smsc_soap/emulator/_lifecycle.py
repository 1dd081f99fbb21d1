"""A message's life after the send: its recipients, their statuses over time, expiry and link clicks."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .._codes import DeliveryError, MessageStatus

__all__ = [
    "DEFAULT_VALID",
    "STATUS_NAMES",
    "TEST_OUTCOMES",
    "TEST_PREFIX",
    "Message",
    "Recipient",
    "status_at",
]

TEST_PREFIX = "70000000"
#: How long the operator tries to deliver when the send names no ``valid`` (assumption: the longest
#: lifetime the documents allow, 24 hours).
DEFAULT_VALID = 24 * 3600.0

# Outcome of a test number: (status at once or None when accepted, err, final status, final err).
TEST_OUTCOMES: dict[str, tuple[int | None, int, int, int]] = {
    "003": (None, 0, MessageStatus.EXPIRED, DeliveryError.SUBSCRIBER_NOT_IN_NETWORK),
    "006": (None, 0, MessageStatus.EXPIRED, DeliveryError.SUBSCRIBER_NOT_IN_NETWORK),
    "020": (None, 0, MessageStatus.UNDELIVERABLE, DeliveryError.SUBSCRIBER_NOT_EXISTS),
    "022": (MessageStatus.WRONG_NUMBER, DeliveryError.INVALID_NUMBER_FORMAT, 0, 0),
    "023": (MessageStatus.FORBIDDEN, DeliveryError.SPAM_FILTER, 0, 0),
    "024": (MessageStatus.INSUFFICIENT_FUNDS, DeliveryError.NO_ERROR, 0, 0),
    "025": (MessageStatus.UNAVAILABLE_NUMBER, DeliveryError.NO_ROUTE, 0, 0),
}
#: The test suffix whose subscriber stays out of the network until the message's lifetime runs out.
LINGERING = "006"

# The Russian status names smsc.ru returns in ``status_name``.
STATUS_NAMES = {
    -3: "Сообщение не найдено",
    -2: "Остановлено",
    -1: "Ожидает отправки",
    0: "Передано оператору",
    1: "Доставлено",
    2: "Прочитано",
    3: "Просрочено",
    4: "Нажата ссылка",
    20: "Невозможно доставить",
    22: "Неверный номер",
    23: "Запрещено",
    24: "Недостаточно средств",
    25: "Недоступный номер",
}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One number of a message, its price, and where its delivery ends."""

    phone: str
    cost: Decimal
    rejected_status: int | None = None
    rejected_err: int = 0
    final_status: int = int(MessageStatus.DELIVERED)
    final_err: int = 0
    lingers: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """A message the emulator accepted: its id, recipients, text, parts, cost, sender and send time.

    ``kind`` is the message kind (``mail``, ``tg``, ``mms``, ``hlr``... or None for an SMS), ``valid``
    its lifetime in seconds (None: the default), ``tinyurl`` whether its links are tracked.
    """

    id: str
    login: str
    recipients: tuple[Recipient, ...]
    text: str
    parts: int
    cost: Decimal
    sender: str
    created_at: float
    send_at: float
    kind: str | None = None
    valid: float | None = None
    tinyurl: bool = False
    subject: str | None = None

    @property
    def phones(self) -> tuple[str, ...]:
        """The numbers the message was addressed to."""
        return tuple(recipient.phone for recipient in self.recipients)

    def recipient(self, phone: str) -> Recipient | None:
        """Return the recipient with this number, if any."""
        for recipient in self.recipients:
            if recipient.phone == phone:
                return recipient
        return None

    @property
    def expires_at(self) -> float:
        """The moment the operator stops trying to deliver."""
        return self.send_at + (self.valid if self.valid is not None else DEFAULT_VALID)


def status_at(
    message: Message,
    recipient: Recipient,
    now: float,
    *,
    queue_delay: float,
    delivery_delay: float,
    clicked_at: float | None = None,
) -> tuple[int, int, float]:
    """Return (status, err, time of the last change) of ``message`` to ``recipient`` at ``now``.

    Waiting (-1) until the send time plus ``queue_delay``, then transferred (0); ``delivery_delay``
    later the final status. A subscriber out of the network, or a delivery that would come after the
    message's lifetime (``valid``), ends as expired (3, err 6) when the lifetime runs out. A delivered
    message whose tracked link was followed is status 4 from the click on.
    """
    if recipient.rejected_status is not None:
        return recipient.rejected_status, recipient.rejected_err, message.created_at
    transfer_at = message.send_at + queue_delay
    if now < transfer_at:
        return int(MessageStatus.WAITING), 0, message.created_at
    final_at = transfer_at + delivery_delay
    expires_at = message.expires_at
    if recipient.lingers or final_at > expires_at:
        if now < expires_at:
            return int(MessageStatus.TRANSFERRED), 0, transfer_at
        return (
            int(MessageStatus.EXPIRED),
            int(DeliveryError.SUBSCRIBER_NOT_IN_NETWORK),
            max(expires_at, transfer_at),
        )
    if now < final_at:
        return int(MessageStatus.TRANSFERRED), 0, transfer_at
    if clicked_at is not None and now >= clicked_at:
        return int(MessageStatus.LINK_CLICKED), 0, clicked_at
    return recipient.final_status, recipient.final_err, final_at
