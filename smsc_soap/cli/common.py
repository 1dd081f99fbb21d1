"""What the command-line subcommands share: exit codes, credentials, the client, output and errors.

Nothing here imports zeep, requests or httpx at module level, so ``smsc-soap --help`` stays instant: the
client is imported when a command runs.

Exit codes (one per error class, so scripts can branch on them):

====  ===============================================================================
0     success
1     unexpected internal error
2     usage or validation error (bad arguments, bad input, bad configuration)
3     authentication failed (SMSC error 2)
4     insufficient funds (SMSC error 3 on send/cost)
5     refused by the service (any other SMSC error code, e.g. 7 wrong number)
6     transport failure (connection, TLS, timeout, HTTP error)
7     protocol failure (not a SOAP reply, SOAP Fault, unreadable WSDL)
8     outcome unknown: a send may or may not have happened (check the status)
9     rate-limited or blocked (SMSC error 9 or 4, or refused locally)
10    WSDL drift: the live contract differs from the cached one
11    bulk run finished, but some messages failed (see the summary)
130   interrupted (Ctrl-C)
====  ===============================================================================
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .._client.sync_client import SoapSmsc

__all__ = [
    "EXIT_AUTH",
    "EXIT_DRIFT",
    "EXIT_FUNDS",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROTOCOL",
    "EXIT_REJECTED",
    "EXIT_THROTTLED",
    "EXIT_TRANSPORT",
    "EXIT_UNKNOWN",
    "EXIT_USAGE",
    "Context",
    "CredentialError",
    "add_connection_arguments",
    "exit_code_for",
    "make_client",
    "parse_pairs",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_FUNDS = 4
EXIT_REJECTED = 5
EXIT_TRANSPORT = 6
EXIT_PROTOCOL = 7
EXIT_UNKNOWN = 8
EXIT_THROTTLED = 9
EXIT_DRIFT = 10
EXIT_PARTIAL = 11
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """exit codes:
  0 ok; 1 internal error; 2 usage/validation; 3 authentication; 4 insufficient funds;
  5 refused by the service; 6 transport; 7 protocol; 8 outcome unknown (check the status);
  9 rate-limited/blocked; 10 WSDL drift; 11 bulk finished with failures; 130 interrupted"""


class CredentialError(Exception):
    """No usable credentials were given (flags, environment or prompt)."""


@dataclass
class Context:
    """Where a command reads its environment and writes its output; tests inject their own."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    getpass: Callable[[str], str] | None = None
    secrets: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, args: argparse.Namespace) -> Context:
        """Return the context a parsed command line carries (``args.context``), or the process's."""
        context = getattr(args, "context", None)
        return context if isinstance(context, Context) else cls()

    def scrub(self, text: str) -> str:
        """Mask every secret this command knows in ``text``."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def out(self, text: str = "") -> None:
        """Write a line to stdout (secrets masked)."""
        self.stdout.write(self.scrub(text) + "\n")

    def err(self, text: str) -> None:
        """Write a line to stderr (secrets masked)."""
        self.stderr.write(self.scrub(text) + "\n")

    def json(self, data: Any) -> None:
        """Write ``data`` as one JSON document to stdout (secrets masked)."""
        self.out(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))

    def ask_password(self, prompt: str) -> str | None:
        """Prompt for a secret without echo when stdin is a terminal; None otherwise."""
        if self.getpass is not None:
            return self.getpass(prompt)
        try:
            interactive = self.stdin.isatty()
        except (AttributeError, ValueError):
            interactive = False
        if not interactive:
            return None
        import getpass

        return getpass.getpass(prompt, stream=self.stderr)


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the credential, host and output options every service command takes."""
    group = parser.add_argument_group(
        "connection",
        "Credentials come from these flags or SMSC_LOGIN / SMSC_PSW / SMSC_APIKEY; the password is "
        "prompted for (without echo) when missing on a terminal. SMSC_HOST / SMSC_ENDPOINT pick the site.",
    )
    group.add_argument("--login", help="account login (default: $SMSC_LOGIN)")
    group.add_argument(
        "--psw",
        help="password (prefer $SMSC_PSW or the prompt: a flag is visible to other local users)",
    )
    group.add_argument("--apikey", help="API key instead of login/password (default: $SMSC_APIKEY)")
    group.add_argument(
        "--host", help="site: smsc.ru, smsc.ua, smsc.kz or smscentre.com (default: $SMSC_HOST)"
    )
    group.add_argument(
        "--endpoint", help="SOAP endpoint URL, e.g. a local emulator (default: $SMSC_ENDPOINT)"
    )
    group.add_argument(
        "--timeout", type=float, default=60.0, help="total seconds per call (default: 60)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def make_client(args: argparse.Namespace, ctx: Context, **kwargs: Any) -> SoapSmsc:
    """Build a SoapSmsc from the flags, then the environment, then a password prompt."""
    env = ctx.environ
    apikey = args.apikey or env.get("SMSC_APIKEY") or None
    login = args.login or env.get("SMSC_LOGIN") or None
    psw = args.psw or env.get("SMSC_PSW") or None
    host = args.host or env.get("SMSC_HOST") or None
    endpoint = args.endpoint or env.get("SMSC_ENDPOINT") or None
    for flag, value in (("--psw", args.psw), ("--apikey", args.apikey)):
        if value:
            ctx.err(
                f"warning: {flag} on the command line is readable by other local users (ps, "
                "/proc/PID/cmdline); set it in the environment or let the password be prompted for"
            )
    if apikey and (args.login or args.psw):
        raise CredentialError("give either --apikey or --login/--psw, not both")
    if apikey and not args.apikey and args.login:
        apikey = None
    if not apikey:
        if not login:
            raise CredentialError(
                "no credentials: pass --login (or set SMSC_LOGIN and SMSC_PSW), or set SMSC_APIKEY"
            )
        if not psw:
            psw = ctx.ask_password(f"SMSC password for {login}: ")
            if not psw:
                raise CredentialError(
                    "no password: set SMSC_PSW, or run on a terminal to be prompted"
                )
    ctx.secrets.extend(s for s in (psw, apikey) if s)
    from .._client.sync_client import SoapSmsc

    options: dict[str, Any] = {"timeout": args.timeout, **kwargs}
    if host:
        options["host"] = host
    if endpoint:
        options["endpoint"] = endpoint
    if apikey:
        return SoapSmsc(apikey=apikey, **options)
    return SoapSmsc(login, psw, **options)


def exit_code_for(error: BaseException) -> int:
    """Return the documented exit code for an error raised by a command."""
    from .. import _exceptions as e

    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, CredentialError | e.SmscValidationError):
        return EXIT_USAGE
    if isinstance(error, e.AuthenticationError):
        return EXIT_AUTH
    if isinstance(error, e.InsufficientFundsError):
        return EXIT_FUNDS
    if isinstance(
        error, e.TooManyRequestsError | e.IpBlockedError | e.RateLimitedError | e.CircuitOpenError
    ):
        return EXIT_THROTTLED
    if isinstance(error, e.SendOutcomeUnknownError):
        return EXIT_UNKNOWN
    if isinstance(error, e.SmscApiError):
        return EXIT_REJECTED
    if isinstance(error, e.SmscTransportError):
        return EXIT_TRANSPORT
    if isinstance(error, e.SmscProtocolError):
        return EXIT_PROTOCOL
    if isinstance(error, e.SmscError):
        return EXIT_UNKNOWN if error.delivery is e.Delivery.UNKNOWN else EXIT_INTERNAL
    return EXIT_INTERNAL


