"""The ``smsc-soap`` command line: one function per subcommand, registered in ``COMMANDS``.

Heavy imports (zeep, the client, the emulator) happen inside the subcommands, so ``--help`` is instant.
To add a subcommand, write ``add_<name>(subparsers)`` and ``run_<name>(args) -> int`` and list them in
``COMMANDS``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from .._version import __version__
from . import bulk, ops, settle, wsdl
from .common import EXIT_BROKEN_PIPE

if TYPE_CHECKING:
    from ..emulator import Account, RequestRecord

__all__ = ["COMMANDS", "Command", "main"]


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: its name, one-line help, how it adds its arguments and how it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ----------------------------------------------------------------------------------------- serve


def _balance(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{what}: balance {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{what}: balance must be a non-negative number")
    return value


def _account_arg(text: str) -> tuple[str, str, Decimal | None]:
    login, sep, rest = text.partition(":")
    psw, _, balance = rest.partition(":")
    if not login or not sep or not psw:
        raise argparse.ArgumentTypeError("--account takes LOGIN:PSW or LOGIN:PSW:BALANCE")
    return login, psw, _balance(balance, "--account") if balance else None


def _apikey_arg(text: str) -> tuple[str, Decimal | None]:
    key, _, balance = text.partition(":")
    if not key:
        raise argparse.ArgumentTypeError("--apikey takes KEY or KEY:BALANCE")
    return key, _balance(balance, "--apikey") if balance else None


def add_serve(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``serve``."""
    parser.add_argument(
        "--bind",
        "--host",
        dest="bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default 127.0.0.1; --host is an alias kept for old scripts)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    parser.add_argument(
        "--account",
        action="append",
        type=_account_arg,
        default=[],
        metavar="LOGIN:PSW[:BALANCE]",
        help="an account (repeatable); without any, the test account test/test-password",
    )
    parser.add_argument(
        "--apikey",
        action="append",
        type=_apikey_arg,
        default=[],
        metavar="KEY[:BALANCE]",
        help="an API-key account (repeatable)",
    )
    parser.add_argument(
        "--sender",
        action="append",
        default=[],
        metavar="NAME",
        help="register a sender name for every served account (repeatable); "
        "unregistered names get error 6, as on the service",
    )
    parser.add_argument(
        "--apikey-element",
        action="store_true",
        help="simulate a live WSDL that declares <apikey> (by default, as with the published WSDL, "
        "an <apikey> element is ignored and only apikey= inside query authenticates)",
    )
    parser.add_argument(
        "--documented-fields",
        action="store_true",
        help="also send the documented reply fields the published WSDL lacks "
        "(sms_cnt with all=1; mcc, mnc, cost, error per number with op=1)",
    )
    parser.add_argument(
        "--log-limit",
        type=_non_negative,
        default=1000,
        metavar="N",
        help="keep the last N requests in memory (default 1000)",
    )
    parser.add_argument(
        "--log-body-bytes",
        type=_non_negative,
        default=1024,
        metavar="BYTES",
        help="keep at most BYTES of a request body that is not SOAP (default 1024)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=256,
        metavar="N",
        help="open connections accepted at once (default 256; at least 16)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no request log on stderr (one line per request)"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="delay every reply (ms)")
    parser.add_argument(
        "--namespace-host",
        default="smsc.ru",
        choices=["smsc.ru", "smsc.ua", "smsc.kz", "smscentre.com"],
        help="which SMSC site's namespace to speak (default smsc.ru)",
    )
    parser.add_argument(
        "--callback-url",
        metavar="URL",
        help="POST every status change (and inbound message) to URL, as SMSC's handler URL does",
    )
    parser.add_argument(
        "--callback-secret",
        metavar="SECRET",
        help="sign pushed callbacks with sha1 (the SECRET of the handler URL's ?sha1=SECRET)",
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _accounts(args: argparse.Namespace) -> list[Account]:
    import dataclasses

    from ..emulator import TEST_SENDER, Account, default_account

    senders = frozenset({TEST_SENDER, *args.sender})
    accounts: list[Account] = []
    for login, psw, balance in args.account:
        account = Account(login, psw, senders=senders)
        if balance is not None:
            account.balance = balance
        accounts.append(account)
    for index, (key, balance) in enumerate(args.apikey, start=1):
        account = Account(f"apikey-{index}", apikey=key, senders=senders)
        if balance is not None:
            account.balance = balance
        accounts.append(account)
    if not accounts:
        default = default_account()
        accounts = [dataclasses.replace(default, senders=default.senders | senders)]
    return accounts


def run_serve(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Serve an emulator until interrupted (Ctrl-C or SIGTERM)."""
    from ..emulator import Emulator, EmulatorServer, format_record

    out = out or sys.stdout
    if args.max_connections < 16:
        print("smsc-soap serve: --max-connections must be at least 16", file=sys.stderr)
        return 2
    accounts = _accounts(args)
    emulator = Emulator(accounts, host=args.namespace_host, max_messages=100_000)

    def log(record: RequestRecord) -> None:
        print(format_record(record), file=sys.stderr, flush=True)

    if args.callback_secret and not args.callback_url:
        print("smsc-soap serve: --callback-secret needs --callback-url", file=sys.stderr)
        return 2
    try:
        # A URL typed on the command line is the user's explicit choice, so any host is allowed.
        server = EmulatorServer(
            emulator,
            bind=args.bind,
            port=args.port,
            latency_ms=args.latency_ms,
            apikey_element=args.apikey_element,
            documented_fields=args.documented_fields,
            log_limit=args.log_limit,
            log_body_limit=args.log_body_bytes,
            on_request=None if args.quiet else log,
            max_connections=args.max_connections,
            callback_url=args.callback_url,
            callback_secret=args.callback_secret,
            callback_allow_remote=True,
        )
    except ValueError as error:
        print(f"smsc-soap serve: --callback-url: {error}", file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as error:
        print(f"smsc-soap serve: {_bind_failure(args, error)}", file=sys.stderr)
        return 2
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop.handle)
    try:
        with contextlib.ExitStack() as running:
            running.callback(server.stop)
            print(f"SMSC emulator ({args.namespace_host}) serving on {server.url}", file=out)
            print(f"WSDL: {server.wsdl_url}", file=out)
            if server.pusher is not None:
                signed = "signed with sha1" if args.callback_secret else "unsigned"
                print(f"callbacks: POST to {server.pusher.display_url} ({signed})", file=out)
            print(f"contract: {server.contract.describe()}", file=out)
            for account in accounts:
                who = "apikey ***" if account.psw is None else f"login {account.login}"
                names = ", ".join(sorted(account.senders))
                print(f"account: {who}, balance {account.balance}, senders {names}", file=out)
            admin = server.url.replace("/sys/soap.php", "/emulator/unblock")
            print(f"Lift IP blocks: curl -X POST {admin}", file=out)
            print("Press Ctrl-C to stop.", file=out, flush=True)
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("stopped", file=out, flush=True)
    return 0


def _bind_failure(args: argparse.Namespace, error: OSError) -> str:
    """Say in our words why serve could not listen, and what to do."""
    import errno

    where = f"{args.bind}:{args.port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use (another server?); choose "
            "another with --port N, or --port 0 for any free port (the address is printed)"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {args.bind} is not an address of this machine (--bind)"
    if error.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    reason = (error.strerror or str(error)).lower()
    return f"cannot listen on {where}: {reason}"


class _Stop:
    """Waits until SIGTERM or Ctrl-C."""

    def __init__(self) -> None:
        import threading

        self._event = threading.Event()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self._event.set()

    def wait(self) -> None:
        while not self._event.wait(0.2):
            pass


# ------------------------------------------------------------------------------------------ demo


def add_demo(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``demo`` (none)."""


def run_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Walk through a send, its cost, its delivery and the balance against an in-process emulator."""
    from .. import SoapSmsc
    from ..emulator import (
        TEST_LOGIN,
        TEST_PASSWORD,
        TEST_SENDER,
        Emulator,
        EmulatorServer,
        ManualClock,
        default_account,
    )

    out = out or sys.stdout
    phone = "79991234567"
    text = "Привет! Это сообщение из эмулятора SMSC: проверка связи, кириллица и два SMS."

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    emulator = Emulator([default_account()], clock=ManualClock())
    with (
        EmulatorServer(emulator) as server,
        SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=server.url) as client,
    ):
        say(f"1. A local SMSC emulator is running at {server.url}")
        say(f"   test account: login {TEST_LOGIN!r}, password {TEST_PASSWORD!r}")
        say(f"   balance: {client.get_balance().balance}")
        say()
        cost = client.get_sms_cost(phone, text)
        say(f"2. get_sms_cost: {len(text)} Cyrillic characters to {phone}")
        say(f"   {cost.cnt} SMS parts, cost {cost.cost} (nothing sent)")
        say()
        sent = client.send_sms2(phone, text, sender=TEST_SENDER, query={"cost": 3})
        say(f"3. send_sms2 from sender {TEST_SENDER!r}")
        say(f"   id {sent.id}, {sent.cnt} parts, cost {sent.cost}, new balance {sent.balance}")
        say()
        say("4. get_status, moving the emulator's clock instead of waiting:")
        for step in (0, 1, 5):
            server.advance(step)
            status = client.get_status(sent.id, phone)
            say(
                f"   after +{step}s: status {int(status.status)} ({status.status.description}), "
                f"last change {status.last_date:%d.%m.%Y %H:%M:%S}"
                if status.last_date is not None
                else f"   after +{step}s: status {int(status.status)}"
            )
        final = client.get_status(sent.id, phone, all=1)
        say(
            f"   full status: {final.status_name!r}, sent by {final.sender_id!r}, cost {final.cost}"
        )
        say()
        balance = client.get_balance().balance
        say(f"5. get_balance: {balance}")
        server.check()
    say()
    say("Done: the emulator speaks the same SOAP as smsc.ru. Run `smsc-soap serve` to keep one up.")
    return 0 if final.status.is_success else 1


# ------------------------------------------------------------------------------------------ main

COMMANDS: list[Command] = [
    Command("serve", "run a local SMSC emulator until interrupted", add_serve, run_serve),
    Command(
        "demo", "walk through send, cost, status and balance on an emulator", add_demo, run_demo
    ),
    *(Command(*spec) for spec in (*ops.SPECS, *bulk.SPECS, *settle.SPECS, *wsdl.SPECS)),
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="smsc-soap", description="SMSC SOAP client tools and a local emulator."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}", help="print the version"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return run(args)
    except BrokenPipeError:
        # The reader went away (`smsc-soap wsdl show | head`): stop quietly, as tools killed by SIGPIPE
        # do, and point stdout at /dev/null so that the interpreter's final flush does not complain.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a replaced sys.stdout (tests) has no descriptor
        pass
