"""A parameter value a deadline or count cannot use is refused where it is written (ruleset
default, practice.yaml, `params set`), not by every evaluation from the day it takes effect: an
infinite or astronomically large number of hours had been stored and then crashed them all."""

from __future__ import annotations

import math

import pytest

from engine.rules.spec import IMPLICIT_MAXIMUM, MAX_NUMBER, ParamSpec, check_param_value


def spec(unit: str | None = "hours", maximum: float | None = None, type_: str = "number") -> ParamSpec:
    return ParamSpec(type=type_, default=1, unit=unit, description="d", maximum=maximum)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_value_that_is_not_finite_is_refused(value: float) -> None:
    with pytest.raises(ValueError, match="give a finite value"):
        check_param_value(spec(), value)


@pytest.mark.parametrize(("unit", "longest"), sorted(IMPLICIT_MAXIMUM.items()))
def test_a_period_longer_than_a_century_is_refused_and_a_century_is_not(unit: str, longest: int) -> None:
    assert check_param_value(spec(unit, type_="int"), longest) == longest
    with pytest.raises(ValueError, match=f"above the largest value allowed, {longest}.*longer than a century"):
        check_param_value(spec(unit, type_="int"), longest + 1)


def test_a_declared_maximum_wins_and_other_units_stop_at_the_largest_exact_number() -> None:
    with pytest.raises(ValueError, match=r"above the largest value allowed, 48 \(hours\)$"):
        check_param_value(spec(maximum=48), 49)
    assert check_param_value(spec("patients", type_="int"), MAX_NUMBER) == MAX_NUMBER
    with pytest.raises(ValueError, match="above the largest value allowed"):
        check_param_value(spec("patients", type_="int"), 123456789012345678901234567890)
    with pytest.raises(ValueError, match="below the smallest value allowed"):
        check_param_value(spec(None), -(MAX_NUMBER + 1))
