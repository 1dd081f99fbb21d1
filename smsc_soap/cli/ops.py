"""``smsc-soap send | cost | status | balance``: one service call each, a table or ``--json``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    CliOptions,
    Context,
    add_connection_arguments,
    make_client,
    parse_options,
    relabel,
    run_command,
    table,
)

__all__ = ["SPECS"]

# Typed flags of send/cost: flag -> (SendOptions field, argparse keywords). Each one is a SendOptions field,
# built and checked exactly as the library's keyword of the same name.
_FLAG_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "--translit": (
        "translit",
        {"choices": ["0", "1", "2"], "help": "transliterate: 1 to Latin, 2 to Latin look-alikes"},
    ),
    "--tinyurl": ("tinyurl", {"action": "store_const", "const": "1", "help": "shorten links"}),
    "--maxsms": ("maxsms", {"metavar": "N", "help": "cut the text to at most N parts (1..1000)"}),
    "--valid": (
        "valid",
        {"metavar": "HOURS|hh:mm", "help": "lifetime: 1..24 hours, or hh:mm from 00:01 to 24:00"},
    ),
    "--tz": ("tz", {"metavar": "HOURS", "help": "time zone of --time, hours from Moscow"}),
    "--flash": ("flash", {"action": "store_const", "const": "1", "help": "flash SMS"}),
    "--viber": ("viber", {"action": "store_const", "const": "1", "help": "Viber message"}),
    "--subj": ("subj", {"metavar": "TEXT", "help": "subject (MMS, e-mail)"}),
}
_SEND_FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "--cost": (
        "cost",
        {
            "choices": ["0", "2", "3"],
            "help": "what the reply carries: 0 id and parts, 2 also the cost, 3 (the default here) "
            "also the new balance; cost only (1) sends nothing: use `smsc-soap cost`",
        },
    ),
    "--err": ("err", {"action": "store_const", "const": "1", "help": "list the failed numbers"}),
    "--op": (
        "op",
        {"action": "store_const", "const": "1", "help": "report every number with its status"},
    ),
}


def _add_query_arguments(parser: argparse.ArgumentParser, *, send: bool) -> None:
    group = parser.add_argument_group(
        "message options",
        "Each is a SendOptions field of the library, checked the same way before anything is sent.",
    )
    flags = {**_FLAG_OPTIONS, **(_SEND_FLAGS if send else {})}
    for flag, (key, kwargs) in flags.items():
        group.add_argument(flag, dest=f"opt_{key}", **kwargs)
    _add_raw_arguments(group)


def _add_raw_arguments(group: Any) -> None:
    group.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="any other parameter, repeatable (e.g. -o mail=1); SendOptions fields are checked, "
        "unknown keys are passed on for parameters newer than this tool",
    )
    group.add_argument(
        "--query",
        metavar="K=V&K=V",
        help="a ready URL-encoded query string; its keys follow the same rules as -o",
    )


def _options(args: argparse.Namespace, operation: str) -> CliOptions:
    """The command line's options, built and checked through SendOptions."""
    typed: list[tuple[str, str, str]] = []
    for flag, (key, kwargs) in {**_FLAG_OPTIONS, **_SEND_FLAGS}.items():
        value = getattr(args, f"opt_{key}", None)
        if value is not None:
            source = flag if kwargs.get("action") == "store_const" else f"{flag} {value}"
            typed.append((source, key, str(value)))
    return parse_options(operation, typed, args.option, args.query)


def _text(args: argparse.Namespace, ctx: Context) -> str:
    if args.mes == "-":
        return ctx.stdin.read().rstrip("\n")
    return str(args.mes)


# ------------------------------------------------------------------------------------ commands


def _balance(args: argparse.Namespace, ctx: Context) -> int:
    with make_client(args, ctx) as client:
        result = client.get_balance()
    if args.json:
        return ctx.result(EXIT_OK, {"balance": result.balance})
    else:
        table(ctx, [("balance", result.balance)])
    return EXIT_OK


def _send(args: argparse.Namespace, ctx: Context) -> int:
    from .._params.options import make_options

    given = _options(args, "send_sms2")
    options = given.options
    if not given.has("cost"):
        options = make_options(options, cost=3)  # the id, parts, cost and new balance
    mes = _text(args, ctx)
    with make_client(args, ctx) as client, relabel(given.flags(**_SEND_FIELDS)):
        result = client.send_sms2(
            args.phones,
            mes,
            id=args.id,
            sender=args.sender,
            time=args.time,
            options=options,
            query=given.extra or None,
        )
    numbers = [_number(entry) for entry in result.errors]
    if args.json:
        return ctx.result(
            EXIT_OK,
            {
                "id": ctx.scrub(result.id),
                "cnt": result.cnt,
                "cost": result.cost,
                "balance": result.balance,
                "errors": ctx.scrub([n for n in numbers if not n["accepted"]]),
                **({"numbers": ctx.scrub(numbers)} if given.has("op") else {}),
            },
        )
    table(
        ctx,
        [
            ("id", ctx.scrub(result.id)),
            ("sms parts", result.cnt),
            ("cost", result.cost),
            ("balance", result.balance),
        ],
    )
    for item in numbers:
        label = "accepted" if item["accepted"] else "failed"
        details = "".join(f", {key} {item[key]}" for key in ("mcc", "mnc", "cost") if key in item)
        if item.get("error"):
            meaning = f" ({item['error_text']})" if item.get("error_text") else ""
            details += f", error {item['error']}{meaning}"
        ctx.out(
            f"{label:<9} {ctx.scrub(item['phone'])}  status {item['status']} "
            f"({item['status_text']}){details}"
        )
    return EXIT_OK


