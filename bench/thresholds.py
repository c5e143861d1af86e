"""Regression thresholds: how much above its baseline a measurement may be, parsed and compared.

For: turning a threshold as people write it -- ``"10%"``, ``"7.5%"``, ``"0.1"``, ``"1.5x"`` --
into a limit on the ratio current / baseline, and comparing a measurement with its baseline
against that limit.
Not for: deciding which metric gets which threshold, or measuring anything.

The comparison is done in decimal arithmetic on the shortest decimal form of each float (the
digits ``repr`` prints), not in binary floating point: 1.1 / 1.0 - 1 evaluates to
0.10000000000000009 in floats, so a value exactly 10% above its baseline would fail a 10%
threshold through rounding alone. In decimals 1.1 / 1.0 is 1.1, which the limit 1.10 admits.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from numbers import Integral, Real

# How a threshold without a unit reads: "0.1" as a fraction (10%), or "1.5" as a factor.
BARE_NUMBER_READINGS = ("fraction", "factor")

NUMBER_WITH_UNIT = re.compile(
    r"(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[%xX]?)"
)


def to_decimal(what: str, value: object) -> Decimal:
    """``value`` as a Decimal: integers exactly, floats through the digits ``repr`` prints.

    ``what`` names the value in error messages, e.g. "`--tolerance`" or "baseline of a cell".
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, Integral) and not isinstance(value, bool):
        number = Decimal(int(value))
    elif isinstance(value, Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, got {value!r}")
        number = Decimal(repr(float(value)))
    else:
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def parse_limit(
    threshold: str | float, *, name: str = "threshold", bare: str = "fraction"
) -> Decimal:
    """The largest allowed ratio current / baseline for a threshold, as a Decimal >= 1.

    ``"10%"`` and ``"0.1"`` give 1.1, ``"7.5%"`` gives 1.075 and ``"1.5x"`` gives 1.5. A
    number without a unit reads as a fraction or, with ``bare="factor"``, as a factor, so
    ``"1.5"`` gives 2.5 or 1.5. ``name`` is the option named in error messages.
    """
    if bare not in BARE_NUMBER_READINGS:
        raise ValueError(f"`bare` must be one of {', '.join(BARE_NUMBER_READINGS)}, got {bare!r}")
    if isinstance(threshold, str):
        match = NUMBER_WITH_UNIT.fullmatch(threshold.strip())
        if match is None:
            raise ValueError(
                f"`{name}` must be a percentage like 10%, a fraction like 0.1 or a factor like "
                f"1.5x, got {threshold!r}"
            )
        number, unit = Decimal(match["number"]), match["unit"].lower()
    else:
        number, unit = to_decimal(f"`{name}`", threshold), ""
        if number < 0:
            raise ValueError(f"`{name}` must not be negative, got {threshold!r}")

    if unit == "%":
        return 1 + number / 100
    if unit == "x" or bare == "factor":
        if number < 1:
            # A limit below 1 would fail a measurement identical to its baseline.
            raise ValueError(f"`{name}` must be a factor >= 1, got {threshold!r}")
        return number
    return 1 + number


def ratio(baseline: float, current: float, *, cell: str) -> Decimal:
    """current / baseline in decimals; the baseline must be positive, since 0 has no ratio."""
    base = to_decimal(f"baseline of {cell}", baseline)
    now = to_decimal(f"current value of {cell}", current)
    if base <= 0:
        raise ValueError(
            f"baseline of {cell} must be a positive number to compare a ratio with, "
            f"got {baseline!r}"
        )
    if now < 0:
        raise ValueError(f"current value of {cell} must not be negative, got {current!r}")
    return now / base


def exceeds(baseline: float, current: float, limit: Decimal, *, cell: str) -> bool:
    """Whether current / baseline is above ``limit``; a ratio equal to the limit passes."""
    return ratio(baseline, current, cell=cell) > limit


def falls_below(baseline: float, current: float, limit: Decimal, *, cell: str) -> bool:
    """Whether current / baseline is below 1 / ``limit``: the mirror image of ``exceeds``."""
    return ratio(baseline, current, cell=cell) * limit < 1


def percent(limit: Decimal) -> str:
    """A limit as the percentage people write: 1.075 -> "7.5%"."""
    return f"{(limit - 1) * 100:f}".rstrip("0").rstrip(".") + "%"
