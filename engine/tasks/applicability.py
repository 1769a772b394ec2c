"""Where a recurring SOP applies: the named tests an SOP's `recurrence.only_where` may give.

A yearly OSHA filing series opened its task at every establishment, the partially exempt ones
included, whose own 300A report said "no 300A row": four site leads were sent to post and file
summaries the law does not ask of them. Each test here answers for one establishment and one period
with the rules' own reading (OSHA's scope is `determine_scope`, with the parameters of the osha
ruleset in force), so the task list and the findings never disagree about who must file. Likewise the
Colorado AI Act's yearly impact assessment opened at sites in New York and Hawaii: a state's duty
opens where the establishment record says the site is in that state. When the records cannot tell
(no headcount yet, no state), the task opens: a duty missed is worse than one checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

#: The period's filing covers the calendar year before the period starts (the 300A posted from
#: 1 February and submitted by 2 March is the previous year's).
_COVERS_PREVIOUS_YEAR = 1


@dataclass
class Applicability:
    """One run of the recurrence job's view of the practice: records and parameters read once."""

    session: Session
    org_id: str
    as_of: dt.datetime
    _establishments: list[Any] | None = None
    _params: dict[str, Any] | None = None
    _scopes: dict[tuple[str, int], Any] = field(default_factory=dict)

    def applies(self, test: str | None, establishment_id: str | None, period_start: dt.date) -> bool:
        """Whether a series with `only_where: test` has a task at `establishment_id` this period."""
        if test is None or establishment_id is None:
            return True
        return TESTS[test](self, establishment_id, period_start)

    def establishments(self) -> list[Any]:
        """The org's establishment records (newest versions), read once per run."""
        if self._establishments is None:
            from engine.reports.context import read

            self._establishments = read(self.session, org_id=self.org_id, record_type="establishment",
                                        known_at=None)
        return self._establishments

    def establishment(self, establishment_id: str) -> Any:
        """One establishment record, or None when the org has no record of that id."""
        return next((e for e in self.establishments() if e.id == establishment_id), None)

    def osha_scope(self, establishment_id: str, period_start: dt.date) -> Any:
        """`determine_scope` of the establishment for the year the period's filing covers (None when
        the establishment has no record)."""
        year = period_start.year - _COVERS_PREVIOUS_YEAR
        key = (establishment_id, year)
        if key not in self._scopes:
            from engine.reports.context import ruleset_params
            from engine.rules.derive.osha import determine_scope

            if self._params is None:
                self._params = ruleset_params("osha", self.as_of, [])
            est = self.establishment(establishment_id)
            self._scopes[key] = None if est is None else determine_scope(est, self.establishments(), year,
                                                                         self._params)
        return self._scopes[key]


def _records_required(view: Applicability, establishment_id: str, period_start: dt.date) -> bool:
    scope = view.osha_scope(establishment_id, period_start)
    return scope is None or scope.records_required is not False


def _ita_required(view: Applicability, establishment_id: str, period_start: dt.date) -> bool:
    scope = view.osha_scope(establishment_id, period_start)
    return scope is None or (scope.records_required is not False and scope.ita_required is not False)


def _in_colorado(view: Applicability, establishment_id: str, period_start: dt.date) -> bool:
    est = view.establishment(establishment_id)
    state = None if est is None else est.data.get("state")
    return state is None or str(state).upper() == "CO"


#: The tests by the name an SOP gives (`Recurrence.only_where` lists the same names).
TESTS: dict[str, Callable[[Applicability, str, dt.date], bool]] = {
    "osha_records_required": _records_required,  # Part 1904 records kept for the year (1904.1, 1904.2)
    "osha_ita_required": _ita_required,  # and the 300A submitted electronically (1904.41)
    "in_colorado": _in_colorado,  # the establishment's state is CO (the Colorado AI Act, C.R.S. 6-1-1703)
}
