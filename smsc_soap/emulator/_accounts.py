"""The ready-made test account the server, the pytest fixtures and the CLI start with."""

from __future__ import annotations

from decimal import Decimal

from ._model import Account, Tariff

__all__ = ["TEST_APIKEY", "TEST_LOGIN", "TEST_PASSWORD", "TEST_SENDER", "default_account"]

TEST_LOGIN = "test"
TEST_PASSWORD = "test-password"
TEST_APIKEY = "test-apikey"
TEST_SENDER = "SmscTest"


def default_account(balance: Decimal = Decimal("1000.00")) -> Account:
    """Return a fresh copy of the test account: login ``test``, password ``test-password``, key ``test-apikey``."""
    return Account(
        TEST_LOGIN,
        TEST_PASSWORD,
        apikey=TEST_APIKEY,
        balance=balance,
        tariff=Tariff(Decimal("1.95")),
        senders=frozenset({TEST_SENDER}),
    )
