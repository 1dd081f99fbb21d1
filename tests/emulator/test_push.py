"""The emulator pushes signed reports to a real receiver on 127.0.0.1, retrying while it fails."""

from __future__ import annotations

import socket
from urllib.parse import urlencode

import pytest
import requests

from smsc_soap import MessageStatus, SoapSmsc
from smsc_soap.callbacks import InboundMessage, StatusReport, sign_callback
from smsc_soap.emulator import (
    TEST_CALLBACK_SECRET,
    CallbackPusher,
    CallbackReceiver,
    Emulator,
    EmulatorServer,
    ManualClock,
    default_account,
    is_loopback_url,
)

PHONE = "79991234567"


def test_every_status_change_reaches_the_receiver(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """Rejected-at-once, transferred and final statuses arrive signed, typed and in order."""
    sent = smsc_client.send_sms(f"{PHONE},70000000020,70000000022", "hello")
    assert smsc_emulator.wait_callbacks()
    first = smsc_callback_receiver.wait_for(1)
    assert [(r.phone, r.status) for r in first] == [("70000000022", MessageStatus.WRONG_NUMBER)]
    smsc_emulator.advance(2)  # queue delay over: transferred
    assert smsc_emulator.wait_callbacks()
    smsc_emulator.advance(10)  # delivery delay over: final
    assert smsc_emulator.wait_callbacks()
    reports = smsc_callback_receiver.wait_for(5)
    assert smsc_emulator.wait_callbacks()
    assert all(isinstance(r, StatusReport) and r.id == sent.id for r in reports)
    by_phone: dict[str, list[int]] = {}
    for report in reports:
        assert isinstance(report, StatusReport)
        by_phone.setdefault(report.phone, []).append(int(report.status))
    assert by_phone == {"70000000022": [22], PHONE: [0, 1], "70000000020": [0, 20]}
    final = [r for r in reports if isinstance(r, StatusReport) and r.phone == "70000000020"][-1]
    assert final.err is not None and int(final.err) == 1 and final.cnt == 1
    assert set(smsc_callback_receiver.answers) == {200}
    # Nothing more once every status is final.
    smsc_emulator.advance(600)
    assert smsc_emulator.wait_callbacks()
    assert len(smsc_callback_receiver.events) == 5


def test_a_status_report_matches_get_status(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """The pushed final report says what get_status says, including the moment of the change."""
    sent = smsc_client.send_sms(PHONE, "hello")
    smsc_emulator.advance(30)
    assert smsc_emulator.wait_callbacks()
    report = smsc_callback_receiver.wait_for(1)[-1]
    status = smsc_client.get_status(sent.id, PHONE)
    assert isinstance(report, StatusReport)
    assert report.status == status.status and report.time == status.last_date


def test_a_clock_jump_pushes_every_change_in_order(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """Moving the clock past several changes at once still pushes each, oldest first, with its time."""
    sent = smsc_client.send_sms("70000000003", "hello")
    smsc_emulator.advance(3600)
    assert smsc_emulator.wait_callbacks()
    reports = smsc_callback_receiver.wait_for(2)
    assert [(r.id, int(r.status)) for r in reports] == [(sent.id, 0), (sent.id, 3)]
    first, last = (r.time for r in reports)
    assert first is not None and last is not None
    assert (last - first).total_seconds() == smsc_emulator.emulator.delivery_delay
    assert isinstance(reports[1], StatusReport) and reports[1].err is not None
    assert int(reports[1].err) == 6


def test_inbound_messages_are_pushed(
    smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """emulator.receive(phone, mes, to) arrives as an InboundMessage."""
    fields = smsc_emulator.receive("79990001122", "СТОП: no more", "79001234567")
    (message,) = smsc_callback_receiver.wait_for(1)
    assert isinstance(message, InboundMessage)
    assert (message.phone, message.mes, message.to, message.id) == (
        "79990001122",
        "СТОП: no more",
        "79001234567",
        fields["id"],
    )


def test_handler_failure_means_500_and_the_emulator_retries(
    smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """While the handler raises the receiver answers 500 and the emulator tries again, in order."""
    smsc_callback_receiver.fail_next(3)
    smsc_emulator.receive("79990001122", "first")
    smsc_emulator.receive("79990001133", "second")
    events = smsc_callback_receiver.wait_for(2)
    assert smsc_emulator.wait_callbacks()  # the last answer is recorded on both sides
    assert [e.phone for e in events] == ["79990001122", "79990001133"]
    assert smsc_callback_receiver.answers == [500, 500, 500, 200, 200]
    attempts = [(a.form["mes"], a.attempt, a.status) for a in smsc_emulator.callbacks]
    assert attempts == [
        ("first", 1, 500),
        ("first", 2, 500),
        ("first", 3, 500),
        ("first", 4, 200),
        ("second", 1, 200),
    ]


def test_retries_are_bounded_and_back_off() -> None:
    """A receiver that never accepts gets max_attempts tries, then the report is dropped."""
    emulator = Emulator([default_account()], clock=ManualClock())
    with CallbackReceiver() as receiver, EmulatorServer(emulator) as server:
        pusher = server.set_callback(
            receiver.url, secret=TEST_CALLBACK_SECRET, max_attempts=3, backoff=0.01
        )
        assert pusher is not None
        assert [pusher.retry_delay(n) for n in (1, 2, 3)] == [0.01, 0.02, 0.04]
        receiver.fail_next(100)
        server.receive("79990001122", "lost")
        assert server.wait_callbacks()
        assert receiver.answers == [500, 500, 500]
        assert [dict(d)["mes"] for d in pusher.dropped] == ["lost"]
        server.check()


def test_a_dead_receiver_is_retried_then_reached() -> None:
    """Connection refused counts as a failure: the emulator keeps trying until the receiver is up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulator = Emulator([default_account()], clock=ManualClock())
    with EmulatorServer(
        emulator,
        callback_url=f"http://127.0.0.1:{port}/smsc/callback",
        callback_secret=TEST_CALLBACK_SECRET,
    ) as server:
        pusher = server.pusher
        assert pusher is not None
        pusher.backoff = pusher.max_backoff = 0.02
        pusher.max_attempts = 1000
        server.receive("79990001122", "wait for me")
        assert pusher.wait_attempts(2)  # refused twice before the receiver exists
        with CallbackReceiver(port=port) as receiver:
            assert receiver.wait_for(1)[0].phone == "79990001122"
        refused = [a for a in server.callbacks if a.status is None]
        assert refused and refused[0].error and "Connection" in refused[0].error


def test_forged_replayed_and_malformed_requests_never_reach_the_handler(
    smsc_client: SoapSmsc, smsc_emulator: EmulatorServer, smsc_callback_receiver: CallbackReceiver
) -> None:
    """Over real HTTP: wrong or missing sha1 is 403, broken forms 400, a replay is not handled twice."""
    seen: list[object] = []
    smsc_callback_receiver.handler = seen.append
    smsc_client.send_sms(PHONE, "hello")
    smsc_emulator.advance(30)
    assert smsc_emulator.wait_callbacks()
    genuine = smsc_emulator.callbacks[-1].form
    assert len(seen) == 2  # transferred, delivered
    url = smsc_callback_receiver.url
    post = requests.post
    forged = {**genuine, "status": "20"}  # the genuine signature replayed onto another status
    assert post(url, data=forged, timeout=5).status_code == 403
    assert post(url, data={**genuine, "sha1": "0" * 40}, timeout=5).status_code == 403
    unsigned = {k: v for k, v in genuine.items() if k != "sha1"}
    assert post(url, data=unsigned, timeout=5).status_code == 403
    other_secret = {**unsigned, "sha1": sign_callback(unsigned, "guess")}
    assert post(url, data=other_secret, timeout=5).status_code == 403
    broken = {**unsigned, "status": "delivered"}
    broken["sha1"] = sign_callback(broken, TEST_CALLBACK_SECRET)
    assert post(url, data=broken, timeout=5).status_code == 400
    body = urlencode(genuine) + "&id=other"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert post(url, data=body, headers=headers, timeout=5).status_code == 400
    assert post(url, data="x" * 100_000, headers=headers, timeout=5).status_code == 413
    assert post(url, data=genuine, timeout=5).status_code == 200  # replay: answered, not handled
    assert len(seen) == 2
    assert len(smsc_callback_receiver.events) == 2


def test_only_loopback_urls_without_allow_remote() -> None:
    """A callback URL elsewhere is refused unless allow_remote=True; nothing is contacted."""
    emulator = Emulator([default_account()])
    assert is_loopback_url("http://127.0.0.5:9/x") and is_loopback_url("http://[::1]:9/")
    assert is_loopback_url("http://localhost/") and not is_loopback_url("http://example.com/")
    assert not is_loopback_url("http://127.0.0.1.example.com/")
    with pytest.raises(ValueError, match="allow_remote"):
        EmulatorServer(emulator, callback_url="https://example.com/smsc")
    with pytest.raises(ValueError, match="http"):
        CallbackPusher(emulator, "ftp://127.0.0.1/x")
    pusher = CallbackPusher(emulator, "https://u:p@example.com/h?sha1=SECRET", allow_remote=True)
    assert "SECRET" not in repr(pusher) and "u:p" not in repr(pusher)
    assert emulator.listeners == []  # not started: not watching


def test_receive_needs_a_callback_url() -> None:
    """Injecting an inbound message without a callback URL is a clear error."""
    with pytest.raises(RuntimeError, match="callback URL"):
        EmulatorServer(Emulator([default_account()])).receive("79990001122", "hi")


def test_stopping_the_server_stops_pushing() -> None:
    """stop() ends the push thread and unhooks it from the model."""
    emulator = Emulator([default_account()], clock=ManualClock())
    with CallbackReceiver() as receiver:
        server = EmulatorServer(emulator, callback_url=receiver.url)
        with server:
            assert len(emulator.listeners) == 1
        assert emulator.listeners == []
        pusher = server.pusher
        assert pusher is not None and pusher.wait_idle(0.1)
