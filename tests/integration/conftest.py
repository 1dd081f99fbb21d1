"""Every emulator test here runs against both reply contracts of the emulator.

``published``: replies as a server built from the published WSDL writes them. ``documented``: also what the
SOAP page documents beyond it (``sms_cnt``, per-number ``op=1`` data), children our cached WSDL does not
declare. The client must read both alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from smsc_soap.pytest_plugin import _options


@pytest.fixture(params=["published", "documented"])
def smsc_emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The test's ``smsc_emulator`` marker options, with ``documented_fields`` in the second run."""
    marker = request.node.get_closest_marker("smsc_emulator")
    options = dict(marker.kwargs) if marker is not None else {}
    if request.param == "documented":
        options.setdefault("documented_fields", True)
    _options(options)
    return options
