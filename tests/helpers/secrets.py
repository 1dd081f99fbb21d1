"""Sentinel secrets: values that must never appear anywhere a test can look."""

from __future__ import annotations

SENTINEL_PSW = "S3cr3t-PSW-7f1c2a9e"
SENTINEL_KEY = "K3y-APIKEY-5d0b8e44"
