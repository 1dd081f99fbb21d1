"""Fixtures of the bulk-sending tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smsc_soap.emulator import Emulator, EmulatorServer, ManualClock
from tests.cli.helpers import bulk_account


@pytest.fixture
def bulk_server() -> Iterator[EmulatorServer]:
    """A fresh emulator (ManualClock) with the bulk account, on 127.0.0.1."""
    emulator = Emulator([bulk_account()], clock=ManualClock())
    with EmulatorServer(emulator) as server:
        yield server
        server.check()