def error_data(error: BaseException) -> dict[str, Any]:
    """Return the JSON form of an error: its class, message, SMSC code and what happened to the message."""
    data: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for name in ("code", "message_id", "field", "http_status"):
        value = getattr(error, name, None)
        if value is not None:
            data[name] = value
    delivery = getattr(error, "delivery", None)
    if delivery is not None:
        data["delivery"] = getattr(delivery, "value", str(delivery))
    return data


def report_error(ctx: Context, args: argparse.Namespace, error: BaseException) -> int:
    """Print an error (stderr; also JSON on stdout with --json) and return its exit code."""
    code = exit_code_for(error)
    ctx.err(f"smsc-soap: error: {error}")
    if getattr(args, "json", False):
        ctx.json({"ok": False, "exit_code": code, "error": error_data(error)})
    return code


def run_command(
    args: argparse.Namespace, body: Callable[[argparse.Namespace, Context], int]
) -> int:
    """Run a command body, turning every error into its message and exit code."""
    ctx = Context.of(args)
    from .._exceptions import SmscError

    try:
        return body(args, ctx)
    except (SmscError, CredentialError) as exc:
        return report_error(ctx, args, exc)
    except KeyboardInterrupt:
        ctx.err("smsc-soap: interrupted")
        return EXIT_INTERRUPTED


def parse_pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    """Parse repeated ``key=value`` flags into a dict (a key given twice is an error)."""
    from .._exceptions import SmscValidationError

    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SmscValidationError(f"{flag} takes key=value, not {value[:40]!r}", field=flag)
        if key in pairs:
            raise SmscValidationError(f"{flag} sets {key!r} twice", field=flag)
        pairs[key] = rest
    return pairs


def table(ctx: Context, rows: list[tuple[str, object]]) -> None:
    """Print label/value rows as an aligned two-column table (empty values left out)."""
    shown = [(label, value) for label, value in rows if value is not None and value != ""]
    width = max((len(label) for label, _ in shown), default=0)
    for label, value in shown:
        ctx.out(f"{label.ljust(width)}  {value}")
