"""The emulator server: lifecycle, request log, reset, error surfacing, and fault injection."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from smsc_soap import RetryPolicy, SendOutcomeUnknownError, SoapSmsc
from smsc_soap.emulator import (
    Emulator,
    EmulatorServer,
    FaultPlan,
    ManualClock,
    SystemClock,
    default_account,
)
from tests.helpers.fakes import wait_until

NS = "https://smsc.ru/sys/soap.php"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def envelope(element: str, inner: str) -> bytes:
    """A request envelope as PHP's SoapClient writes it."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:{element}>{inner}</ns1:{element}></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


BALANCE = envelope("balance", "<login>test</login><psw>test-password</psw>")
SEND = envelope(
    "send",
    "<login>test</login><psw>test-password</psw><phones>79991234567</phones><mes>m</mes><id>9</id>",
)


def post(server: EmulatorServer, body: bytes) -> requests.Response:
    """POST ``body`` to the emulator."""
    return requests.post(server.url, data=body, timeout=10)


def test_binds_loopback_on_a_free_port_and_stops() -> None:
    """Port 0 picks a free port on 127.0.0.1; after stop the port refuses connections."""
    server = EmulatorServer()
    with server:
        assert server.url == f"http://127.0.0.1:{server.port}/sys/soap.php"
        assert isinstance(server.emulator.clock, SystemClock)
        assert post(server, BALANCE).status_code == 200
        port = server.port
    assert not server.running
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))


def test_request_log_and_messages(smsc_emulator: EmulatorServer) -> None:
    """Each request is logged with operation, login and raw body; sent messages are listed."""
    post(smsc_emulator, SEND)
    post(smsc_emulator, BALANCE)
    records = smsc_emulator.requests
    assert [(r.operation, r.login) for r in records] == [
        ("send_sms", "test"),
        ("get_balance", "test"),
    ]
    assert records[0].body == SEND and records[0].remote_addr == "127.0.0.1"
    assert [m.id for m in smsc_emulator.messages] == ["9"]


def test_reset_restores_accounts_and_forgets_everything(smsc_emulator: EmulatorServer) -> None:
    """reset() restores the balance, forgets messages, logs, limits and faults, rewinds the clock."""
    start = smsc_emulator.emulator.clock.now()
    post(smsc_emulator, SEND)
    smsc_emulator.advance(100)
    smsc_emulator.inject(FaultPlan.http_error(503, times=None))
    smsc_emulator.reset()
    assert smsc_emulator.messages == [] and smsc_emulator.requests == []
    assert smsc_emulator.faults.pending == []
    assert smsc_emulator.emulator.clock.now() == start
    assert "<balance>1000.00</balance>" in post(smsc_emulator, BALANCE).text
    assert "<id>9</id><cnt>1</cnt>" in post(smsc_emulator, SEND).text  # no duplicate-send memory


