"""pytest fixtures for testing code that talks to SMSC, against the local emulator.

Registered through the ``pytest11`` entry point ``smsc_soap``, so installing the package makes them
available. The emulator runs once per session on 127.0.0.1 and is reset before each test.

=========================  ========  ================================  ==========================================
fixture                    scope     type                              default
=========================  ========  ================================  ==========================================
``smsc_emulator_server``   session   :class:`~smsc_soap.emulator.EmulatorServer`  one test account, ManualClock, host smsc.ru
``smsc_emulator``          function  :class:`~smsc_soap.emulator.EmulatorServer`  the session server after ``reset()``
``smsc_client``            function  :class:`~smsc_soap.SoapSmsc`      login ``test`` / ``test-password`` at its url
``smsc_callback_receiver`` function  :class:`~smsc_soap.emulator.CallbackReceiver`  on 127.0.0.1; ``smsc_emulator`` pushes to it
=========================  ========  ================================  ==========================================

With ``smsc_callback_receiver`` the emulator POSTs every status change (and inbound messages injected
with ``smsc_emulator.receive(phone, mes, to)``) to a real receiver, signed with
``TEST_CALLBACK_SECRET``, retrying quickly (backoff from 0.05 s) while it answers other than 200;
``smsc_emulator.wait_callbacks()`` waits until the changes up to now are pushed.

The test account has 1000.00 on its balance, pays 1.95 per SMS part, has the sender name ``SmscTest``
registered and the API key ``test-apikey``. The clock only moves when a test calls
``smsc_emulator.advance(seconds)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .emulator import (
    TEST_CALLBACK_SECRET,
    TEST_LOGIN,
    TEST_PASSWORD,
    CallbackReceiver,
    Emulator,
    EmulatorServer,
    ManualClock,
    default_account,
)

if TYPE_CHECKING:
    from ._client import SoapSmsc

__all__ = ["smsc_callback_receiver", "smsc_client", "smsc_emulator", "smsc_emulator_server"]


@pytest.fixture(scope="session")
def smsc_emulator_server() -> Iterator[EmulatorServer]:
    """Session scope, EmulatorServer: one emulator on 127.0.0.1 for the session (test account, ManualClock)."""
    emulator = Emulator([default_account()], clock=ManualClock())
    with EmulatorServer(emulator) as server:
        yield server


@pytest.fixture
def smsc_emulator(smsc_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """Function scope, EmulatorServer: the session emulator reset for this test; server errors fail it."""
    smsc_emulator_server.reset()
    yield smsc_emulator_server
    smsc_emulator_server.check()


@pytest.fixture
def smsc_client(smsc_emulator: EmulatorServer) -> Iterator[SoapSmsc]:
    """Function scope, SoapSmsc: a client logged in as the test account, aimed at ``smsc_emulator``."""
    from ._client import SoapSmsc

    with SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=smsc_emulator.url) as client:
        yield client


@pytest.fixture
def smsc_callback_receiver(smsc_emulator: EmulatorServer) -> Iterator[CallbackReceiver]:
    """Function scope, CallbackReceiver: a receiver on 127.0.0.1 that ``smsc_emulator`` pushes to."""
    with CallbackReceiver(secret=TEST_CALLBACK_SECRET) as receiver:
        smsc_emulator.set_callback(
            receiver.url, secret=TEST_CALLBACK_SECRET, backoff=0.05, max_backoff=0.5
        )
        try:
            yield receiver
        finally:
            smsc_emulator.set_callback(None)
