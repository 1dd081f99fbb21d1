"""Group E: the password never shows up in reprs, logs, exceptions, tracebacks, history or copies."""

from __future__ import annotations

import copy
import functools
import gc
import logging
import pickle
import threading
import types
from collections.abc import Callable

import pytest

import smsc_soap as s
from smsc_soap import SoapSmsc
from smsc_soap._secrets import Scrubber, Secret
from tests.helpers.raw_server import RawServer, ok_reply, respond, send
from tests.helpers.secrets import SENTINEL_KEY, SENTINEL_PSW
from tests.reliability.leaks import find, run


def test_reprs_hide_the_password(make_client: Callable[..., SoapSmsc]) -> None:
    """repr/str of the client, its transport, config, credentials and results never show the secret."""
    with RawServer(respond(ok_reply("send_sms"))) as server:
        client = make_client(server.url)
        result = send(client)
    objects = [
        client,
        client._transport,
        client._config,
        client._credentials,
        result,
        client._budget,
    ]
    assert not find(SENTINEL_PSW, objects=objects)
    apikey_client = SoapSmsc(apikey=SENTINEL_KEY)
    assert not find(SENTINEL_KEY, objects=[apikey_client, apikey_client._credentials])


def test_successful_calls_log_no_secret_at_debug(
    make_client: Callable[..., SoapSmsc], caplog: pytest.LogCaptureFixture
) -> None:
    """zeep, urllib3 and our loggers at DEBUG on the root logger: no password in any record."""
    caplog.set_level(logging.DEBUG)
    for name in ("zeep", "zeep.transports", "urllib3", "smsc_soap"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with RawServer(respond(ok_reply("send_sms")), respond(ok_reply("get_balance"))) as server:
        client = make_client(server.url)
        send(client)
        client.get_balance()
    assert caplog.records, "DEBUG logging was captured"
    assert not find(SENTINEL_PSW, records=caplog.records)


def test_nothing_keeps_the_envelope(make_client: Callable[..., SoapSmsc]) -> None:
    """No history: after a call no object reachable from the client holds the envelope's password."""
    with RawServer(respond(ok_reply("send_sms"))) as server:
        client = make_client(server.url)
        send(client)
    seen: set[int] = set()
    todo: list[object] = [client]
    found: list[str] = []
    while todo and len(seen) < 20000:
        obj = todo.pop()
        skip = (Secret, Scrubber, type, types.ModuleType, types.FunctionType, types.MethodType)
        skip += (types.BuiltinFunctionType, threading.Thread, functools.partial)
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        if isinstance(obj, str | bytes):
            if (SENTINEL_PSW in obj) if isinstance(obj, str) else (SENTINEL_PSW.encode() in obj):
                found.append(repr(obj)[:100])
            continue
        todo.extend(gc.get_referents(obj))
    assert not found


def test_pickle_and_copy_are_refused() -> None:
    """pickle.dumps and copy of a client or a secret raise TypeError."""
    client = SoapSmsc("alex", SENTINEL_PSW)
    with pytest.raises(TypeError) as info:
        pickle.dumps(client)
    assert SENTINEL_PSW not in str(info.value)
    for action in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            action(client)
    with pytest.raises(TypeError):
        pickle.dumps(Secret(SENTINEL_PSW))


@pytest.mark.parametrize(
    "psw", ["", " " + SENTINEL_PSW, SENTINEL_PSW + "\r\n", 12345, SENTINEL_PSW + "\x00"]
)
def test_credential_errors_name_the_field_not_the_value(psw: object) -> None:
    """A bad password is refused at construction naming 'psw', never echoing the value."""
    _, error = run(lambda: SoapSmsc("alex", psw))  # type: ignore[arg-type]
    assert isinstance(error, s.SmscConfigurationError) and "psw" in str(error)
    assert not find(SENTINEL_PSW, error=error)


def test_the_request_line_carries_no_credentials(make_client: Callable[..., SoapSmsc]) -> None:
    """Credentials travel in the body only: the request line and headers never hold them."""
    with RawServer(respond(ok_reply("send_sms"))) as server:
        send(make_client(server.url))
    head = server.heads[0].decode("latin-1")
    assert SENTINEL_PSW not in head and "alex" not in head.split("\r\n")[0]
    assert SENTINEL_PSW.encode() in server.bodies[0]


def test_scrubber_masks_all_spellings() -> None:
    """Raw, XML-escaped and URL-encoded spellings are masked; a cut at the limit leaves no prefix."""
    secret = "p&ss<w>rd 1%"
    scrub = Scrubber(Secret(secret))
    for spelling in (
        secret,
        "p&amp;ss&lt;w&gt;rd 1%",
        "p%26ss%3Cw%3Erd%201%25",
        "p%26ss%3Cw%3Erd+1%25",
    ):
        assert "***" in scrub(f"x {spelling} y") and spelling not in scrub(f"x {spelling} y")
    cut = scrub("a" * 195 + secret, limit=200)
    assert "p&ss<w" not in cut


def test_detached_errors_carry_no_deep_frames(make_client: Callable[..., SoapSmsc]) -> None:
    """A raised error's traceback starts at the client facade: transport frames holding the envelope are gone."""
    with RawServer(respond(b"", 502)) as server:
        client = make_client(server.url, retry=s.RetryPolicy(max_attempts=1, send_max_attempts=1))
        _, error = run(client.get_balance)
    assert error is not None
    names = []
    tb = error.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "post" not in names and "_read" not in names and "_parse" not in names


@pytest.mark.parametrize("client_class", [s.SoapSmsc, s.AsyncSoapSmsc], ids=["sync", "async"])
@pytest.mark.parametrize(
    "settings",
    [{"endpoint": "http://example.com/x"}, {"timeout": -1}, {"mirrors": "x"}, {"apikey": "k"}],
    ids=["plain-http", "timeout", "mirrors", "apikey-and-psw"],
)
def test_constructor_errors_keep_the_password_out_of_traceback_locals(
    sentinel_psw: str, client_class: type, settings: dict[str, object]
) -> None:
    """A refused setting raises from frames whose locals show the password only as Secret('***')."""
    import traceback

    with pytest.raises(s.SmscConfigurationError) as info:
        client_class("alex", sentinel_psw, **settings)
    # The library's frames only: this test function's own locals hold the sentinel, of course.
    assert info.tb.tb_next is not None
    frames = traceback.StackSummary.extract(traceback.walk_tb(info.tb.tb_next), capture_locals=True)
    rendered = "".join(frames.format())
    assert "__init__" in rendered and sentinel_psw not in rendered
    assert "Secret('***')" in rendered