def test_check_reraises_errors_from_the_server_thread(
    smsc_emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug inside the app becomes a 500 Fault on the wire and is re-raised by check()."""
    smsc_emulator_server.reset()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("emulator bug")

    monkeypatch.setattr(smsc_emulator_server.emulator, "handle", broken)
    response = post(smsc_emulator_server, BALANCE)
    assert response.status_code == 500 and "Internal Server Error" in response.text
    with pytest.raises(RuntimeError, match="emulator bug"):
        smsc_emulator_server.check()
    smsc_emulator_server.reset()
    smsc_emulator_server.check()


def test_advance_needs_a_manual_clock() -> None:
    """advance() refuses to move the real clock."""
    with EmulatorServer() as server, pytest.raises(TypeError):
        server.advance(1)


def test_fault_http_error_once_then_normal(smsc_emulator: EmulatorServer) -> None:
    """A one-shot 503 with a text body, then normal replies; the request was not processed."""
    smsc_emulator.inject(FaultPlan.http_error(503, "busy"))
    first = post(smsc_emulator, SEND)
    assert (first.status_code, first.text) == (503, "busy")
    assert smsc_emulator.messages == []
    assert post(smsc_emulator, SEND).status_code == 200
    assert len(smsc_emulator.messages) == 1


def test_fault_for_n_requests_of_one_operation(smsc_emulator: EmulatorServer) -> None:
    """A plan limited to get_balance for 2 requests leaves other operations alone."""
    smsc_emulator.inject(FaultPlan.http_error(500, b"", times=2, operations=["get_balance"]))
    assert post(smsc_emulator, SEND).status_code == 200
    assert [post(smsc_emulator, BALANCE).status_code for _ in range(3)] == [500, 500, 200]


def test_fault_html_page(smsc_emulator: EmulatorServer) -> None:
    """An HTML error page, as a proxy would answer."""
    smsc_emulator.inject(FaultPlan.html_error(502))
    response = post(smsc_emulator, BALANCE)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text


def test_fault_malformed_and_truncated_xml(smsc_emulator: EmulatorServer) -> None:
    """Malformed XML is not processed; truncated XML is half of the real reply after processing."""
    smsc_emulator.inject(FaultPlan.malformed_xml(), FaultPlan.truncated_xml())
    malformed = post(smsc_emulator, SEND)
    assert malformed.status_code == 200 and smsc_emulator.messages == []
    truncated = post(smsc_emulator, SEND)
    assert truncated.status_code == 200
    assert (
        truncated.text.startswith('<?xml version="1.0"')
        and "</SOAP-ENV:Envelope>" not in truncated.text
    )
    assert len(smsc_emulator.messages) == 1


def test_fault_drop_after_processing_keeps_the_send(smsc_emulator: EmulatorServer) -> None:
    """A dropped connection loses the reply, but the message was stored and charged."""
    smsc_emulator.inject(FaultPlan.drop_connection(operations=["send_sms"]))
    with pytest.raises(requests.ConnectionError):
        post(smsc_emulator, SEND)
    assert [m.id for m in smsc_emulator.messages] == ["9"]
    assert smsc_emulator.emulator.account("test").balance == Decimal("998.05")


def test_fault_drop_before_processing_sends_nothing(smsc_emulator: EmulatorServer) -> None:
    """With after_processing=False the connection drops before anything happens."""
    smsc_emulator.inject(FaultPlan.drop_connection(after_processing=False))
    with pytest.raises(requests.ConnectionError):
        post(smsc_emulator, SEND)
    assert smsc_emulator.messages == []


def test_client_sees_unknown_outcome_and_retry_is_a_duplicate(
    smsc_emulator: EmulatorServer,
) -> None:
    """SoapSmsc reports a dropped send as unknown; retrying the same id within 60 s is error 9."""
    from smsc_soap import DuplicateSendError

    smsc_emulator.inject(FaultPlan.drop_connection())
    with SoapSmsc("test", "test-password", endpoint=smsc_emulator.url) as client:
        with pytest.raises(SendOutcomeUnknownError) as info:
            client.send_sms("79991234567", "lost reply", id="drop-1")
        assert info.value.message_id == "drop-1"
        with pytest.raises(DuplicateSendError):
            client.send_sms("79991234567", "lost reply", id="drop-1")
    assert len(smsc_emulator.messages) == 1


def test_fault_latency_delays_the_reply(smsc_emulator: EmulatorServer) -> None:
    """A latency plan on every get_balance makes the client time out; other operations go through.

    The latency is far above the read timeout, so the timeout holds on a loaded machine; the cost
    request goes through a client with the default timeouts, so it needs no speed to pass.
    """
    from smsc_soap import SmscTimeoutError

    smsc_emulator.inject(FaultPlan.latency(5000, times=None, operations=["get_balance"]))
    with (
        SoapSmsc(
            "test",
            "test-password",
            endpoint=smsc_emulator.url,
            read_timeout=0.2,
            retry=RetryPolicy(max_attempts=1),
        ) as client,
        pytest.raises(SmscTimeoutError),
    ):
        client.get_balance()
    with SoapSmsc("test", "test-password", endpoint=smsc_emulator.url) as client:
        assert client.get_sms_cost("79991234567", "fast").cnt == 1
    assert [plan.kind for plan in smsc_emulator.faults.pending] == ["latency"]


@pytest.mark.parametrize(
    "plan",
    [
        FaultPlan.hold(times=None, operations=["get_balance"]),
        FaultPlan.latency(60_000, times=None, operations=["get_balance"]),
    ],
    ids=["hold", "latency"],
)
def test_reset_drops_requests_a_client_gave_up_on(
    smsc_emulator: EmulatorServer, plan: FaultPlan
) -> None:
    """A request still waiting at reset is dropped unprocessed: it never counts after the reset.

    Without that, a balance request a client timed out on would land in the next test's rate window.
    """
    smsc_emulator.inject(plan)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(post, smsc_emulator, BALANCE)
        wait_until(lambda: smsc_emulator.requests, what="the request to arrive")
        smsc_emulator.reset()
        with pytest.raises(requests.ConnectionError):
            waiting.result()
    assert smsc_emulator.held == 0 and smsc_emulator.requests == []
    for _ in range(10):  # the service's 10 balance requests a minute are all still there
        assert b"<balance>" in post(smsc_emulator, BALANCE).content
    assert b"<error>9</error>" in post(smsc_emulator, BALANCE).content


def test_hold_keeps_requests_in_flight_until_released(smsc_emulator: EmulatorServer) -> None:
    """Held requests wait, counted as in flight, until release(); then they are answered."""
    smsc_emulator.inject(FaultPlan.hold(times=2, operations=["get_balance"]))
    with ThreadPoolExecutor(2) as pool:
        replies = [pool.submit(post, smsc_emulator, BALANCE) for _ in range(2)]
        assert smsc_emulator.wait_held(2)
        assert smsc_emulator.held == 2 and not any(reply.done() for reply in replies)
        assert smsc_emulator.emulator.guards.in_flight == {"test": 2}
        assert smsc_emulator.release() == 2
        assert all(b"<balance>" in reply.result().content for reply in replies)
    assert smsc_emulator.held == 0 and smsc_emulator.faults.pending == []
    assert not smsc_emulator.wait_held(1, timeout=0)


def test_stop_drops_waiting_requests() -> None:
    """Stopping the server ends requests waiting on latency without a reply and without processing."""
    server = EmulatorServer(Emulator([default_account()], clock=ManualClock())).start()
    try:
        server.inject(FaultPlan.latency(60_000, operations=["send_sms"]))
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(post, server, SEND)
            wait_until(lambda: server.requests, what="the send to arrive")
            server.stop()
            with pytest.raises(requests.ConnectionError):
                waiting.result()
    finally:
        server.stop()
    assert server.messages == []


def test_fault_plan_validation() -> None:
    """Unknown operations and zero times are refused; body-element aliases are accepted."""
    with pytest.raises(ValueError, match="unknown operations"):
        FaultPlan.http_error(operations=["nope"])
    with pytest.raises(ValueError):
        FaultPlan.http_error(times=0)
    assert FaultPlan.http_error(operations=["send2"]).operations == frozenset({"send_sms2"})


def test_latency_option_of_the_server() -> None:
    """latency_ms on the server slows every reply."""
    import time

    with EmulatorServer(
        Emulator([default_account()], clock=ManualClock()), latency_ms=150
    ) as server:
        started = time.perf_counter()
        assert post(server, BALANCE).status_code == 200
        assert time.perf_counter() - started >= 0.15
