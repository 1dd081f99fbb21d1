"""Tests of SendOptions, recipients, time helpers and list messages (issue 4)."""
