#!/usr/bin/env python3
"""Project commands that need nothing but Python 3.11.

    python3 dev.py demo      set up .venv and run the demo against the built-in emulator
    python3 dev.py test      set up .venv (and redis-server, php-soap), then ruff, mypy --strict and the whole test suite
    python3 dev.py bench     set up .venv and run the benchmarks
    python3 dev.py lint      ruff and mypy only
    python3 dev.py compile-wsdl
                             regenerate smsc_soap/_soap/compiled_spec.py from zeep's model of wsdl/smsc.wsdl

    python3 dev.py test --python python3.13
                             run the suite with another installed Python, in its own .venv-3.13

Each command creates (or reuses) the virtual environment in .venv and installs the project with its
dev extras from pyproject.toml, so a fresh clone needs no other step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


PY = venv_python(VENV)


def run(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, cwd=ROOT, check=True)


def ensure_venv(venv_dir: Path = VENV, base_python: str | None = None) -> Path:
    """Create (or reuse) ``venv_dir`` with the project and its dev extras; return its python."""
    py = venv_python(venv_dir)
    if not py.exists():
        if base_python is None:
            venv.EnvBuilder(with_pip=True).create(venv_dir)
        else:
            run(base_python, "-m", "venv", str(venv_dir))
    stamp = venv_dir / ".smsc-soap-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        run(str(py), "-m", "pip", "install", "--quiet", "-e", ".[dev]")
        stamp.write_text(digest)
    return py


def other_python_venv(base_python: str) -> Path:
    """Make a venv named after another installed interpreter's version, e.g. .venv-3.13."""
    try:
        version = subprocess.run(
            [base_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"--python: cannot run {base_python!r}: {exc}") from None
    return ensure_venv(ROOT / f".venv-{version}", base_python)


def _php_has_soap() -> bool:
    php = shutil.which("php")
    if php is None:
        return False
    modules = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
    return "soap" in modules.lower().split()


#: Real peers some tests need (never mocked): what tells they are there, and the Debian packages.
SYSTEM_TOOLS = {
    "redis-server (shared-limits tests)": (
        lambda: bool(shutil.which("redis-server")),
        ["redis-server"],
    ),
    "php with SoapServer/SoapClient (interop tests)": (_php_has_soap, ["php-cli", "php-soap"]),
}


def ensure_system_tools() -> None:
    """Make redis-server and PHP's SOAP extension available for the tests that talk to them.

    On a fresh machine they come from Debian's packages when we are root and apt-get exists. Locally
    without them those tests are skipped; under CI=true they fail instead, so CI never skips them.
    """
    missing = {
        name: packages for name, (present, packages) in SYSTEM_TOOLS.items() if not present()
    }
    if not missing:
        return
    can_install = hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")
    if can_install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        packages = [package for names in missing.values() for package in names]
        for args in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", *packages],
        ):
            print("+", " ".join(args), flush=True)
            subprocess.run(args, cwd=ROOT, check=False, env=env)
    where = "CI" if os.environ.get("CI") == "true" else "this machine"
    for name, (present, _) in SYSTEM_TOOLS.items():
        if not present():
            print(f"note: no {name} on {where}; the tests that need it will say so", flush=True)


def lint() -> None:
    run(str(PY), "-m", "ruff", "check", ".")
    run(str(PY), "-m", "ruff", "format", "--check", ".")
    run(str(PY), "-m", "mypy", "smsc_soap")


SPEC_FILE = ROOT / "smsc_soap" / "_soap" / "compiled_spec.py"


def compile_wsdl() -> None:
    """Regenerate the compiled spec from zeep's model of the cached WSDL, formatted as ruff formats it."""
    code = (
        "import sys; from smsc_soap._soap.spec import generate, render; "
        "open(sys.argv[1], 'w', encoding='utf-8').write(render(generate()))"
    )
    run(str(PY), "-c", code, str(SPEC_FILE))
    run(str(PY), "-m", "ruff", "format", "--quiet", str(SPEC_FILE))
    print(f"wrote {SPEC_FILE.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command not in {"demo", "test", "bench", "lint", "compile-wsdl"}:
        print(__doc__)
        return 0 if command in {"help", "-h", "--help"} else 2
    base_python = None
    if command == "test" and "--python" in rest:
        index = rest.index("--python")
        if index + 1 >= len(rest):
            print("--python needs an interpreter, e.g. --python python3.13", file=sys.stderr)
            return 2
        base_python = rest[index + 1]
        rest = rest[:index] + rest[index + 2 :]
    ensure_venv()
    try:
        if command == "test" and base_python is not None:
            lint()
            run(str(other_python_venv(base_python)), "-m", "pytest", *rest)
        elif command == "demo":
            run(str(PY), "-m", "smsc_soap", "demo", *rest)
        elif command == "lint":
            lint()
        elif command == "test":
            lint()
            ensure_system_tools()
            run(str(PY), "-m", "pytest", *rest)
        elif command == "bench":
            run(str(PY), "benchmarks/run.py", *rest)
        elif command == "compile-wsdl":
            compile_wsdl()
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
