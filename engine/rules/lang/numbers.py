"""Which numbers a rule may hold: the same on both backends, or refused when the ruleset is compiled.

durable_rules keeps every number as a C double: an integer past 2**53 is rounded
(`x.n == 9007199254740993` was compared with ...992), and an infinity (`1e400`, `1e308 * 10`,
`days(1e305)`) or a 400-digit integer crashed the lowering. No rule needs a number that large: an
instant is about 1.8e9 seconds, a century 3.2e9.
"""

from __future__ import annotations

import math
from typing import Any

#: The largest magnitude a double holds every whole number up to (9,007,199,254,740,992).
MAX_EXACT = 2**53


def number_problem(value: Any) -> str | None:
    """Why `value` cannot be a number in a rule, or None when it can (and when it is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and math.isnan(value):
        return "is not a number"
    if isinstance(value, float) and math.isinf(value):
        return "is past the range of a number (it reads as infinity)"
    if abs(value) > MAX_EXACT:
        return ("is beyond ±2**53 (9,007,199,254,740,992), the largest size durable_rules holds exactly: "
                "no rule needs a number that large")
    return None


def shown(value: Any) -> str:
    """A number as a message shows it: a 400-digit integer is not printed whole."""
    text = repr(value)
    return f"{text[:12]}...({len(text)} digits)" if isinstance(value, int) and len(text) > 24 else text
