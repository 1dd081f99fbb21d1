"""The client against the emulator over real HTTP: every request error code in its real situation."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from smsc_soap import (
    AuthenticationError,
    Delivery,
    DuplicateSendError,
    InsufficientFundsError,
    InvalidPhoneError,
    IpBlockedError,
    MessageForbiddenError,
    MessageNotFoundError,
    SmscValidationError,
    SoapSmsc,
    TooManyRequestsError,
    UndeliverableError,
)
from smsc_soap.emulator import EmulatorServer, FaultPlan

PHONE = "79991234567"


def _client(server: EmulatorServer, psw: str = "test-password", **kwargs: object) -> SoapSmsc:
    return SoapSmsc("test", psw, endpoint=server.url, **kwargs)  # type: ignore[arg-type]


def _zeep_send2(server: EmulatorServer, query: str) -> dict[str, object]:
    """send_sms2 through plain zeep: a client that does not check ``query`` as SoapSmsc does."""
    import zeep

    client = zeep.Client(server.wsdl_url)
    try:
        reply = client.service.send_sms2(
            login="test", psw="test-password", phones=PHONE, mes="hi", query=query
        )
    finally:
        client.transport.session.close()
    return {"error": reply["error"], "id": reply["id"]}


def test_error_1_bad_parameter(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """A parameter the service cannot use (maxsms=0) is error 1; SoapSmsc refuses it before sending.

    The raw ``query`` mapping goes through the same option checks as the typed keywords.
    """
    with pytest.raises(SmscValidationError) as local:
        smsc_client.send_sms2(PHONE, "hi", query={"maxsms": 0})
    assert local.value.field == "maxsms" and local.value.delivery is Delivery.NOT_SENT
    assert smsc_emulator.requests == []
    assert _zeep_send2(smsc_emulator, "maxsms=0")["error"] == "1"
    assert smsc_emulator.messages == []


def test_error_2_bad_password(smsc_emulator: EmulatorServer) -> None:
    """A wrong password is error 2."""
    with _client(smsc_emulator, "wrong") as client, pytest.raises(AuthenticationError) as info:
        client.get_balance()
    assert info.value.code == 2


def test_error_3_no_funds_carries_the_id(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A send the balance cannot cover is error 3 with the message id; nothing is charged."""
    smsc_emulator.emulator.account("test").balance = Decimal("1.00")
    with pytest.raises(InsufficientFundsError) as info:
        smsc_client.send_sms(PHONE, "hi", id="no-money-1")
    assert (info.value.code, info.value.message_id) == (3, "no-money-1")
    assert smsc_client.get_balance().balance == Decimal("1.00")


def test_error_3_status_of_unknown_message(smsc_client: SoapSmsc) -> None:
    """A status request for an id never sent to that phone is error 3 (not found)."""
    smsc_client.send_sms(PHONE, "hi", id=7)
    with pytest.raises(MessageNotFoundError) as info:
        smsc_client.get_status(7, "79990000001")
    assert info.value.code == 3


def test_error_4_ip_blocked_after_five_auth_failures(smsc_emulator: EmulatorServer) -> None:
    """Five bad logins in 30 minutes block the IP for 30 minutes, even for the right password.

    Each call after the block uses a new client, because SoapSmsc itself stops calling after an error 4.
    """
    with _client(smsc_emulator, "wrong") as bad:
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                bad.get_balance()
    with _client(smsc_emulator) as good, pytest.raises(IpBlockedError) as info:
        good.get_balance()
    assert info.value.code == 4
    smsc_emulator.advance(30 * 60 - 1)
    with _client(smsc_emulator) as good, pytest.raises(IpBlockedError):
        good.get_balance()
    smsc_emulator.advance(1)
    with _client(smsc_emulator) as good:
        assert good.get_balance().balance == Decimal("1000.00")


def test_error_5_bad_date_over_zeep(smsc_emulator: EmulatorServer) -> None:
    """A time that is no real date (31 February) is error 5 without an id (SoapSmsc refuses it first)."""
    import zeep

    client = zeep.Client(smsc_emulator.wsdl_url)
    try:
        reply = client.service.send_sms(
            login="test", psw="test-password", phones=PHONE, mes="hi", id="d-1", time="3102251200"
        )
    finally:
        client.transport.session.close()
    assert (reply["error"], reply["id"]) == ("5", None)
    assert smsc_emulator.messages == []


