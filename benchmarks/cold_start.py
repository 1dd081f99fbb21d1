"""Cold start until the first reply, ours against plain zeep, each in fresh interpreters.

Every run starts a new interpreter (its start-up is the same for both sides and is not counted: the clock
starts at the child's first line) and times, against the canned server of the per-call benchmark:

* ``import smsc_soap`` alone, and ``import`` + ``SoapSmsc()``;
* until the first reply: ``import smsc_soap``, ``SoapSmsc(...)``, ``send_sms2(...)`` returned (the WSDL
  loaded, the envelope built, posted, the reply read);
* plain zeep, the same: ``import zeep``, a requests session set like ours, ``zeep.Client(same WSDL)``,
  ``service.send_sms2(...)`` returned.

The sides alternate run by run; each figure is the median. Also the wall time of ``smsc-soap --help``,
interpreter start-up included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, Figure, at_most, below, info, interleaved, median
from per_call import NS, CannedServer

_OURS = """
import time, json, sys
t0 = time.perf_counter()
import smsc_soap
t1 = time.perf_counter()
client = smsc_soap.SoapSmsc("alex", "123", endpoint=sys.argv[1])
t2 = time.perf_counter()
result = client.send_sms2("79999999999", "Hello!", id="c1", query={"cost": 3})
t3 = time.perf_counter()
assert result.id == "c1"
client.close()
print(json.dumps([t1 - t0, t2 - t0, t3 - t0]))
"""

_ZEEP = """
import time, json, sys
t0 = time.perf_counter()
import zeep
t1 = time.perf_counter()
import requests
session = requests.Session()
session.trust_env = False
client = zeep.Client(sys.argv[2], transport=zeep.Transport(session=session))
service = client.create_service(sys.argv[3], sys.argv[1])
t2 = time.perf_counter()
result = service.send_sms2(login="alex", psw="123", phones="79999999999", mes="Hello!", id="c1",
                           sender="", time="", query="cost=3")
t3 = time.perf_counter()
assert result.id == "c1"
session.close()
print(json.dumps([t1 - t0, t2 - t0, t3 - t0]))
"""


def _wsdl_file() -> str:
    from smsc_soap._soap.wsdl import wsdl_path

    return str(wsdl_path())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSC_", "PYTHON"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _child(code: str, *args: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
    ).stdout
    values: list[float] = json.loads(out.strip().splitlines()[-1])
    return values


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("smsc-soap")
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "smsc_soap", "--help"]


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=_env(), cwd=ROOT)
    return time.perf_counter() - started


def measure(quick: bool) -> dict[str, float]:
    """Median cold-start figures of both sides, in seconds."""
    runs = 3 if quick else 21
    wsdl = _wsdl_file()
    with CannedServer() as server:
        url = server.url
        ours, plain = interleaved(
            runs,
            lambda: _child(_OURS, url),  # type: ignore[arg-type,return-value]
            lambda: _child(_ZEEP, url, wsdl, f"{{{NS}}}ServiceSoap"),  # type: ignore[arg-type,return-value]
        )
    figures = {
        "ours_import": median([r[0] for r in ours]),  # type: ignore[index]
        "ours_client": median([r[1] for r in ours]),  # type: ignore[index]
        "ours_reply": median([r[2] for r in ours]),  # type: ignore[index]
        "zeep_import": median([r[0] for r in plain]),  # type: ignore[index]
        "zeep_client": median([r[1] for r in plain]),  # type: ignore[index]
        "zeep_reply": median([r[2] for r in plain]),  # type: ignore[index]
        "runs": runs,
    }
    cli_runs = 3 if quick else 9
    figures["cli"] = median([_wall(_cli()) for _ in range(cli_runs)])
    figures["python"] = median([_wall([sys.executable, "-c", "pass"]) for _ in range(cli_runs)])
    return figures


def run(quick: bool) -> list[Figure]:
    """Measure the cold-start figures."""
    m = measure(quick)
    ms = 1000
    return [
        info("import smsc_soap", m["ours_import"] * ms, "ms", f"median of {m['runs']:g} runs"),
        info("import smsc_soap + SoapSmsc()", m["ours_client"] * ms, "ms"),
        info("import zeep + zeep.Client(same WSDL)", m["zeep_client"] * ms, "ms"),
        info("until the first reply: SoapSmsc.send_sms2", m["ours_reply"] * ms, "ms"),
        info("until the first reply: plain zeep", m["zeep_reply"] * ms, "ms"),
        at_most("  ratio first reply, ours / zeep", m["ours_reply"] / m["zeep_reply"], "x", 1.0),
        below(
            "smsc-soap --help wall time",
            m["cli"],
            "s",
            0.15,
            f"bare python -c pass: {m['python']:.3f} s",
        ),
    ]


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(figure.line())
