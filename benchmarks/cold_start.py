"""Cold start: import + client construction against plain zeep, each in fresh interpreters.

Two figures per side, both timed inside a fresh subprocess (interpreter start-up excluded, it is the
same for both): "import + client" as a user writes it, and "ready" -- until the first envelope is
serialised, which for smsc_soap includes the (lazy) WSDL load that zeep does in its constructor. Also the
wall time of ``smsc-soap --help``, interpreter start-up included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, Figure, at_most, below, info, interleaved, median

_OURS = """
import time, json
t0 = time.perf_counter()
import smsc_soap
client = smsc_soap.SoapSmsc("alex", "123", endpoint="http://127.0.0.1:9/sys/soap.php")
t1 = time.perf_counter()
client._protocol.build("send_sms", {"phones": "79999999999", "mes": "hi", "id": "1"},
                       {"login": "alex", "psw": "123"})
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t0]))
"""

_ZEEP = """
import time, json
t0 = time.perf_counter()
import zeep
from smsc_soap._soap.wsdl import wsdl_path
path = str(wsdl_path())
t0 += 0  # locating the file is not zeep's cost, but importing smsc_soap._soap.wsdl is; subtract it below
ta = time.perf_counter()
client = zeep.Client(path)
service = client.create_service(
    "{https://smsc.ru/sys/soap.php}ServiceSoap", "http://127.0.0.1:9/sys/soap.php")
t1 = time.perf_counter()
client.create_message(service, "send_sms", login="alex", psw="123", phones="79999999999",
                      mes="hi", id="1", sender="", time="")
t2 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t0]))
"""


def _wsdl_file() -> str:
    sys.path.insert(0, str(ROOT))
    from smsc_soap._soap.wsdl import wsdl_path

    return str(wsdl_path())


def _child(code: str) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSC_", "PYTHON"))}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=ROOT
    ).stdout
    values: list[float] = json.loads(out.strip().splitlines()[-1])
    return values


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("smsc-soap")
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "smsc_soap", "--help"]


def _wall(command: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSC_")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


def run(quick: bool) -> list[Figure]:
    """Measure the cold-start figures."""
    runs = 3 if quick else 9
    # The plain-zeep child imports the path helper from our package to find the same WSDL file; use a
    # literal path instead so that no smsc_soap import is charged to zeep.
    zeep_code = _ZEEP.replace(
        "from smsc_soap._soap.wsdl import wsdl_path\npath = str(wsdl_path())",
        f"path = {_wsdl_file()!r}",
    )
    ours, plain = interleaved(runs, lambda: _child(_OURS), lambda: _child(zeep_code))  # type: ignore[arg-type,return-value]
    ours_build = median([r[0] for r in ours])  # type: ignore[index]
    ours_ready = median([r[1] for r in ours])  # type: ignore[index]
    zeep_build = median([r[0] for r in plain])  # type: ignore[index]
    zeep_ready = median([r[1] for r in plain])  # type: ignore[index]
    cli = median([_wall(_cli()) for _ in range(runs)])
    python = median([_wall([sys.executable, "-c", "pass"]) for _ in range(runs)])
    return [
        info("import + SoapSmsc()", ours_build * 1000, "ms", f"median of {runs}"),
        info("import zeep + zeep.Client(same WSDL)", zeep_build * 1000, "ms"),
        at_most("  ratio import + client, ours / zeep", ours_build / zeep_build, "x", 1.10),
        info("ready: + first envelope built (WSDL loaded)", ours_ready * 1000, "ms"),
        info("ready: zeep + first envelope built", zeep_ready * 1000, "ms"),
        at_most("  ratio ready, ours / zeep", ours_ready / zeep_ready, "x", 1.10),
        below("smsc-soap --help wall time", cli, "s", 0.15, f"bare python -c pass: {python:.3f} s"),
    ]
