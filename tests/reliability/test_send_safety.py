"""A paid send is never doubled: lost replies, reconcile, pre-send retries and mirrors (emulator and raw servers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import smsc_soap as s
from smsc_soap import SendConfirmedError, SoapSmsc
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD, EmulatorServer, FaultPlan
from tests.helpers.fakes import FakeClock, FakeSleep, PinnedPolicy, wait_until
from tests.helpers.raw_server import PHONE, RawServer, ok_reply, reset, respond, send
from tests.wire import php_reply

# Every case runs on both paths of the sync transport (sockets, urllib3).
pytestmark = pytest.mark.usefixtures("sync_path")


@pytest.fixture
def emulated(
    smsc_emulator: EmulatorServer, clock: FakeClock, sleeper: FakeSleep
) -> Iterator[Callable[..., SoapSmsc]]:
    """Clients of the emulator with the fake clock and sleep."""
    made: list[SoapSmsc] = []

    def make(**kwargs: Any) -> SoapSmsc:
        options: dict[str, Any] = {
            "endpoint": smsc_emulator.url,
            "mirrors": [],
            "sleep": sleeper,
            "clock": clock,
            "retry": PinnedPolicy(),
            "timeout": 5,
            "read_timeout": 2,
        }
        options.update(kwargs)
        client = SoapSmsc(TEST_LOGIN, TEST_PASSWORD, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _sends(server: EmulatorServer) -> list[bytes]:
    return [r.body for r in server.requests if r.operation in ("send_sms", "send_sms2")]


def test_lost_reply_never_becomes_two_messages(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc]
) -> None:
    """The emulator processes the send and drops the connection: one message, SendOutcomeUnknownError."""
    client = emulated()
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send"], after_processing=True))
    with pytest.raises(s.SendOutcomeUnknownError) as info:
        client.send_sms(PHONE, "pay once", id="order-1")
    assert info.value.message_id == "order-1" and info.value.phones == PHONE
    assert not info.value.reconciled
    assert len(smsc_emulator.messages) == 1
    assert len(_sends(smsc_emulator)) == 1


@pytest.mark.parametrize(
    "plan",
    [
        FaultPlan.truncated_xml(operations=["send"]),
        FaultPlan.http_error(502, "bad gateway", operations=["send"], after_processing=True),
        FaultPlan.latency(60_000, operations=["send"]),  # dropped unprocessed at the next reset
    ],
    ids=["truncated", "502-after-processing", "slow-reply"],
)
def test_processed_send_with_broken_reply_is_sent_once(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc], plan: FaultPlan
) -> None:
    """Truncated, 5xx-after-processing or too slow: unknown outcome, never a second request."""
    client = emulated(read_timeout=0.2)  # the slow reply comes a minute later: short holds
    smsc_emulator.inject(plan)
    with pytest.raises(s.SendOutcomeUnknownError):
        client.send_sms(PHONE, "pay once", id="order-2")
    assert len(_sends(smsc_emulator)) == 1
    assert len(smsc_emulator.messages) <= 1


def test_reconcile_confirms_a_processed_send(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc], sleeper: FakeSleep
) -> None:
    """reconcile=True: the status shows the message, so SendConfirmedError and still one message."""
    client = emulated(reconcile=True)
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send"], after_processing=True))
    with pytest.raises(SendConfirmedError) as info:
        client.send_sms(PHONE, "pay once", id="order-3")
    error = info.value
    assert isinstance(error, s.SendOutcomeUnknownError), "old handlers still refuse to resend"
    assert error.delivery is s.Delivery.ACCEPTED and error.reconciled
    assert isinstance(error.status, s.StatusResult)
    assert sleeper.delays == [2.0], "the status is asked after the reconcile delay"
    assert len(smsc_emulator.messages) == 1 and len(_sends(smsc_emulator)) == 1


def test_reconcile_resends_identically_when_the_service_never_saw_it(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc]
) -> None:
    """Dropped before processing: status says not found, one identical resend succeeds, one message."""
    client = emulated(reconcile=True)
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send"], after_processing=False))
    result = client.send_sms(PHONE, "pay once", id="order-4")
    assert result.id == "order-4"
    bodies = _sends(smsc_emulator)
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert len(smsc_emulator.messages) == 1
    statuses = [r for r in smsc_emulator.requests if r.operation == "get_status"]
    assert len(statuses) == 1


def test_without_reconcile_a_drop_before_processing_is_still_unknown(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc]
) -> None:
    """The client cannot tell a drop before from a drop after processing: unknown, no resend."""
    client = emulated()
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send"], after_processing=False))
    with pytest.raises(s.SendOutcomeUnknownError):
        client.send_sms(PHONE, "pay once", id="order-5")
    assert len(_sends(smsc_emulator)) == 1 and not smsc_emulator.messages


def test_resend_answered_with_error_9_is_probably_sent(
    make_client: Callable[..., SoapSmsc],
) -> None:
    """Status says missing (lagging), the resend gets error 9: DuplicateSendError, probably sent."""
    with RawServer(
        reset(),
        respond(php_reply("get_status", "<error>3</error>")),
        respond(php_reply("send_sms", "<error>9</error>")),
    ) as server:
        client = make_client(server.url, reconcile=True)
        with pytest.raises(s.DuplicateSendError) as info:
            send(client)
    error = info.value
    assert error.probably_sent and error.reconciled and error.delivery is s.Delivery.ACCEPTED
    assert server.connections == 3
    assert server.bodies[0] == server.bodies[2], "the resend is byte-identical"
    assert b"get_status" in server.bodies[1] or b"status" in server.bodies[1]


def test_status_minus_3_also_means_missing(make_client: Callable[..., SoapSmsc]) -> None:
    """A status of -3 (not found) leads to the single resend like error 3 does."""
    with RawServer(
        reset(),
        respond(php_reply("get_status", "<status>-3</status>")),
        respond(ok_reply("send_sms")),
    ) as server:
        client = make_client(server.url, reconcile=True)
        assert send(client).id == "101"
    assert server.connections == 3 and server.bodies[0] == server.bodies[2]


def test_no_resend_after_the_45_second_budget(
    make_client: Callable[..., SoapSmsc], clock: FakeClock
) -> None:
    """If the status answer comes after 45 s, the message stays unknown: no resend outside the window."""

    def late_status(conn: Any) -> None:
        clock.now += 50  # the status request took the client past the resend window
        respond(php_reply("get_status", "<error>3</error>"))(conn)

    with RawServer(reset(), late_status, respond(ok_reply("send_sms"))) as server:
        client = make_client(server.url, reconcile=True)
        with pytest.raises(s.SendOutcomeUnknownError) as info:
            send(client)
    assert info.value.reconciled and isinstance(info.value.status, s.MessageNotFoundError)
    assert server.connections == 2, "no resend"


def test_reconcile_with_unreadable_status_stays_unknown(
    make_client: Callable[..., SoapSmsc],
) -> None:
    """A status query that fails tells nothing: unknown, no resend."""
    with RawServer(reset(), respond(b"", 502)) as server:
        client = make_client(server.url, reconcile=True)
        with pytest.raises(s.SendOutcomeUnknownError) as info:
            send(client)
    assert info.value.reconciled
    assert all(b"<ns0:send" not in b and b":send>" not in b for b in server.bodies[1:])
    assert server.bodies.count(server.bodies[0]) == 1


def test_error_9_on_a_first_attempt_is_a_suppressed_duplicate(
    make_client: Callable[..., SoapSmsc],
) -> None:
    """Error 9 without an earlier attempt: another worker sent it; not marked probably_sent."""
    with RawServer(respond(php_reply("send_sms", "<error>9</error>"))) as server:
        client = make_client(server.url, reconcile=True)
        with pytest.raises(s.DuplicateSendError) as info:
            send(client)
    assert not info.value.probably_sent and info.value.delivery is s.Delivery.REJECTED
    assert server.connections == 1


# ------------------------------------------------------------------ pre-send retries


def test_refused_send_is_retried_with_the_same_bytes(
    make_client: Callable[..., SoapSmsc], sleeper: FakeSleep
) -> None:
    """Refused twice, then the server comes up on that port: one request arrives, identical id."""
    from tests.helpers.raw_server import free_port

    port = free_port()
    servers: list[RawServer] = []

    def sleep_then_listen(seconds: float) -> None:
        sleeper(seconds)
        if len(sleeper.delays) == 2:
            servers.append(RawServer(respond(ok_reply("send_sms", "77")), port=port))

    client = make_client(f"http://127.0.0.1:{port}/sys/soap.php", sleep=sleep_then_listen)
    try:
        result = send(client, "77")
    finally:
        for server in servers:
            server.close()
    assert result.id == "77"
    assert sleeper.delays == [0.5, 1.0]
    assert servers[0].connections == 1 and b"77" in servers[0].bodies[0]


def test_mirror_takes_reads_and_unsent_sends(make_client: Callable[..., SoapSmsc]) -> None:
    """Primary refuses; the mirror (another 127.0.0.1 port) answers reads and never-sent sends."""
    from tests.helpers.raw_server import free_port

    primary = f"http://127.0.0.1:{free_port()}/sys/soap.php"
    with RawServer(respond(ok_reply("get_balance")), respond(ok_reply("send_sms"))) as mirror:
        client = make_client(primary, mirrors=[mirror.url])
        assert client.get_balance().balance == s.BalanceResult(balance=100.50).balance
        assert send(client).id == "101"
    assert mirror.connections == 2


def test_no_mirror_after_a_possible_send(make_client: Callable[..., SoapSmsc]) -> None:
    """Primary reads the body, then times out: SendOutcomeUnknownError, the mirror gets nothing."""
    from tests.helpers.raw_server import hang

    with RawServer(hang(seconds=2)) as primary, RawServer(respond(ok_reply("send_sms"))) as mirror:
        client = make_client(primary.url, mirrors=[mirror.url], read_timeout=0.3)
        with pytest.raises(s.SendOutcomeUnknownError) as info:
            send(client)
        assert isinstance(info.value.reason, s.SmscReadTimeoutError)
        wait_until(lambda: primary.connections, timeout=10)  # its handler may lag on a busy machine
    assert primary.connections == 1 and mirror.connections == 0


def test_reconcile_goes_to_the_host_that_may_hold_the_message(
    make_client: Callable[..., SoapSmsc],
) -> None:
    """Primary refused, the mirror lost the reply: status and resend go to the mirror only."""
    from tests.helpers.raw_server import free_port

    primary = f"http://127.0.0.1:{free_port()}/sys/soap.php"
    with RawServer(
        reset(),
        respond(php_reply("get_status", "<error>3</error>")),
        respond(ok_reply("send_sms")),
    ) as mirror:
        client = make_client(primary, mirrors=[mirror.url], reconcile=True)
        assert send(client).id == "101"
    assert mirror.connections == 3 and mirror.bodies[0] == mirror.bodies[2]


def test_preset_host_has_a_www2_mirror_and_custom_endpoints_none() -> None:
    """Fail-over targets: the preset's www2 by default; none for a custom endpoint unless given."""
    preset = SoapSmsc("alex", "pw")
    assert preset._endpoints == (
        "https://smsc.ru/sys/soap.php",
        "https://www2.smsc.ru/sys/soap.php",
    )
    assert SoapSmsc("alex", "pw", host="smscentre.com")._endpoints[1] == (
        "https://www2.smscentre.com/sys/soap.php"
    )
    custom = SoapSmsc("alex", "pw", endpoint="https://sms.example.com/soap")
    assert custom._endpoints == ("https://sms.example.com/soap",)
    assert len(SoapSmsc("alex", "pw", mirrors=[])._endpoints) == 1
    with pytest.raises(s.SmscConfigurationError):
        SoapSmsc("alex", "pw", mirrors=["http://evil.example.com/soap"])
    with pytest.raises(s.SmscConfigurationError):
        SoapSmsc("alex", "pw", mirrors="https://www2.smsc.ru/sys/soap.php")  # type: ignore[arg-type]


def test_reconcile_of_a_list_send_asks_status_by_its_first_number(
    smsc_emulator: EmulatorServer, emulated: Callable[..., SoapSmsc], sleeper: FakeSleep
) -> None:
    """A list send (empty phones) whose reply was lost is looked up by its first line's number."""
    client = emulated(reconcile=True)
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send2"], after_processing=True))
    lines = [s.ListMessage(PHONE, "Привет, Анна!"), s.ListMessage("+79990000002", "Привет, Олег!")]
    with pytest.raises(SendConfirmedError) as info:
        client.send_sms2(options=s.SendOptions(list=lines), id="list-1")
    assert info.value.phones.split(",")[0] == PHONE
    statuses = [r for r in smsc_emulator.requests if r.operation == "get_status"]
    assert len(statuses) == 1 and len(_sends(smsc_emulator)) == 1
    assert [m.text for m in smsc_emulator.messages] == ["Привет, Анна!", "Привет, Олег!"]
