"""One judged claim, and the words its verdict is given in.

For: the record a claim's judgement produces (``Claim``), the three verdicts and the mark of a
claim that could not be measured, ``combine``, which joins the verdicts of a claim's parts, and
``not_run``, the claim whose experiment did not run.
Not for: the rules (``bench.claims.rules``) or judging a claim (one module per claim).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.claims.rules import RULES
from bench.fits import UNDECIDED

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
NOT_MEASURED = "not measured"
VERDICTS = (HOLDS, DOES_NOT_HOLD, UNDECIDED)


@dataclass(frozen=True)
class Claim:
    """One claim judged: what was tested, on what, the figure found and the verdict."""

    number: int
    title: str
    statement: str
    configuration: str
    measured: str  # the figure with its interval
    verdict: str  # one of VERDICTS
    conditions: str  # under which conditions the verdict holds, or why it is undecided
    conclusion: str  # the verdict in plain words
    values: dict = field(default_factory=dict, compare=False)

    @property
    def rule(self) -> str:
        return RULES[self.number]

    @property
    def not_measured(self) -> bool:
        return self.conditions.startswith(NOT_MEASURED)


def combine(verdicts: Iterable[str]) -> str:
    """One verdict from several parts: any refutation wins, then any doubt."""
    verdicts = list(verdicts)
    if DOES_NOT_HOLD in verdicts:
        return DOES_NOT_HOLD
    if verdicts and all(verdict == HOLDS for verdict in verdicts):
        return HOLDS
    return UNDECIDED


def not_run(number: int, title: str, statement: str, experiment: str) -> Claim:
    """Claim ``number``, undecided because ``experiment``, which it is judged on, did not run."""
    reason = f"{NOT_MEASURED}: {experiment} did not run"
    return Claim(number, title, statement, "-", NOT_MEASURED, UNDECIDED, reason, "Not measured.")
