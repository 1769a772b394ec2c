"""Derivations: set-wise work done before matching (snooping flags, breach clocks, OSHA scope,
measure rates, credential validity on a date). Each derivation is a pure function registered by
name that reads records of declared types and yields derived facts of one declared type, so the
compiler can reject a rule that matches a fact nothing produces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from engine.registry import Registry
from engine.rules.facttypes import FieldKind
from engine.rules.param_history import NO_HISTORY, ParamHistory


class RecordView:
    """A stored record as the rules see it: type, id, version and its JSON fields.

    Read-only by contract (the fields are `Final` to the type checker), but a plain slotted class
    rather than a frozen dataclass: one is made for every record a sweep reads (two million at 1x,
    twenty at 10x), and a frozen dataclass sets each field through `object.__setattr__`, which
    made it cost 1.9 us to the plain class's 0.5 (measured here; 7.8% of a 1x sweep's own process
    was that `__init__`). Equal when type, id, version and data are (not `memo`); unhashable, as
    its data is.
    """

    __slots__ = ("type", "id", "version", "data", "memo")

    type: Final[str]
    id: Final[str]
    version: Final[int]
    data: Final[Mapping[str, Any]]
    memo: dict[Any, Any] | None

    def __init__(self, type: str, id: str, version: int, data: Mapping[str, Any],
                 memo: dict[Any, Any] | None = None) -> None:
        self.type = type
        self.id = id
        self.version = version
        self.data = data
        self.memo = memo

    def __eq__(self, other: object) -> bool:
        if type(other) is not RecordView:
            return NotImplemented
        return (self.type, self.id, self.version, self.data) == (other.type, other.id, other.version, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecordView(type={self.type!r}, id={self.id!r}, version={self.version!r}, data={self.data!r})"

    def replace(self, **changes: Any) -> RecordView:
        """A copy with some fields changed (`dataclasses.replace` for this plain class)."""
        fields: dict[str, Any] = {"type": self.type, "id": self.id, "version": self.version, "data": self.data}
        return RecordView(**(fields | changes))

    def scratch(self) -> dict[Any, Any]:
        """Scratch space the derivations of one run share for this record (created on first use):
        four derivations read each access event and each parsed its instant and resolved its
        account (see shared_scan). Two threads racing here only compute a value twice."""
        if self.memo is None:
            self.memo = {}
        return self.memo


#: The key of a derived fact's data (and of a deadline's) holding the parameter values it used that are
#: not the evaluation day's: the finding's message reads them as `params` (engine.rules.results).
PARAMS_USED: Final = "params_used"


@dataclass
class DerivedFact:
    """One fact a derivation produced, with the records it was computed from (its evidence)."""

    type: str
    id: str
    data: dict[str, Any]
    sources: list[tuple[str, str, int]]
    bundle_key: str


@dataclass
class DeriveContext:
    """What a derivation may know besides its input records: the evaluation instant, parameter
    values, time zones and the calendar service."""

    as_of: dt.datetime
    params: Mapping[str, Any]
    tz_of: Callable[[RecordView], str]
    establishments: Mapping[str, RecordView]
    organization: RecordView | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the values of the parameters the practice changed over time (see `param_on`)
    history: ParamHistory = NO_HISTORY

    def param(self, name: str, default: Any) -> Any:
        """The value in force at the evaluation's instant: for what is judged about the present."""
        return self.params.get(name, default)

    def param_on(self, name: str, day: dt.date, default: Any) -> Any:
        """The value in force on `day`, the local date an obligation arose: a window counted from an
        anchor keeps the value the practice had then, though it has changed since."""
        return self.history.value_on(name, day, self.param(name, default))

    def param_at(self, name: str, view: RecordView, when: dt.datetime | dt.date, default: Any) -> Any:
        """`param_on` the local day `when` falls on at `view`'s establishment, the day worked out only
        for a parameter that has a history (a zone conversion per record is not free on a large log)."""
        if name not in self.history.steps:
            return self.param(name, default)
        return self.param_on(name, self.day_of(view, when), default)

    def used(self, values: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
        """`{PARAMS_USED: {name: value}}` for a derived fact, naming each value used that is not
        today's (`values`: name -> (the value used, the default)), else `{}`: a rule's message that
        prints `params.NAME` then prints the value its due was counted with (`results`)."""
        differ = {name: used for name, (used, default) in values.items() if used != self.param(name, default)}
        return {PARAMS_USED: differ} if differ else {}

    def then_said(self, name: str, used: Any, default: Any) -> str:
        """`, in force then; 4 since 2026-12-07`: said after a parameter's name in a basis when the
        value used is not today's, so the officer sees why the window is not the one set now."""
        now = self.param(name, default)
        if used == now:
            return ""
        since = max((start for start, value in self.history.steps.get(name, ()) if value == now), default=None)
        return f", in force then; {now!r} since {since}" if since else f", in force then; {now!r} now"

    def day_of(self, view: RecordView, when: dt.datetime | dt.date) -> dt.date:
        """The local date of `when` at `view`'s establishment: the day an obligation arose there."""
        if isinstance(when, dt.datetime):
            from engine.rules.calendars.arithmetic import local_date

            return local_date(when, self.tz_of(view))
        return when


DeriveFn = Callable[[DeriveContext, Mapping[str, Iterable[RecordView]]], Iterator[DerivedFact]]


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: inputs, output fact type and its fields, and the bundle family its
    facts join (`reference` facts are copied into every bundle)."""

    name: str
    inputs: tuple[str, ...]
    output: str
    fields: Mapping[str, FieldKind]
    fn: DeriveFn
    family: str
    reference: bool = False
    event: bool = False
    doc: str = ""
    example: str = ""
    #: Runs in the derive process on a large practice (see shared_scan.start_derivations): costly
    #: per streamed record, or moved there to even out the two processes (the screenings' readers);
    #: its results do not depend on where it runs.
    heavy: bool = False
    #: The record a finding about one of its facts names as its subject: (record type, the fact's
    #: field holding that record's id; "id" for a view of one record under the same id, such as an
    #: AI output with what its tool, reviewer and site say about it). A clinician's license standing
    #: in one state is about the person: ("person", "person_id"), the state then being part of the
    #: finding's occurrence. None: the fact itself (a register entry from the practice's policies).
    about: tuple[str, str] | None = None

    @property
    def attaches_to_event(self) -> bool:
        """Its facts each belong to one event of its event family (`bundle_key` = that event's fact
        id) and are evaluated in that event's chunk, e.g. snooping alerts."""
        return self.family.startswith("event:") and not self.event and not self.reference


DERIVATIONS: Registry[Derivation] = Registry("derivation")


def derivation(
    *, name: str, inputs: tuple[str, ...], output: str, fields: Mapping[str, FieldKind], family: str,
    reference: bool = False, event: bool = False, example: str = "", heavy: bool = False,
    about: tuple[str, str] | None = None,
) -> Callable[[DeriveFn], DeriveFn]:
    """Register a derivation function (decorator)."""

    def wrap(fn: DeriveFn) -> DeriveFn:
        DERIVATIONS.add(name, Derivation(name=name, inputs=inputs, output=output, fields=fields, fn=fn,
                                         family=family, reference=reference, event=event,
                                         doc=(fn.__doc__ or "").strip(), example=example, heavy=heavy,
                                         about=about))
        return fn

    return wrap


def load_families() -> None:
    """Import the derivation family modules (explicit registration, never a directory scan), then
    close the registry, as FORMATS and FUNCTIONS are: a derivation registered later, by a module
    imported by chance, would change what a sweep derives from one run to the next."""
    import importlib

    for module in FAMILY_MODULES:
        importlib.import_module(module)
    DERIVATIONS.freeze()


FAMILY_MODULES: list[str] = [
    "engine.rules.derive.hipaa",
    "engine.rules.derive.osha",
    "engine.rules.derive.cms",  # its package imports cms.exclusion last
    "engine.rules.derive.credentialing",
    "engine.rules.derive.ai_use",
]
