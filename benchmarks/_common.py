"""Shared pieces of the benchmarks: figures with targets, medians, and loopback-only guards."""

from __future__ import annotations

import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run from a source checkout without installing: the package next to this folder wins.
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target (if any) and whether the target was met."""

    name: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None
    note: str = ""

    def line(self) -> str:
        """The figure as one aligned report line."""
        verdict = "" if self.passed is None else ("PASS" if self.passed else "MISS")
        value = f"{self.value:,.3f}" if abs(self.value) < 100 else f"{self.value:,.0f}"
        text = f"  {self.name:<52} {value:>12} {self.unit:<8} {self.target:<14} {verdict}"
        return text + (f"  ({self.note})" if self.note else "")

    def row(self) -> str:
        """The figure as one Markdown table row: figure | value | target | verdict | note."""
        verdict = "" if self.passed is None else ("pass" if self.passed else "**MISS**")
        value = f"{self.value:,.3f}" if abs(self.value) < 100 else f"{self.value:,.0f}"
        name = self.name.strip()
        if self.name.startswith("  "):
            name = "… " + name
        target = self.target if self.passed is not None else ""
        row = f"| {name} | {value} {self.unit} | {target} | {verdict} | {self.note} |"
        return re.sub(r"<(?=[A-Za-z/])", "&lt;", row)  # <error> is text, not an HTML tag


def at_most(name: str, value: float, unit: str, limit: float, note: str = "") -> Figure:
    """A figure that passes when ``value <= limit``."""
    return Figure(name, value, unit, f"<= {limit:g}", value <= limit, note)


def below(name: str, value: float, unit: str, limit: float, note: str = "") -> Figure:
    """A figure that passes when ``value < limit``."""
    return Figure(name, value, unit, f"< {limit:g}", value < limit, note)


def at_least(name: str, value: float, unit: str, limit: float, note: str = "") -> Figure:
    """A figure that passes when ``value >= limit``."""
    return Figure(name, value, unit, f">= {limit:g}", value >= limit, note)


def info(name: str, value: float, unit: str, note: str = "") -> Figure:
    """A figure reported without a target."""
    return Figure(name, value, unit, "(report)", None, note)


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values)


def interleaved(runs: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure ``runs`` times, alternating between them so drift hits all alike."""
    results: list[list[float]] = [[] for _ in measures]
    for _ in range(runs):
        for index, measure in enumerate(measures):
            results[index].append(measure())
    return results
