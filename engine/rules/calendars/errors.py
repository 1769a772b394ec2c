"""Errors raised by the calendar service (X-CAL-002).

    RulesetValidationError
    ├── UnknownCalendarError     a rule, parameter or establishment names a calendar no policy defines
    ├── HolidayPolicyError       policies/holidays.yaml is well-formed YAML but describes bad calendars
    └── DeadlineSpecError        a deadline asks for a unit/convention pairing the service cannot honour
    RulesetSyntaxError
    └── HolidayPolicySyntaxError policies/holidays.yaml is not YAML
    InputError
    └── UnknownTimeZoneError     an establishment's IANA zone does not exist

All of them are 422 / exit 2: the fix is in a policy file, a ruleset or an establishment record, never
in the engine. Naive datetimes are refused with `ValueError` instead (through `engine.clock.ensure_utc`):
an instant without an offset is a programming error inside Vigil, because importers attach zones.
"""

from __future__ import annotations

from engine.errors import InputError, RulesetSyntaxError, RulesetValidationError


class UnknownCalendarError(RulesetValidationError):
    code = "ruleset.calendar.unknown"


class HolidayPolicyError(RulesetValidationError):
    code = "ruleset.calendar.policy"


class HolidayPolicySyntaxError(RulesetSyntaxError):
    code = "ruleset.calendar.policy_syntax"


class DeadlineSpecError(RulesetValidationError):
    code = "ruleset.calendar.deadline"


class UnknownTimeZoneError(InputError):
    code = "input.unknown_time_zone"
