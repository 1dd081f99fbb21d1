"""``smsc-soap settle JOURNAL --out rows.csv``: the final delivery of every row of a finished bulk run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .common import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_USAGE,
    Context,
    add_connection_arguments,
    make_client,
    run_command,
    table,
)

__all__ = ["SPECS"]


def add_settle(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``settle``."""
    parser.description = (
        "Write one CSV line per row and number of a finished bulk run (its --journal): phone, "
        "message id, status, its meaning, the delivery error, and whether it is final. Statuses "
        "are asked with get_status, at most once per 12 s per number (5 per minute)."
    )
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("journal", type=Path, help="the SQLite journal of the bulk run")
    parser.add_argument("--out", "-o", type=Path, required=True, help="the CSV file to write")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep asking for rows still in flight until they are final or SECONDS pass (default 0)",
    )
    add_connection_arguments(parser)


def _settle(args: argparse.Namespace, ctx: Context) -> int:
    from .._bulk.journal import JournalError
    from .._bulk.settle import settle_bulk

    if args.wait < 0:
        ctx.err("smsc-soap: error: --wait must be 0 or more seconds")
        return EXIT_USAGE
    try:
        with make_client(args, ctx) as client:
            summary = settle_bulk(client, args.journal, args.out, wait=args.wait)
    except JournalError as error:
        ctx.err(f"smsc-soap: error: {error}")
        return EXIT_USAGE
    data = {
        "rows": summary.rows,
        "delivered": summary.delivered,
        "failed": summary.failed,
        "in_flight": summary.unsettled,
        "status_requests": summary.polls,
        "stopped_by": summary.stopped_by,
        "csv": str(args.out),
    }
    if args.json:
        ctx.json({"ok": True, **data})
    else:
        table(ctx, [(key.replace("_", " "), value) for key, value in data.items()])
    return EXIT_OK


def run_settle(args: argparse.Namespace) -> int:
    """Run ``settle``."""
    return run_command(args, _settle)


#: (name, help, add_arguments, run) of each command, for the table in ``cli.py``.
SPECS: list[
    tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = [
    (
        "settle",
        "write a finished bulk run's final delivery per row to a CSV",
        add_settle,
        run_settle,
    ),
]
