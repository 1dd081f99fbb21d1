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
141   the output was closed early (``smsc-soap wsdl show | head``), as for tools killed by SIGPIPE
====  ===============================================================================
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .._client.sync_client import SoapSmsc
    from .._params.options import SendOptions

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
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
    "CliOptions",
    "Context",
    "CredentialError",
    "add_connection_arguments",
    "exit_code_for",
    "make_client",
    "parse_options",
    "parse_pairs",
    "relabel",
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
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = """exit codes:
  0 ok; 1 internal error; 2 usage/validation; 3 authentication; 4 insufficient funds;
  5 refused by the service; 6 transport; 7 protocol; 8 outcome unknown (check the status);
  9 rate-limited/blocked; 10 WSDL drift; 11 bulk finished with failures; 130 interrupted;
  141 output closed early (| head)"""


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

    def scrub(self, value: Any) -> Any:
        """Mask the secrets this command knows in a value that came from the server or the request.

        Strings are scrubbed (with the library's one :class:`~smsc_soap._secrets.Scrubber`), mappings and
        lists item by item; numbers, dates and enums pass unchanged. Our own messages and labels are never
        passed through here, so a password such as "or" cannot garble "wrong login or password".
        """
        if isinstance(value, str):
            if not self.secrets:
                return value
            from .._secrets import Scrubber

            return Scrubber(*self.secrets)(value, limit=None)
        if isinstance(value, Mapping):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value

    def out(self, text: str = "") -> None:
        """Write a line to stdout."""
        self.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        """Write a line to stderr."""
        self.stderr.write(text + "\n")

    def json(self, data: Any) -> None:
        """Write ``data`` as one JSON document to stdout."""
        self.out(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))

    def result(self, exit_code: int, data: Mapping[str, Any]) -> int:
        """Write a command's ``--json`` result and return ``exit_code``.

        Every command's JSON carries ``ok`` (exactly ``exit_code == 0``) and ``exit_code`` first.
        """
        self.json({"ok": exit_code == EXIT_OK, "exit_code": exit_code, **data})
        return exit_code

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
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="total seconds per call, retries included (default: 60)",
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
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        from .._exceptions import SmscValidationError

        raise SmscValidationError(
            f"--timeout must be a number of seconds greater than 0, not {args.timeout:g}",
            field="--timeout",
        )
    from .._client.sync_client import SoapSmsc

    options: dict[str, Any] = {"timeout": args.timeout, **kwargs}
    if host:
        options["host"] = host
    if endpoint:
        options["endpoint"] = endpoint
    flags = {
        "timeout": "--timeout",
        "deadline": "--timeout",
        "host": "--host" if args.host else "SMSC_HOST",
        "endpoint": "--endpoint" if args.endpoint else "SMSC_ENDPOINT",
        "login": "--login" if args.login else "SMSC_LOGIN",
    }
    with relabel(flags):
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
        ctx.result(code, {"error": error_data(error)})
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


# ------------------------------------------------------------------------- errors named by flag


