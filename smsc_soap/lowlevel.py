"""Low-level helpers of SMSC's wire format, for tools that build or inspect requests themselves.

Most code never needs these: :class:`smsc_soap.SoapSmsc` encodes everything. They lived at the top level
of :mod:`smsc_soap` before 0.2 and are importable from there until the next release, with a warning.
"""

from __future__ import annotations

from ._params.listmsg import encode_list
from ._params.query import php_parse_str
from ._params.timefmt import format_tz
from ._soap.wsdl import wsdl_path

__all__ = ["encode_list", "format_tz", "php_parse_str", "wsdl_path"]
