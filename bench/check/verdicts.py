"""The rows of the gate's verdict table and the words their verdicts are made of.

For: ``Row``, the verdict words, and the verdict of a ratio under a tolerance.
Not for: what a row compares (``bench.check.compare``) or printing the table
(``bench.commands.check``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

OK = "ok"
FAIL = "FAIL"
NEW = "new"
FASTER = "faster"
WARNING = "warning"
NOT_MEASURED = "not measured"
RECORDED = "recorded"
REMEASURED = " (re-measured)"

# The metrics of layers 3 and 4, named alike in compared and in recorded rows.
TIME_METRIC = "time / forward"
INSTRUCTIONS_METRIC = "instructions / gradient"


@dataclass(frozen=True)
class Row:
    """One line of the verdict table."""

    layer: str
    cell: str
    metric: str
    baseline: object
    now: object
    ratio: float | None
    verdict: str

    @property
    def failed(self) -> bool:
        return self.verdict.startswith(FAIL)


def limit_verdict(ratio: Decimal, tolerance: Decimal) -> str:
    """FAIL above ``tolerance``, faster below its inverse, ok in between (current / baseline)."""
    if ratio > tolerance:
        return FAIL
    if ratio * tolerance < 1:
        return FASTER  # not a failure; a baseline update records the gain
    return OK


def exit_code_of(rows: Sequence[Row]) -> int:
    """1 when any row failed, else 0."""
    return 1 if any(row.failed for row in rows) else 0