#: Library keywords of a send and the arguments that set them.
_SEND_FIELDS = {
    "phones": "PHONES",
    "mes": "MES",
    "id": "--id",
    "sender": "--sender",
    "time": "--time",
    "tz": "--tz",
}


def _number(entry: Any) -> dict[str, Any]:
    """One per-number entry of a send reply (err=1 lists the failed ones, op=1 every number)."""
    status = entry.status
    code = int(status)
    item: dict[str, Any] = {
        "phone": entry.phone,
        "status": code,
        "status_text": getattr(status, "description", str(status)),
        # 20..25: cannot be delivered, wrong number, forbidden, no funds, unavailable.
        "accepted": code < 20,
    }
    for key in ("mcc", "mnc", "cost", "error"):
        value = getattr(entry, key, None)
        if value is not None:
            item[key] = int(value) if key == "error" else value
    if item.get("error"):  # op=1 gives a delivery error code for a failed number
        item["error_text"] = getattr(entry.error, "description", None)
    return item


def _cost(args: argparse.Namespace, ctx: Context) -> int:
    given = _options(args, "get_sms_cost2")
    mes = _text(args, ctx)
    with make_client(args, ctx) as client, relabel(given.flags(**_SEND_FIELDS)):
        if given.options is None and not given.extra:
            result = client.get_sms_cost(args.phones, mes)
        else:
            result = client.get_sms_cost2(
                args.phones, mes, options=given.options, query=given.extra or None
            )
    if args.json:
        return ctx.result(EXIT_OK, {"cost": result.cost, "cnt": result.cnt})
    else:
        table(ctx, [("cost", result.cost), ("sms parts", result.cnt)])
    return EXIT_OK


def _status(args: argparse.Namespace, ctx: Context) -> int:
    given = _options(args, "get_status2")
    with make_client(args, ctx) as client, relabel(given.flags(id="ID", phone="PHONE")):
        if given.options is None and not given.extra:
            result = client.get_status(args.id, args.phone, all=args.all)
        else:
            result = client.get_status2(
                args.id, args.phone, all=args.all, options=given.options, query=given.extra or None
            )
    status = result.status
    data: dict[str, Any] = {
        "status": int(status),
        "status_text": getattr(status, "description", str(status)),
        "err": None if result.err is None else int(result.err),
        "last_date": result.last_date,
        "send_date": result.send_date,
        "phone": ctx.scrub(result.phone),
        "cost": result.cost,
        "sender_id": ctx.scrub(result.sender_id),
        "status_name": ctx.scrub(result.status_name),
        "message": ctx.scrub(result.message),
        "operator": ctx.scrub(result.operator),
        "region": ctx.scrub(result.region),
        "sms_cnt": result.sms_cnt,
    }
    if args.json:
        return ctx.result(EXIT_OK, data)
    else:
        rows: list[tuple[str, object]] = [
            ("status", f"{data['status']} ({data['status_text']})"),
            ("error", None if result.err is None or int(result.err) == 0 else data["err"]),
        ]
        rows += [(key.replace("_", " "), value) for key, value in list(data.items())[3:]]
        table(ctx, rows)
    return EXIT_OK


def _describe(parser: argparse.ArgumentParser, description: str) -> None:
    parser.description = description
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def add_send(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``send``."""
    _describe(
        parser,
        "Send MES to PHONES (comma-separated) with send_sms2, asking for the cost and new balance "
        "(--cost 3) unless --cost says otherwise.",
    )
    parser.add_argument("phones", help="numbers, comma-separated (+ disables number correction)")
    parser.add_argument("mes", help="the text; '-' reads it from stdin")
    parser.add_argument("--id", help="message id (default: one the library derives for this send)")
    parser.add_argument("--sender", help="sender name")
    parser.add_argument(
        "--time",
        help="send time: DDMMYYhhmm, 'DD.MM.YY hh:mm', h1-h2 (an hour window), 0<unix time>, +m (minutes "
        "from now)",
    )
    _add_query_arguments(parser, send=True)
    add_connection_arguments(parser)


def add_cost(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``cost``."""
    _describe(parser, "Ask the price of sending MES to PHONES, without sending it.")
    parser.add_argument("phones", help="numbers, comma-separated")
    parser.add_argument("mes", help="the text; '-' reads it from stdin")
    _add_query_arguments(parser, send=False)
    add_connection_arguments(parser)


def add_status(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``status``."""
    _describe(parser, "Show the delivery status of message ID sent to PHONE.")
    parser.add_argument("id", help="the message id")
    parser.add_argument("phone", help="the number it was sent to")
    parser.add_argument(
        "--all",
        type=int,
        choices=[0, 1, 2],
        default=0,
        help="detail: 0 (default, as the service), 1, 2",
    )
    group = parser.add_argument_group(
        "status options",
        "Parameters of get_status2 (e.g. -o del=1 deletes the message after reading).",
    )
    _add_raw_arguments(group)
    add_connection_arguments(parser)


def add_balance(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``balance``."""
    _describe(parser, "Show the account balance.")
    add_connection_arguments(parser)


def run_send(args: argparse.Namespace) -> int:
    """Run ``send``."""
    return run_command(args, _send)


def run_cost(args: argparse.Namespace) -> int:
    """Run ``cost``."""
    return run_command(args, _cost)


def run_status(args: argparse.Namespace) -> int:
    """Run ``status``."""
    return run_command(args, _status)


def run_balance(args: argparse.Namespace) -> int:
    """Run ``balance``."""
    return run_command(args, _balance)


#: (name, help, add_arguments, run) of each command, for the table in ``cli.py``.
SPECS: list[
    tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = [
    ("send", "send one SMS", add_send, run_send),
    ("cost", "ask what a send would cost", add_cost, run_cost),
    ("status", "show a message's delivery status", add_status, run_status),
    ("balance", "show the account balance", add_balance, run_balance),
]
