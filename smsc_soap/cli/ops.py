"""``smsc-soap send | cost | status | balance``: one service call each, a table or ``--json``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    Context,
    add_connection_arguments,
    make_client,
    parse_pairs,
    run_command,
    table,
)

__all__ = ["SPECS"]

# Typed flags of send/cost: flag name -> (query key, help). Each is one parameter of ``query``.
_FLAG_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "--translit": ("translit", {"choices": ["0", "1", "2"], "help": "transliterate (1 or 2)"}),
    "--tinyurl": ("tinyurl", {"action": "store_const", "const": "1", "help": "shorten links"}),
    "--maxsms": ("maxsms", {"type": int, "help": "cut the text to at most N parts"}),
    "--valid": ("valid", {"help": "lifetime: hours 1..24 or hh:mm"}),
    "--tz": ("tz", {"help": "time zone of --time, hours from Moscow"}),
    "--flash": ("flash", {"action": "store_const", "const": "1", "help": "flash SMS"}),
    "--viber": ("viber", {"action": "store_const", "const": "1", "help": "Viber message"}),
    "--subj": ("subj", {"help": "subject (MMS, e-mail)"}),
}


def _add_query_arguments(parser: argparse.ArgumentParser, *, send: bool) -> None:
    group = parser.add_argument_group(
        "options", "Extra parameters travel in the query string (send_sms2 / get_sms_cost2)."
    )
    for flag, (key, kwargs) in _FLAG_OPTIONS.items():
        group.add_argument(flag, dest=f"opt_{key}", **kwargs)
    if send:
        group.add_argument(
            "--cost",
            dest="opt_cost",
            choices=["0", "1", "2", "3"],
            help="0 plain send, 1 cost only, 2 add the cost, 3 add cost and balance (default 3)",
        )
        group.add_argument(
            "--err", dest="opt_err", action="store_const", const="1", help="list failed numbers"
        )
        group.add_argument(
            "--op", dest="opt_op", action="store_const", const="1", help="report every number"
        )
    group.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="any other service parameter, repeatable (e.g. -o list=... -o mail=1)",
    )
    group.add_argument(
        "--query",
        metavar="K=V&K=V",
        help="a ready URL-encoded query string, passed through as is",
    )


def _query(args: argparse.Namespace) -> dict[str, str] | str | None:
    """Merge typed flags and --option pairs into a mapping; a raw --query string is used alone."""
    pairs: dict[str, str] = {}
    for name, value in vars(args).items():
        if name.startswith("opt_") and value is not None:
            pairs[name[4:]] = str(value)
    for key, value in parse_pairs(args.option, "--option").items():
        if key in pairs:
            from .._exceptions import SmscValidationError

            raise SmscValidationError(f"{key!r} is given twice", field="--option")
        pairs[key] = value
    if args.query is not None:
        if pairs:
            from urllib.parse import urlencode

            return urlencode(pairs) + ("&" + args.query if args.query else "")
        return str(args.query)
    return pairs or None


def _text(args: argparse.Namespace, ctx: Context) -> str:
    if args.mes == "-":
        return ctx.stdin.read().rstrip("\n")
    return str(args.mes)


# ------------------------------------------------------------------------------------ commands


def _balance(args: argparse.Namespace, ctx: Context) -> int:
    with make_client(args, ctx) as client:
        result = client.get_balance()
    if args.json:
        ctx.json({"ok": True, "balance": result.balance})
    else:
        table(ctx, [("balance", result.balance)])
    return EXIT_OK


def _send(args: argparse.Namespace, ctx: Context) -> int:
    query = _query(args)
    mes = _text(args, ctx)
    with make_client(args, ctx) as client:
        if query is None:
            result = client.send_sms(
                args.phones, mes, id=args.id, sender=args.sender, time=args.time
            )
        else:
            if isinstance(query, dict):
                query.setdefault("cost", "3")
            result = client.send_sms2(
                args.phones, mes, id=args.id, sender=args.sender, time=args.time, query=query
            )
    errors = [{"phone": e.phone, "status": int(e.status)} for e in result.errors]
    if args.json:
        ctx.json(
            {
                "ok": True,
                "id": result.id,
                "cnt": result.cnt,
                "cost": result.cost,
                "balance": result.balance,
                "errors": errors,
            }
        )
    else:
        table(
            ctx,
            [
                ("id", result.id),
                ("sms parts", result.cnt),
                ("cost", result.cost),
                ("balance", result.balance),
            ],
        )
        for item in errors:
            ctx.out(f"failed    {item['phone']}  status {item['status']}")
    return EXIT_OK


def _cost(args: argparse.Namespace, ctx: Context) -> int:
    query = _query(args)
    mes = _text(args, ctx)
    with make_client(args, ctx) as client:
        if query is None:
            result = client.get_sms_cost(args.phones, mes)
        else:
            result = client.get_sms_cost2(args.phones, mes, query=query)
    if args.json:
        ctx.json({"ok": True, "cost": result.cost, "cnt": result.cnt})
    else:
        table(ctx, [("cost", result.cost), ("sms parts", result.cnt)])
    return EXIT_OK


def _status(args: argparse.Namespace, ctx: Context) -> int:
    query = _query(args)
    with make_client(args, ctx) as client:
        if query is None:
            result = client.get_status(args.id, args.phone, all=args.all)
        else:
            result = client.get_status2(args.id, args.phone, all=args.all, query=query)
    status = result.status
    data: dict[str, Any] = {
        "status": int(status),
        "status_text": getattr(status, "description", str(status)),
        "err": None if result.err is None else int(result.err),
        "last_date": result.last_date,
        "send_date": result.send_date,
        "phone": result.phone,
        "cost": result.cost,
        "sender_id": result.sender_id,
        "status_name": result.status_name,
        "message": result.message,
        "operator": result.operator,
        "region": result.region,
        "sms_cnt": result.sms_cnt,
    }
    if args.json:
        ctx.json({"ok": True, **data})
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
    _describe(parser, "Send MES to PHONES (comma-separated). With any option, send_sms2 is used.")
    parser.add_argument("phones", help="numbers, comma-separated (+ disables number correction)")
    parser.add_argument("mes", help="the text; '-' reads it from stdin")
    parser.add_argument("--id", help="message id (default: a fresh random one)")
    parser.add_argument("--sender", help="sender name")
    parser.add_argument("--time", help="send time: DDMMYYhhmm, 'DD.MM.YY hh:mm', h+N, 0<unix>")
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
        "--all", type=int, choices=[0, 1, 2], default=1, help="detail: 0, 1 (default), 2"
    )
    group = parser.add_argument_group("options")
    group.add_argument("-o", "--option", action="append", metavar="KEY=VALUE")
    group.add_argument("--query", metavar="K=V&K=V")
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
