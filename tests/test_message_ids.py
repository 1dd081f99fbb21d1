"""The default message id: an HMAC of the send's content and the minute, under the client's own key.

Identical sends of one client within a minute are identical requests, so the service's duplicate rule
(one identical send request per minute, S:165-167) refuses the repeat; anything else gets another id.
The minute comes from the client's injectable clock, never the wall clock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lxml import etree

import smsc_soap as s
from smsc_soap import AsyncSoapSmsc, SoapSmsc
from smsc_soap._params.validation import check_id, derive_message_id, new_message_id
from smsc_soap.emulator import TEST_APIKEY, TEST_LOGIN, TEST_PASSWORD, EmulatorServer, FaultPlan

PHONE = "79991234567"
ID_TEXT = re.compile(r"[A-Za-z0-9._-]{1,40}\Z")
KEY = b"k" * 32
FIELDS = {"phones": PHONE, "mes": "Your code 4821", "sender": "Shop", "time": "0"}


class Clock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self, now: float = 6000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _ids(server: EmulatorServer) -> list[str]:
    ids = []
    for record in server.requests:
        if record.operation in ("send_sms", "send_sms2"):
            ids.append(etree.fromstring(record.body).findtext(".//id") or "")
    return ids


def _bodies(server: EmulatorServer) -> list[bytes]:
    return [r.body for r in server.requests if r.operation in ("send_sms", "send_sms2")]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client_of(smsc_emulator: EmulatorServer, clock: Clock) -> Iterator[Callable[..., SoapSmsc]]:
    made: list[SoapSmsc] = []

    def make(**kwargs: Any) -> SoapSmsc:
        options: dict[str, Any] = {"endpoint": smsc_emulator.url, "mirrors": [], "clock": clock}
        options.update(kwargs)
        if "apikey" not in options:
            options.update(login=TEST_LOGIN, psw=TEST_PASSWORD)
        client = SoapSmsc(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


# ------------------------------------------------------------------ the derivation


def test_derived_id_is_a_valid_id_with_a_letter() -> None:
    """An id always holds a letter and fits 40 of [A-Za-z0-9._-] (an all-digit id would need 1..2^31-1)."""
    for minute in range(2000):
        value = derive_message_id(KEY, "send_sms", {**FIELDS, "mes": f"m{minute}"}, minute)
        assert ID_TEXT.match(value) and any(c.isalpha() for c in value)
        assert check_id(value) == value


def test_random_ids_hold_a_letter_too() -> None:
    """The random ids (bulk batches) never come out all digits either."""
    for _ in range(2000):
        value = new_message_id()
        assert value[0].isalpha() and ID_TEXT.match(value) and check_id(value) == value


def test_same_content_key_and_minute_give_the_same_id() -> None:
    assert derive_message_id(KEY, "send_sms", FIELDS, 7) == derive_message_id(
        KEY, "send_sms", dict(reversed(list(FIELDS.items()))), 7
    )


@pytest.mark.parametrize(
    "change",
    [
        {"phones": "79991234568"},
        {"mes": "Your code 4822"},
        {"sender": "Other"},
        {"time": "+5"},
        {"query": "translit=1"},
    ],
)
def test_any_content_change_gives_another_id(change: dict[str, str]) -> None:
    assert derive_message_id(KEY, "send_sms", FIELDS, 7) != derive_message_id(
        KEY, "send_sms", {**FIELDS, **change}, 7
    )


def test_operation_minute_and_key_change_the_id() -> None:
    base = derive_message_id(KEY, "send_sms", FIELDS, 7)
    assert base != derive_message_id(KEY, "send_sms2", FIELDS, 7)
    assert base != derive_message_id(KEY, "send_sms", FIELDS, 8)
    assert base != derive_message_id(b"j" * 32, "send_sms", FIELDS, 7)


def test_the_id_field_itself_does_not_count() -> None:
    assert derive_message_id(KEY, "send_sms", FIELDS, 7) == derive_message_id(
        KEY, "send_sms", {**FIELDS, "id": "x"}, 7
    )


# ------------------------------------------------------------------ on the wire


def test_identical_sends_within_the_minute_are_refused_as_duplicates(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc], clock: Clock
) -> None:
    """The second identical send of the minute is the identical request: the service refuses it."""
    client = client_of()
    first = client.send_sms(PHONE, "Your code 4821")
    clock.now += 30  # 6000 -> 6030: still minute 100
    with pytest.raises(s.DuplicateSendError) as info:
        client.send_sms(PHONE, "Your code 4821")
    assert info.value.delivery is s.Delivery.REJECTED
    bodies = _bodies(smsc_emulator)
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert _ids(smsc_emulator) == [first.id, first.id]
    assert len(smsc_emulator.messages) == 1


def test_next_minute_sends_the_same_text_again(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc], clock: Clock
) -> None:
    """In another minute the same content gets another id (the service takes it as a new message)."""
    client = client_of()
    first = client.send_sms2(PHONE, "reminder")
    clock.now += 60
    smsc_emulator.advance(61)
    second = client.send_sms2(PHONE, "reminder")
    assert first.id != second.id
    assert len(smsc_emulator.messages) == 2


def test_explicit_id_sends_the_same_text_again_on_purpose(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc]
) -> None:
    """Passing id= makes each request distinct: the same text goes out twice within the minute."""
    client = client_of()
    client.send_sms(PHONE, "again", id="again-1")
    client.send_sms(PHONE, "again", id="again-2")
    assert _ids(smsc_emulator) == ["again-1", "again-2"]
    assert len(smsc_emulator.messages) == 2


def test_distinct_messages_get_distinct_ids(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc]
) -> None:
    client = client_of()
    ids = {client.send_sms(PHONE, f"text {n}").id for n in range(5)}
    ids.add(client.send_sms("79991234568", "text 0").id)
    ids.add(client.send_sms2(PHONE, "text 0", translit=1).id)
    assert len(ids) == 7 and len(smsc_emulator.messages) == 7


def test_each_client_has_its_own_key_never_the_password(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc]
) -> None:
    """Two clients of one login give the same content different ids: the key is drawn per client."""
    one, two = client_of(), client_of()
    assert one.send_sms(PHONE, "same").id != two.send_sms(PHONE, "same").id
    settings = one._plans._settings
    assert settings.id_key != two._plans._settings.id_key
    assert TEST_PASSWORD.encode() not in settings.id_key
    assert "id_key" not in repr(settings)


def test_apikey_sends_derive_their_id_the_same_way(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc]
) -> None:
    """An API-key send (routed to send_sms2) repeats identically within the minute too."""
    client = client_of(apikey=TEST_APIKEY)
    sent = client.send_sms(PHONE, "keyed")
    with pytest.raises(s.DuplicateSendError):
        client.send_sms(PHONE, "keyed")
    assert _ids(smsc_emulator) == [sent.id, sent.id]
    assert TEST_APIKEY not in sent.id


def test_async_client_derives_ids_alike(smsc_emulator: EmulatorServer, clock: Clock) -> None:
    async def run() -> tuple[str, BaseException]:
        async with AsyncSoapSmsc(
            TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url, clock=clock
        ) as client:
            sent = await client.send_sms(PHONE, "async same")
            try:
                await client.send_sms(PHONE, "async same")
            except s.DuplicateSendError as exc:
                return sent.id, exc
            raise AssertionError("the identical send was not refused")

    sent_id, _error = asyncio.run(run())
    assert _ids(smsc_emulator) == [sent_id, sent_id]
    assert len(smsc_emulator.messages) == 1


def test_reconcile_resends_the_derived_id_byte_identical(
    smsc_emulator: EmulatorServer, client_of: Callable[..., SoapSmsc]
) -> None:
    """A lost send is looked up and resent with the id computed for the call, byte for byte."""
    client = client_of(reconcile=True, sleep=lambda _seconds: None)
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send"], after_processing=False))
    result = client.send_sms(PHONE, "pay once")
    bodies = _bodies(smsc_emulator)
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert _ids(smsc_emulator) == [result.id, result.id]
    [status] = [r for r in smsc_emulator.requests if r.operation == "get_status"]
    assert etree.fromstring(status.body).findtext(".//id") == result.id
    assert len(smsc_emulator.messages) == 1
