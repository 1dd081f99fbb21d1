"""pytest fixtures for testing code that talks to SMSC, against the local emulator.

Registered through the ``pytest11`` entry point ``smsc_soap``, so installing the package makes them
available. The emulator runs once per session on 127.0.0.1 and is reset before each test.

=========================  ========  ================================  ==========================================
fixture                    scope     type                              default
=========================  ========  ================================  ==========================================
``smsc_emulator_server``   session   :class:`~smsc_soap.emulator.EmulatorServer`  one test account, ManualClock, host smsc.ru
``smsc_emulator``          function  :class:`~smsc_soap.emulator.EmulatorServer`  the session server after ``reset()``
``smsc_emulator_options``  function  ``dict``                          the ``smsc_emulator`` marker's keywords, or ``{}``
``smsc_emulator_factory``  function  ``(**options) -> EmulatorServer``  starts a fresh server per call, stops it after
``smsc_client``            function  :class:`~smsc_soap.SoapSmsc`      login ``test`` / ``test-password`` at its url
``smsc_callback_receiver`` function  :class:`~smsc_soap.emulator.CallbackReceiver`  on 127.0.0.1; ``smsc_emulator`` pushes to it
=========================  ========  ================================  ==========================================

With ``smsc_callback_receiver`` the emulator POSTs every status change (and inbound messages injected
with ``smsc_emulator.receive(phone, mes, to)``) to a real receiver, signed with
``TEST_CALLBACK_SECRET``, retrying quickly (backoff from 0.05 s) while it answers other than 200;
``smsc_emulator.wait_callbacks()`` waits until the changes up to now are pushed.

The test account has 1000.00 on its balance, pays 1.95 per SMS part, has the sender name ``SmscTest``
registered and the API key ``test-apikey``. The clock only moves when a test calls
``smsc_emulator.advance(seconds)``. The request log keeps every request with its full body.

By default the emulator speaks the published contract, where an ``<apikey>`` element is ignored (an API
key works inside ``query``). Two options simulate a richer live WSDL: ``apikey_element=True`` and
``documented_fields=True``. Choose them per test with the marker, or run a test both ways by
parametrising ``smsc_emulator_options``::

    @pytest.mark.smsc_emulator(apikey_element=True)
    def test_key(smsc_emulator): ...

    @pytest.mark.parametrize("smsc_emulator_options", [{}, {"documented_fields": True}])
    def test_both(smsc_emulator): ...

Each combination of options gets its own session server, started on first use.

WSDL contract checks for CI. Without these options the plugin adds nothing to a suite; with them it adds
one test item per checked site, which passes when the contract has no drift and fails listing each
difference (JUnit output comes from pytest's ``--junitxml``). Only these items contact the network:

``--smsc-contract=HOST``        download ``https://HOST/sys/soap.php?wsdl`` (repeatable)
``--smsc-contract-url=URL``     download this WSDL instead (a proxy, a mirror; repeatable)
``--smsc-contract-file=PATH``   check a saved WSDL (no network; repeatable)

With a URL or a file, ``--smsc-contract=HOST`` names the site to expect (default smsc.ru).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .contract import ContractError, ContractReport, check_contract
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
    from ._client.sync_client import SoapSmsc

__all__ = [
    "smsc_callback_receiver",
    "smsc_client",
    "smsc_emulator",
    "smsc_emulator_factory",
    "smsc_emulator_options",
    "smsc_emulator_pool",
    "smsc_emulator_server",
]

#: The options the fixtures accept, with their defaults.
OPTIONS = {"apikey_element": False, "documented_fields": False}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The WSDL contract check options (off unless given)."""
    group = parser.getgroup("smsc-soap", "SMSC WSDL contract checks")
    group.addoption(
        "--smsc-contract",
        action="append",
        default=[],
        metavar="HOST",
        help="check the live WSDL of this SMSC site (smsc.ru, smsc.ua, smsc.kz, smscentre.com); "
        "with --smsc-contract-url/--smsc-contract-file, the site to expect",
    )
    group.addoption(
        "--smsc-contract-url",
        action="append",
        default=[],
        metavar="URL",
        help="check the WSDL at this URL (a proxy or mirror of the published one)",
    )
    group.addoption(
        "--smsc-contract-file",
        action="append",
        default=[],
        metavar="PATH",
        help="check a saved WSDL file (no network)",
    )


class ContractDrift(Exception):
    """The checked contract has drifted; carries the report."""

    def __init__(self, report: ContractReport) -> None:
        super().__init__(report.describe())
        self.report = report


