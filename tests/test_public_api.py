"""The public API is pinned: __all__ lists exactly the public names, and they say smsc_soap.X."""

from __future__ import annotations

import smsc_soap


def test_all_is_complete() -> None:
    """__all__ has no duplicates and equals the non-underscore names the package exposes.

    Its order is checked by ruff (RUF022).
    """
    public = {
        name
        for name in vars(smsc_soap)
        if not name.startswith("_") and type(vars(smsc_soap)[name]).__name__ != "module"
    }
    assert len(set(smsc_soap.__all__)) == len(smsc_soap.__all__)
    assert set(smsc_soap.__all__) - {"__version__"} == public


def test_public_names_report_the_package_as_module() -> None:
    """Classes and functions exported from private modules present themselves as smsc_soap.X."""
    for name in smsc_soap.__all__:
        obj = getattr(smsc_soap, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__.split(".")[0] == "smsc_soap"
            assert not obj.__module__.startswith("smsc_soap._"), name
