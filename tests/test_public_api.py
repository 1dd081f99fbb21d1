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
    assert set(smsc_soap.__all__) == set(smsc_soap._LOCATIONS) | {"__version__"}
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