def test_error_5_bad_tz(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """A tz outside the service's range is error 5; SoapSmsc refuses it in ``query`` before sending."""
    with pytest.raises(SmscValidationError) as local:
        smsc_client.send_sms2(PHONE, "hi", query={"tz": 99})
    assert local.value.field == "tz"
    assert smsc_emulator.requests == []
    assert _zeep_send2(smsc_emulator, "tz=99")["error"] == "5"


def test_error_6_unregistered_sender(smsc_client: SoapSmsc, smsc_emulator: EmulatorServer) -> None:
    """A sender name the account never registered is error 6 with the id; nothing is sent."""
    with pytest.raises(MessageForbiddenError) as info:
        smsc_client.send_sms(PHONE, "hi", id="s-1", sender="Unknown")
    assert (info.value.code, info.value.message_id) == (6, "s-1")
    assert smsc_emulator.messages == []


def test_error_6_spam_filter(smsc_client: SoapSmsc) -> None:
    """A text holding a spam-filter word is error 6."""
    with pytest.raises(MessageForbiddenError):
        smsc_client.send_sms(PHONE, "Win big: SPAMTEST now")


def test_error_7_bad_number(smsc_client: SoapSmsc) -> None:
    """A send whose only number has a wrong format (test number ...022) is error 7 with the id."""
    with pytest.raises(InvalidPhoneError) as info:
        smsc_client.send_sms("70000000022", "hi", id="n-1")
    assert (info.value.code, info.value.message_id) == (7, "n-1")


def test_error_8_undeliverable(smsc_client: SoapSmsc) -> None:
    """A send whose only number has no route (test number ...025) is error 8 with the id."""
    with pytest.raises(UndeliverableError) as info:
        smsc_client.send_sms("70000000025", "hi", id="u-1")
    assert (info.value.code, info.value.message_id) == (8, "u-1")


def test_error_9_identical_send_within_a_minute(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """The same send again within 60 s is error 9 and sends nothing; after 60 s it goes."""
    smsc_client.send_sms(PHONE, "once", id=100)
    with pytest.raises(DuplicateSendError) as info:
        smsc_client.send_sms(PHONE, "once", id=100)
    assert info.value.code == 9
    assert len(smsc_emulator.messages) == 1
    smsc_emulator.advance(60)
    smsc_client.send_sms(PHONE, "once", id=100)
    assert len(smsc_emulator.messages) == 2


def test_error_9_more_than_five_status_requests(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A sixth status request for one message within a minute is error 9 from the service.

    The sixth goes through a new client: SoapSmsc keeps its own budget and would refuse it locally.
    """
    sent = smsc_client.send_sms(PHONE, "poll me")
    for _ in range(5):
        smsc_client.get_status(sent.id, PHONE)
    with _client(smsc_emulator) as fresh, pytest.raises(TooManyRequestsError) as info:
        fresh.get_status(sent.id, PHONE)
    assert info.value.code == 9
    smsc_emulator.advance(60)
    with _client(smsc_emulator) as fresh:
        fresh.get_status(sent.id, PHONE)


def test_error_9_more_than_ten_balance_requests(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """An eleventh balance request within a minute is error 9 (asked through a new client)."""
    for _ in range(10):
        smsc_client.get_balance()
    with _client(smsc_emulator) as fresh, pytest.raises(TooManyRequestsError) as info:
        fresh.get_balance()
    assert info.value.code == 9


def test_error_9_more_than_five_identical_cost_requests(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer
) -> None:
    """A sixth identical cost request within a minute is error 9; a different one still works."""
    for _ in range(5):
        smsc_client.get_sms_cost(PHONE, "price?")
    with _client(smsc_emulator) as fresh:
        with pytest.raises(TooManyRequestsError) as info:
            fresh.get_sms_cost(PHONE, "price?")
        assert info.value.code == 9
        assert fresh.get_sms_cost(PHONE, "another price?").cnt == 1


def test_error_9_fifteen_concurrent_requests(smsc_emulator: EmulatorServer) -> None:
    """Of 16 simultaneous requests under one login, the 15th and 16th are refused with error 9.

    The emulator holds every request until all 16 are in flight, so they overlap however slowly a
    loaded machine starts the threads.
    """
    smsc_emulator.inject(FaultPlan.hold(times=16))
    outcomes: list[object] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        with _client(smsc_emulator) as client:
            try:
                outcome: object = client.get_sms_cost(PHONE, f"text {index}").cnt
            except TooManyRequestsError as exc:
                outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    try:
        assert smsc_emulator.wait_held(16, timeout=60)
    finally:
        smsc_emulator.release()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(outcomes, key=str) == [1] * 14 + [9] * 2
