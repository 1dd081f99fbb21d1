"""Helpers the tests import: fakes for time, raw servers, both clients behind one interface, secrets.

Fixtures live in the ``conftest.py`` files; everything a test module imports by name lives here.
"""
