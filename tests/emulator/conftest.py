"""Make the smsc_soap pytest fixtures available even when the package is not installed.

Installed, the ``pytest11`` entry point registers them already; these imports then simply shadow them.
"""

from smsc_soap.pytest_plugin import smsc_client, smsc_emulator, smsc_emulator_server

__all__ = ["smsc_client", "smsc_emulator", "smsc_emulator_server"]
