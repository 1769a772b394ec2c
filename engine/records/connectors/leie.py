"""The OIG LEIE exclusion file (UPDATED.csv and the monthly supplements): reading and matching, pure.

Why streamed and matched row by row: UPDATED.csv holds some 80,000 rows and a practice's workforce a
few dozen people, so the workforce is indexed by name in memory and the file is read once, a line at
a time, each row looked up by name. `leie_screen.py` turns the result into `screening` records.

Matching (interop-formats.md section 4, "Matching guidance"):

- Names are compared after folding: accents dropped, upper case, only letters and digits kept
  (`O'Brien-Smith` = `OBRIENSMITH`). Letters that Unicode does not decompose into a base letter and
  an accent are spelled out by a small table (`Łukasz` = `LUKASZ`, `Søren` = `SOREN`, `Ægir` =
  `AEGIR`, `Guðmundsdóttir` = `GUDMUNDSDOTTIR`): without it such a name never matches the file's
  ASCII spelling, a false `clear` on an exclusion check. Apostrophe-like modifier letters (the
  Hawaiian okina in `Kaʻiulani`) are dropped as punctuation is.
- Last and first name must both match. The first name may also match FIRSTNAME and MIDNAME
  together (`Mary Ann` = FIRSTNAME `MARY`, MIDNAME `ANN`): a two-word first name is often written
  in the file as a first and a middle name. MIDNAME is not otherwise used (a person's `Mary` still
  matches FIRSTNAME `MARY` whatever MIDNAME says).
- Same name and the same date of birth on both sides -> `excluded`.
- Same name and a date of birth missing on either side -> `possible_match` (to be confirmed with
  the OIG online search, which verifies by SSN).
- Same name and two different dates of birth -> no match: the date of birth tells them apart.
- A row whose REINDATE is set and on or before the screening date is a reinstatement: no match.
- A row whose EXCLDATE is after the screening date lists an exclusion not yet in effect then: at most
  `possible_match` (listed, for a person to look at), never `excluded` on a day before it began.
  WAIVERDATE/WVRSTATE (a waiver for one state's program) do not lift the exclusion and are not read.
- Rows naming an entity (empty first and last name, BUSNAME set) never match a person.
- NPI is not matched: the contract's `person` carries no NPI.

Monthly supplements (`YYMMEXCL.csv`, the month's new exclusions; `YYMMREIN.csv`, its reinstatements)
list only that month's changes, so a person they do not name is not thereby clear: read as
supplements (`Screener(supplement=True)`), nobody starts `clear`; a row without REINDATE is matched as
an exclusion is in the full list, and a row whose REINDATE is on or before the check day is a
reinstatement, noted for the people it names as firmly as an exclusion would (whole name and the same
date of birth on both sides, `Screener.reinstated`); `leie_screen` clears only those whose latest
screening says `excluded`. A reinstatement dated after the check day names nobody yet.

File rules: the first row is the header (columns found by name, in any order; LASTNAME, FIRSTNAME,
DOB and REINDATE are required); dates are YYYYMMDD and `00000000` or empty means none; each line is
UTF-8 if it decodes as such, else latin-1 (OIG files are commonly latin-1). A date that does not read
is a problem only on a row whose name matches someone (another row's mistake cannot change a result).
A file with the header and no row at all is refused: OIG's files are never empty (UPDATED.csv lists
tens of thousands of exclusions), so it is a truncated download, and screening against it would
record everyone `clear` for the month. An EXCLTYPE that is none of the authorities OIG's layout lists
(`EXCLTYPES`, the pattern of `formats/leie/leie.tableschema.json`) is a warning naming the line and
the code, not a refusal: the table schema's note says an unknown code "should be reviewed, not
silently accepted", and the row still names an exclusion, so it is matched as any other.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import ErrorDetail
from engine.records.connectors.csv_rows import numbered_rows
from engine.records.validation import Position

if TYPE_CHECKING:  # the registry imports this module (importers/__init__), so not the other way at run time
    from engine.records.importers import AdvanceFn, ProblemFn

Result = Literal["clear", "possible_match", "excluded"]
RANK: dict[str, int] = {"clear": 0, "possible_match": 1, "excluded": 2}
COLUMNS = ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL", "SPECIALTY", "UPIN", "NPI", "DOB", "ADDRESS",
           "CITY", "STATE", "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE", "WVRSTATE")
REQUIRED = ("LASTNAME", "FIRSTNAME", "DOB", "REINDATE")
#: The exclusion authorities (section 1128 and 1156 of the Social Security Act, and breaches of a
#: corporate-integrity or settlement agreement) as OIG's files write them: the EXCLTYPE pattern of the
#: team's table schema (`../shared/formats/leie/leie.tableschema.json`).
EXCLTYPES = re.compile(r"1128a[1-4]|1128b(?:[1-9]|1[0-6])|1128Aa|1128c3gi|1128c3gii|1156|BRCH CIA|BRCH SA")
EXCLTYPES_SAID = "1128a1-a4, 1128b1-b16, 1128Aa, 1128c3gi, 1128c3gii, 1156, BRCH CIA or BRCH SA"
NO_DATE = frozenset({"", "00000000"})
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
#: Latin letters NFKD leaves whole (no base letter + accent to split), spelled as an ASCII file would.
_SPELLED_OUT = str.maketrans({
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ð": "D", "ð": "d",
    "Þ": "TH", "þ": "th", "Đ": "D", "đ": "d", "ı": "i", "Ŋ": "N", "ŋ": "n", "ß": "ss", "ẞ": "SS", "Ħ": "H",
    "ħ": "h", "Ŧ": "T", "ŧ": "t", "ĸ": "k", "Ƒ": "F", "ƒ": "f", "Ɨ": "I", "ɨ": "i", "Ǥ": "G", "ǥ": "g",
})
#: The spacing modifier letters (U+02B0-U+02FF) NFKD keeps are apostrophes and tone marks, not letters
#: of a name: `Kaʻiulani` (okina) = `KAIULANI`.
_MODIFIERS = range(0x02B0, 0x0300)


def name_key(text: str | None) -> str:
    """A name folded for comparison: no accents, upper case, letters and digits only.

    NFKD splits `é` into `e` and an accent; the letters it leaves whole (`ł`, `ø`, `æ`, `ð`...) are
    spelled out after it (`_SPELLED_OUT`), so that a decomposed `ǿ` (`ø` + accent) is caught too."""
    if not text:
        return ""
    if text.isascii():  # the usual case, once per row of an 80,000-row file
        return _NOT_ALNUM.sub("", text).upper()
    decomposed = unicodedata.normalize("NFKD", text).translate(_SPELLED_OUT)
    return "".join(c for c in decomposed
                   if c.isalnum() and not unicodedata.combining(c) and ord(c) not in _MODIFIERS).upper()


#: Generational suffixes written after a last name ("Johnson Jr.", LEIE's "JOHNSON JR"): not part of it.
_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV"})
_WORDS = re.compile(r"[^\W_]+")


def last_name_key(text: str | None) -> str:
    """A last name folded as `name_key`, without a generational suffix word at its end: a person
    recorded as "Johnson Jr." had been screened clear against the LEIE row JOHNSON of the same date
    of birth (and JOHNSON JR against a recorded "Johnson"). A name of one word is kept whole."""
    words = _WORDS.findall(text or "")
    if len(words) > 1 and words[-1].upper() in _SUFFIXES:
        return name_key(" ".join(words[:-1]))
    return name_key(text)


def leie_date(text: str) -> dt.date | None:
    """A YYYYMMDD date of the file; `00000000` or empty is None; anything else raises ValueError."""
    text = text.strip()
    if text in NO_DATE:
        return None
    if len(text) != 8 or not (text.isascii() and text.isdigit()):  # isdigit() takes ٢ and ２
        raise ValueError(f"{text!r} is not a date written YYYYMMDD (00000000 for none)")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date (YYYYMMDD)") from None


@dataclass(frozen=True)
class WorkforcePerson:
    """A person to screen: the record id, the name as folded for matching and the date of birth."""

    id: str
    last: str
    first: str
    dob: dt.date | None
    #: the first word of the first name, folded ("Maria Q" -> MARIA): a weaker match (`Screener`)
    first_word: str = ""

    @classmethod
    def of(cls, person_id: str, data: dict[str, Any]) -> WorkforcePerson | None:
        """From a stored person record; None when it lacks a first or last name (it cannot be screened)."""
        last, first = last_name_key(data.get("last_name")), name_key(data.get("first_name"))
        if not last or not first:
            return None
        dob = data.get("dob")
        return cls(person_id, last, first, dt.date.fromisoformat(dob) if isinstance(dob, str) else None,
                   first_word_key(data.get("first_name")))


def first_word_key(text: str | None) -> str:
    """The first word of a first name, folded as `name_key` ("Ann Marie" -> ANN)."""
    words = _WORDS.findall(text or "")
    return name_key(words[0]) if words else ""


#: OIG's names for the monthly supplements: 2611EXCL.csv (November 2026's new exclusions) and
#: 2611REIN.csv (its reinstatements), in any case; a browser's " (1)" after a second download is kept.
_SUPPLEMENT_NAME = re.compile(r"\d{2}(?:0[1-9]|1[0-2])(?:EXCL|REIN)(?![A-Za-z0-9])", re.IGNORECASE)


def is_supplement(path: Path) -> bool:
    """Whether a file is named as OIG names a monthly supplement (`YYMMEXCL.csv`, `YYMMREIN.csv`)."""
    return _SUPPLEMENT_NAME.match(path.name) is not None


@dataclass
class Screener:
    """The workforce indexed by name, and each person's result so far: clear until a row matches when
    the full list is read; when supplements are read (`supplement`), only the people a row names have a
    result, and those a reinstatement names are in `reinstated` (with its date), for the caller to clear."""

    people: Iterable[WorkforcePerson]
    checked_on: dt.date
    supplement: bool = False
    results: dict[str, Result] = field(init=False)
    reinstated: dict[str, dt.date] = field(init=False)
    _by_name: dict[tuple[str, str], list[WorkforcePerson]] = field(init=False)
    _by_first_word: dict[tuple[str, str], list[WorkforcePerson]] = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {}
        self._by_first_word = {}
        self.results = {}
        self.reinstated = {}
        for person in self.people:
            self._by_name.setdefault((person.last, person.first), []).append(person)
            if person.first_word:
                self._by_first_word.setdefault((person.last, person.first_word), []).append(person)
            if not self.supplement:  # a supplement says nothing of the people it does not list
                self.results[person.id] = "clear"

    def row(self, cells: dict[str, str], position: Position, problem: ProblemFn) -> None:
        """Match one LEIE row against the workforce: the whole name (`_candidates`), or, weaker, the
        last name and the first word of each first name (`Maria Q` recorded, MARIA listed; `Ann`
        recorded, ANN MARIE listed), which is at most a possible match: a middle initial kept in the
        first-name field, as HR systems often keep it, had screened an exact last name and date of
        birth `clear`."""
        candidates = self._candidates(cells)
        weaker = [p for p in self._by_first_word.get((last_name_key(cells.get("LASTNAME")),
                                                      first_word_key(cells.get("FIRSTNAME"))), [])
                  if p not in candidates]
        if not candidates and not weaker:
            return
        dates: dict[str, dt.date | None] = {}
        for column in ("REINDATE", "DOB", "EXCLDATE"):
            try:
                dates[column] = leie_date(cells.get(column, ""))
            except ValueError as exc:
                problem(position.detail(str(exc), record_type="LEIE row", field=column))
                return
        reinstated = dates["REINDATE"]
        dob = dates["DOB"]
        if self.supplement and reinstated is not None:
            if reinstated <= self.checked_on:
                self._reinstate(candidates, dob, reinstated)
            return  # a reinstatement still to come leaves the people it names as they were
        if reinstated is not None and reinstated <= self.checked_on:
            return
        begins = dates["EXCLDATE"]
        not_yet = begins is not None and begins > self.checked_on
        for person in candidates + weaker:
            if dob is not None and person.dob is not None:
                if dob != person.dob:
                    continue
                found: Result = "excluded" if person in candidates and not not_yet else "possible_match"
            else:
                found = "possible_match"
            so_far = self.results.get(person.id)
            if so_far is None or RANK[found] > RANK[so_far]:
                self.results[person.id] = found

    def _reinstate(self, candidates: list[WorkforcePerson], dob: dt.date | None, on: dt.date) -> None:
        """Note a reinstatement for the people it names as firmly as an exclusion would (whole name and
        the same date of birth on both sides): a name alone, or a first word of it, may be someone else,
        and clearing a live exclusion on it would let an excluded person bill federal programs."""
        if dob is None:
            return
        for person in candidates:
            if person.dob == dob:
                self.reinstated[person.id] = max(on, self.reinstated.get(person.id, on))

    def _candidates(self, cells: dict[str, str]) -> list[WorkforcePerson]:
        """The people whose name is the row's: last name and first name, or last name and first +
        middle name (`Mary Ann` is often FIRSTNAME MARY, MIDNAME ANN in the file). As names fold
        without spaces, this also covers a first word equal to FIRSTNAME and a rest equal to MIDNAME."""
        last, first = last_name_key(cells.get("LASTNAME")), name_key(cells.get("FIRSTNAME"))
        found = self._by_name.get((last, first), [])
        middle = name_key(cells.get("MIDNAME"))
        if middle and first:
            found = found + self._by_name.get((last, first + middle), [])
        return found


def read_rows(path: Path, problem: ProblemFn, advance: AdvanceFn,
              warn: ProblemFn | None = None) -> Iterator[tuple[Position, dict[str, str]]]:
    """Yield each data row of an LEIE file as {column: cell}, with its 1-based line; header is line 1.

    A header with no row after it is a problem (a truncated download), unless the file already had one.
    A row whose EXCLTYPE is no code OIG's layout lists is told to `warn` and yielded all the same."""
    name = str(path)
    reported = 0

    def noted(detail: ErrorDetail) -> None:
        nonlocal reported
        reported += 1
        problem(detail)

    with closing(numbered_rows(path, problem=noted, advance=advance,
                               empty="expected the LEIE header row (LASTNAME,FIRSTNAME,...)")) as rows:
        first = next(rows, None)
        if first is None:
            return
        columns = [h.strip().lstrip("\ufeff").upper() for h in first[1]]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            problem(ErrorDetail(reason=f"not an LEIE file: the header lacks {', '.join(missing)} (the LEIE layout "
                                       f"has the columns {','.join(COLUMNS)})", file=name, line=1))
            return
        seen = 0
        for line_no, cells in rows:
            seen += 1
            position = Position(file=name, line=line_no)
            if len(cells) != len(columns):
                problem(position.detail(f"the row has {len(cells)} cells but the header has {len(columns)} columns",
                                        record_type="LEIE row"))
                continue
            row = dict(zip(columns, cells, strict=True))
            if warn is not None and "EXCLTYPE" in row:
                _check_excltype(row["EXCLTYPE"], position, warn)
            yield position, row
        if not seen and not reported:
            problem(ErrorDetail(reason="the LEIE file holds no exclusion rows, only the header: the real UPDATED.csv "
                                       "lists tens of thousands, so this is a truncated or failed download; download "
                                       "it again (a screening against it would find everyone clear)", file=name))


def _check_excltype(cell: str, position: Position, warn: ProblemFn) -> None:
    code = cell.strip()
    if EXCLTYPES.fullmatch(code):
        return
    what = "EXCLTYPE is empty" if not code else f"EXCLTYPE {code!r} is no exclusion authority OIG's layout lists"
    warn(position.detail(f"{what} ({EXCLTYPES_SAID}): review the row against OIG's record layout; it was "
                         "matched as any other", record_type="LEIE row", field="EXCLTYPE"))


def read_leie(
    path: Path, *, record_type: str | None, problem: ProblemFn, advance: AdvanceFn
) -> Iterator[tuple[Position, Any]]:
    """The LEIE file holds no records of the organization: it is screened against the workforce,
    which needs the record store (`leie_screen.screen_files`, `vigil import FILE --format leie`).
    Reached any other way (a plain file import), it says so."""
    advance(path.stat().st_size)
    problem(ErrorDetail(reason="an LEIE file is not a file of records: it is screened against the organization's "
                               "workforce, which `vigil import FILE --format leie` does", file=str(path)))
    yield from ()