class SmscContractItem(pytest.Item):
    """One WSDL contract check: a site's live WSDL, a URL or a saved file, against a site's contract."""

    def __init__(
        self, *, host: str, url: str | None = None, against: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.url = url
        self.against = against

    def runtest(self) -> None:
        """Run the check; fail with every difference listed when there is drift."""
        report = check_contract(self.url, host=self.host, against=self.against)
        self.user_properties.append(("smsc_contract", json.dumps(report.to_dict())))
        if not report.ok:
            raise ContractDrift(report)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The report's text for drift, the error's text for an unreachable or unreadable WSDL."""
        if isinstance(excinfo.value, ContractDrift):
            return str(excinfo.value)
        if isinstance(excinfo.value, ContractError):
            return f"{type(excinfo.value).__name__}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where the item comes from, for pytest's reports."""
        return self.path, None, f"SMSC WSDL contract check {self.name}"


def _contract_items(session: pytest.Session) -> list[SmscContractItem]:
    from ._hosts import HOSTS

    config = session.config
    hosts: list[str] = list(config.getoption("smsc_contract") or [])
    urls: list[str] = list(config.getoption("smsc_contract_url") or [])
    files: list[str] = list(config.getoption("smsc_contract_file") or [])
    for host in hosts:
        if host not in HOSTS:
            raise pytest.UsageError(
                f"--smsc-contract: unknown host {host!r}; choose one of {', '.join(HOSTS)}"
            )
    items: list[SmscContractItem] = []
    if not urls and not files:
        for host in dict.fromkeys(hosts):
            items.append(
                SmscContractItem.from_parent(session, name=f"smsc_contract[{host}]", host=host)
            )
        return items
    for host in dict.fromkeys(hosts or ["smsc.ru"]):
        for url in urls:
            items.append(
                SmscContractItem.from_parent(
                    session, name=f"smsc_contract[{host}:{url}]", host=host, url=url
                )
            )
        for path in files:
            items.append(
                SmscContractItem.from_parent(
                    session, name=f"smsc_contract[{host}:{path}]", host=host, against=path
                )
            )
    return items


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Add the contract check items when asked for (before ``-k``/``-m`` selection)."""
    items.extend(_contract_items(session))


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``smsc_emulator`` marker (the suite may run with ``--strict-markers``)."""
    config.addinivalue_line(
        "markers",
        "smsc_emulator(apikey_element=False, documented_fields=False): which contract the "
        "smsc_emulator fixture's server speaks for this test",
    )


def _options(raw: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise TypeError(
            f"unknown smsc_emulator option(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(OPTIONS))}"
        )
    return tuple((name, bool(raw.get(name, default))) for name, default in OPTIONS.items())


def _start(options: tuple[tuple[str, bool], ...]) -> EmulatorServer:
    emulator = Emulator([default_account()], clock=ManualClock())
    chosen = dict(options)
    return EmulatorServer(
        emulator,
        apikey_element=chosen["apikey_element"],
        documented_fields=chosen["documented_fields"],
    ).start()


class _Pool:
    """One session server per combination of options, started on first use."""

    def __init__(self) -> None:
        self.servers: dict[tuple[tuple[str, bool], ...], EmulatorServer] = {}

    def get(self, raw: dict[str, Any]) -> EmulatorServer:
        key = _options(raw)
        server = self.servers.get(key)
        if server is None:
            server = self.servers[key] = _start(key)
        return server

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()


@pytest.fixture(scope="session")
def smsc_emulator_pool() -> Iterator[_Pool]:
    """Session scope: the servers of every option combination used in the session."""
    pool = _Pool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def smsc_emulator_server(smsc_emulator_pool: _Pool) -> EmulatorServer:
    """Session scope, EmulatorServer: one emulator on 127.0.0.1 for the session (test account, ManualClock)."""
    return smsc_emulator_pool.get({})


@pytest.fixture
def smsc_emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Function scope, dict: the options of this test's emulator (the ``smsc_emulator`` marker's)."""
    marker = request.node.get_closest_marker("smsc_emulator")
    options = dict(marker.kwargs) if marker is not None else {}
    _options(options)
    return options


@pytest.fixture
def smsc_emulator(
    request: pytest.FixtureRequest, smsc_emulator_options: dict[str, Any]
) -> Iterator[EmulatorServer]:
    """Function scope, EmulatorServer: the session emulator reset for this test; server errors fail it."""
    if any(value for _, value in _options(smsc_emulator_options)):
        pool: _Pool = request.getfixturevalue("smsc_emulator_pool")
        server = pool.get(smsc_emulator_options)
    else:
        server = request.getfixturevalue("smsc_emulator_server")
    server.reset()
    yield server
    server.check()


@pytest.fixture
def smsc_emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Function scope: ``factory(apikey_element=..., documented_fields=...)`` starts a fresh server."""
    started: list[EmulatorServer] = []

    def factory(**options: Any) -> EmulatorServer:
        server = _start(_options(options))
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def smsc_client(smsc_emulator: EmulatorServer) -> Iterator[SoapSmsc]:
    """Function scope, SoapSmsc: a client logged in as the test account, aimed at ``smsc_emulator``."""
    from ._client.sync_client import SoapSmsc

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
