"""``smsc-soap wsdl show | check``: print the cached contract, or compare it with the live one.

``check`` is the only command that downloads anything from an outside host, and only when run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .common import (
    EXIT_CODES_HELP,
    EXIT_DRIFT,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_TRANSPORT,
    EXIT_USAGE,
    Context,
    report_error,
)

__all__ = ["SPECS"]


def add_wsdl(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``wsdl`` and its ``show`` and ``check`` actions."""
    parser.description = (
        "Show the cached WSDL contract, or check the live one against it (exit 10 on drift)."
    )
    parser.epilog = EXIT_CODES_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="wsdl_action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the cached contract")
    show.add_argument(
        "--host", default="smsc.ru", help="show it in this site's namespace (default smsc.ru)"
    )
    show.add_argument("--xml", action="store_true", help="print the WSDL text itself")
    show.add_argument("--json", action="store_true", help="print JSON")
    check = actions.add_parser(
        "check",
        help="download the live WSDL and report every structural difference",
        description="Download https://HOST/sys/soap.php?wsdl (or --url; or read --file) and compare it with the "
        "cached contract: operations, elements, order, minOccurs/maxOccurs, types, namespace, "
        "address and SOAPAction. Our documented local additions (apikey; optional login/psw) are "
        "listed apart and are not drift. Exit 0: no drift; 10: drift; 6: download failed; "
        "7: not a readable WSDL.",
    )
    where = check.add_mutually_exclusive_group()
    where.add_argument("--host", help="SMSC site whose WSDL to check (default smsc.ru)")
    where.add_argument(
        "--url", help="any WSDL URL (a proxy or mirror); the site's address is still expected"
    )
    where.add_argument(
        "--file",
        metavar="PATH",
        help="a saved WSDL (e.g. a CI artifact) instead of downloading one; no network",
    )
    check.add_argument(
        "--namespace-host",
        metavar="HOST",
        help="with --url or --file: the site whose contract to expect (default smsc.ru)",
    )
    check.add_argument(
        "--expect-address",
        metavar="URL",
        help="the soap:address to expect instead of the site's endpoint (e.g. a local emulator's)",
    )
    check.add_argument(
        "--timeout", type=float, default=15.0, metavar="SECONDS", help="seconds (default 15)"
    )
    check.add_argument(
        "--max-bytes",
        type=int,
        default=2 * 1024 * 1024,
        metavar="BYTES",
        help="size cap (default 2 MiB)",
    )
    check.add_argument("--json", action="store_true", help="print JSON")


def run_wsdl(args: argparse.Namespace) -> int:
    """Run ``wsdl show`` or ``wsdl check``."""
    ctx = Context.of(args)
    try:
        if args.wsdl_action == "show":
            return _show(args, ctx)
        return _check(args, ctx)
    except KeyboardInterrupt:
        ctx.err("smsc-soap: interrupted")
        return 130


def _host(name: str, ctx: Context) -> Any:
    from .._hosts import HOSTS

    host = HOSTS.get(name)
    if host is None:
        ctx.err(f"smsc-soap: error: unknown host {name!r}; choose one of {', '.join(HOSTS)}")
    return host


def _show(args: argparse.Namespace, ctx: Context) -> int:
    from .._soap.wsdl import wsdl_text
    from .._soap.wsdl_diff import LOCAL_ADDITIONS, REQUEST_ELEMENTS, capabilities, parse_contract

    host = _host(args.host, ctx)
    if host is None:
        return EXIT_USAGE
    text = wsdl_text(host.namespace, address=host.endpoint)
    if args.xml:
        ctx.stdout.write(text)
        return EXIT_OK
    contract = parse_contract(text)
    if args.json:
        return ctx.result(
            EXIT_OK,
            {
                **contract.to_dict(),
                "local_additions": list(LOCAL_ADDITIONS),
                "capabilities": capabilities(contract).to_dict(),
            },
        )
    ctx.out(f"namespace   {contract.namespace}")
    ctx.out(f"address     {contract.address}")
    ctx.out(
        f"binding     SOAP {', '.join(contract.soap_versions)}, {contract.binding_style}/literal, "
        f"service {contract.service}, port {contract.port}"
    )
    ctx.out(f"elements    {contract.element_form} local elements; every value xs:string")
    ctx.out("")
    for op in contract.operations:
        action = contract.namespace if op.soap_action == "tns:" else op.soap_action
        ctx.out(f"{op.name}  (SOAPAction {action})")
        for direction, element in (("in ", op.input), ("out", op.output)):
            name = (element or "").removeprefix("tns:")
            children = contract.elements.get(name, ())
            if isinstance(children, str):
                ctx.out(f"  {direction} {name}: {children}")
                continue
            ctx.out(f"  {direction} {name}")
            for child in children:
                note = ""
                if name in REQUEST_ELEMENTS and child.name == "apikey":
                    note = "   (local addition)"
                elif name in REQUEST_ELEMENTS and child.name in ("login", "psw"):
                    note = "   (optional: local addition)"
                ctx.out(f"      {child.describe()}{note}")
                nested = contract.types.get(child.type.removeprefix("tns:"))
                for grandchild in nested or ():
                    ctx.out(f"          {grandchild.describe()}")
    ctx.out("")
    ctx.out("local additions (not in SMSC's generated WSDL): " + "; ".join(LOCAL_ADDITIONS))
    ctx.out("")
    for line in capabilities(contract).describe():
        ctx.out(f"capability  {line}")
    return EXIT_OK


def _check(args: argparse.Namespace, ctx: Context) -> int:
    from .._exceptions import SmscValidationError
    from ..contract import ContractUnreachableError, ContractUnreadableError, check_contract

    host_name = args.host or args.namespace_host or "smsc.ru"
    host = _host(host_name, ctx)
    if host is None:
        return EXIT_USAGE
    url = None if args.file else args.url or host.endpoint + "?wsdl"
    try:
        report = check_contract(
            url,
            host=host.name,
            against=args.file,
            expect_address=args.expect_address,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
        )
    except SmscValidationError as exc:
        return report_error(ctx, args, exc)
    except (ContractUnreachableError, ContractUnreadableError) as exc:
        code = EXIT_TRANSPORT if isinstance(exc, ContractUnreachableError) else EXIT_PROTOCOL
        if args.json:
            ctx.json(
                {
                    "ok": False,
                    "exit_code": code,
                    "url": url,
                    "file": args.file,
                    "host": host.name,
                    "error": {"type": type(exc).__name__, "message": str(exc)},
                }
            )
        ctx.err(f"smsc-soap: error: {exc}")
        return code
    code = EXIT_DRIFT if not report.ok else EXIT_OK
    if args.json:
        return ctx.result(
            code, {**report.to_dict(), "url": url, "file": args.file, "has_drift": not report.ok}
        )
    else:
        ctx.out(report.describe())
    return code


#: (name, help, add_arguments, run), for the table in ``cli.py``.
SPECS: list[
    tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = [
    ("wsdl", "show the cached WSDL contract, or check the live one for drift", add_wsdl, run_wsdl),
]