@contextmanager
def relabel(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a validation error about a library keyword as one about the flag that set it.

    ``flags`` maps the library's field name (``error.field``) to what the user typed (``--timeout``,
    ``-o valid=99``); the message then starts with that, and the keyword's own name is dropped from its
    start ("option 'valid' must be ..." becomes "--valid 99: must be ...").
    """
    from .._exceptions import SmscConfigurationError, SmscValidationError

    try:
        yield
    except SmscValidationError as error:
        name = error.field
        if name is None or name not in flags:
            raise
        flag = flags[name]
        text = str(error)
        for prefix in (f"option {name!r} ", f"{name} ", f"option {name!r}: ", f"{name}: "):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        cls = SmscConfigurationError if isinstance(error, SmscConfigurationError) else None
        new = (cls or SmscValidationError)(f"{flag}: {text}", field=flag.split()[0])
        raise new from None


# ------------------------------------------------------------ send options from the command line

#: Query keys the service spells differently from the SendOptions field.
_OPTION_ALIASES = {"del": "delete"}
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


@dataclass(frozen=True, slots=True)
class CliOptions:
    """Options of one command line: typed and checked (``options``), and the rest for ``query``.

    ``extra`` holds keys that are not :class:`SendOptions` fields (parameters newer than the library);
    they pass as the library's ``query=`` lets them (credentials and explicit arguments stay refused).
    """

    options: SendOptions | None
    extra: dict[str, str]
    sources: dict[str, str]

    def as_query(self, operation: str) -> dict[str, str]:
        """Everything as one ``query`` mapping in the service's text forms (for bulk requests)."""
        own = {} if self.options is None else self.options.to_query(operation)
        return {**own, **self.extra}

    def flags(self, **more: str) -> dict[str, str]:
        """What the user typed for each library keyword (for :func:`relabel`), plus ``more``."""
        return {**more, **self.sources, "query": "-o/--query"}

    def has(self, key: str) -> bool:
        """Whether ``key`` (a query key such as ``cost``) was given on the command line."""
        return key in self.sources


def _option_value(name: str, text: str) -> Any:
    """Turn the text of a flag into the type the SendOptions field takes; leave it text otherwise."""
    from dataclasses import fields

    from .._params.options import SendOptions

    kind = next(str(f.type) for f in fields(SendOptions) if f.name == name)
    value = text.strip()
    if kind.startswith("bool"):
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return text
    if kind.startswith("int") and _INTEGER.match(value):
        return int(value)
    if kind.startswith("Number"):
        try:
            return Decimal(value)
        except InvalidOperation:
            return text
    return text


def parse_options(
    operation: str,
    typed: Sequence[tuple[str, str, str]] = (),
    pairs: Sequence[str] | None = None,
    query: str | None = None,
    *,
    pairs_flag: str = "-o",
) -> CliOptions:
    """Build the options of a command from its typed flags, ``-o KEY=VALUE`` pairs and ``--query``.

    ``typed`` lists ``(source, key, text)`` of the typed flags given (``("--valid 99", "valid", "99")``).
    Keys that are :class:`SendOptions` fields (``del`` for ``delete``) go through SendOptions and its
    checks for ``operation``, exactly as the library's typed keywords do; other keys are kept for
    ``query``. A key given twice, by any two of these, is refused. Errors name the flag, not the keyword.
    """
    from .._exceptions import SmscValidationError
    from .._params.options import OPTION_NAMES, SendOptions
    from .._params.query import encode_query, php_parse_str

    given: dict[str, tuple[str, str]] = {}

    def add(key: str, text: str, source: str) -> None:
        name = _OPTION_ALIASES.get(key, key)
        if name in given:
            raise SmscValidationError(
                f"{source}: {key!r} is already given by {given[name][1]}", field=source.split()[0]
            )
        given[name] = (text, source)

    for source, key, text in typed:
        add(key, text, source)
    for key, text in parse_pairs(list(pairs or []), pairs_flag).items():
        add(key, text, f"{pairs_flag} {key}={text}")
    if query:
        with relabel({"query": "--query"}):
            encode_query(query, operation)  # well-formed, no reserved keys
        for key, text in php_parse_str(query).items():
            add(key, text, f"--query {key}={text}")
    values = {name: value for name, value in given.items() if name in OPTION_NAMES}
    extra = {key: text for key, (text, _) in given.items() if key not in OPTION_NAMES}
    sources = {name: source for name, (_, source) in given.items()}
    flags = {**sources, "query": f"{pairs_flag}/--query"}
    with relabel(flags):
        options = None
        if values:
            options = SendOptions(
                **{name: _option_value(name, text) for name, (text, _) in values.items()}
            )
            options.validate(operation)
        encode_query(extra, operation)  # reserved keys (login, psw, phones, ...) are refused
    return CliOptions(options, extra, sources)
