"""The public API is pinned: __all__ lists exactly the public names, and they say smsc_soap.X."""

from __future__ import annotations

import subprocess
import sys

import pytest

import smsc_soap


def test_all_is_complete() -> None:
    """__all__ has no duplicates and names exactly what the package resolves lazily.

    Its order is checked by ruff (RUF022).
    """
    assert len(set(smsc_soap.__all__)) == len(smsc_soap.__all__)
    assert set(smsc_soap.__all__) == set(smsc_soap._PUBLIC) | {"__version__"}
    for name in smsc_soap.__all__:
        assert getattr(smsc_soap, name) is not None
    assert set(smsc_soap.__all__) <= set(dir(smsc_soap))


def test_unknown_name_is_an_attribute_error() -> None:
    """A name the package does not export raises AttributeError."""
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        smsc_soap.Nope  # noqa: B018


def test_public_names_report_the_package_as_module() -> None:
    """Classes and functions exported from private modules present themselves as smsc_soap.X."""
    for name in smsc_soap.__all__:
        obj = getattr(smsc_soap, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__.split(".")[0] == "smsc_soap"
            assert not obj.__module__.startswith("smsc_soap._"), name


def test_import_is_light() -> None:
    """Importing the package loads neither zeep, requests nor lxml until a name needs them."""
    code = "import sys, smsc_soap; print(sorted(m for m in ('zeep', 'requests', 'lxml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_type_checking_imports_match_the_table() -> None:
    """The imports that type checkers read name exactly the table's names, from the table's modules."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(smsc_soap.__file__).read_text(encoding="utf-8"))
    seen: dict[str, str] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 1
            and node.module not in (None, "_version")
        ):
            for alias in node.names:
                assert alias.asname == alias.name, alias.name
                seen[alias.name] = "." + str(node.module)
    assert seen == smsc_soap._PUBLIC


@pytest.mark.parametrize("name", ["php_parse_str", "encode_list", "format_tz", "wsdl_path"])
def test_internal_names_moved_with_a_warning(name: str) -> None:
    """Internals left the top level: still importable for a release, with a warning naming the new home."""
    import smsc_soap.lowlevel

    assert name not in smsc_soap.__all__
    with pytest.warns(DeprecationWarning, match="smsc_soap.lowlevel"):
        value = getattr(smsc_soap, name)
    assert value is getattr(smsc_soap.lowlevel, name)


def test_credentials_repr_names_itself() -> None:
    """A Credentials object presents itself as Credentials, never as the client, and hides secrets."""
    from smsc_soap._client.settings import Credentials

    broken = Credentials.__new__(Credentials)
    assert repr(broken) == "Credentials()"
