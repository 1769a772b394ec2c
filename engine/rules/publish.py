"""The liaison publishes a ruleset version with an effective date, and withdraws one (a rollback).

Both write content into the rulesets folder, as a liaison editing files by hand would, but only after
the checks a careful liaison makes every time:

- a published version is validated (format, safe expressions, parameters, SOP templates) and the
  framework's scenario tests pass with it in place, before a byte is written;
- it takes effect today or later, never in the past: runs already made must stay reproducible, and
  an evaluation as of a past day must keep judging by the rules in force that day;
- its version is above every version of the framework, withdrawn ones included (a version number
  names one set of bytes for ever), and no version already scheduled starts after it (that one
  would silently replace it on its own start day);
- a file, once published, is never edited or deleted: runs record its hash and packets ship its
  bytes. A withdrawal ends its time in force from a day on (`engine.rules.withdrawals`), and the
  version in force before it is in force again.

Recording who did it in the audit trail is the pipeline's job (`pipeline.publish_ruleset`)."""

from __future__ import annotations

import copy
import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel

from engine import clock
from engine.errors import (
    ConflictError,
    ErrorDetail,
    InputError,
    NotFoundError,
    RefusedChange,
    RulesetValidationError,
    VigilError,
)
from engine.rules import versions, withdrawals
from engine.rules.catalog import (
    in_force,
    load_all,
    load_practice_params,
    practice_fit_problems,
    practice_params_path,
    rulesets_dir,
    version_key,
)
from engine.rules.loader import LoadedRuleset, load_ruleset_bytes, load_ruleset_file
from engine.rules.scenarios import BACKENDS, run_scenario
from engine.rules.validate import validate_bytes, validate_paths

_EFFECTIVE_FROM = re.compile(r"^effective_from:[^\n]*$", re.MULTILINE)


class Publication(BaseModel):
    """What publishing wrote, and what it changes."""

    framework: str
    version: str
    effective_from: dt.date
    sha256: str
    path: str  # framework/file.yaml, under the rulesets folder
    rules: int
    replaces: str | None  # the version in force on effective_from until now
    scenarios_passed: int
    #: of those, the cases as of effective_from or later: the only ones this version judged (the
    #: others were judged by the versions before it, so "105 passed" had said nothing of a draft
    #: none of whose cases reached its effective date)
    scenarios_judged_by_new: int

    def scenarios_said(self) -> str:
        """The scenario count for a person, saying how many cases judged this version and, when none
        did, what to do about it."""
        judged = (f"{self.scenarios_judged_by_new} of them as of {self.effective_from} or later, judged by the "
                  "new version")
        if not self.scenarios_judged_by_new:
            judged += ": add scenarios dated then to test it"
        return f"{self.scenarios_passed} scenario cases passed ({judged})"


class WithdrawalResult(BaseModel):
    framework: str
    version: str
    on: dt.date
    reason: str
    by: str
    never_in_force: bool  # withdrawn before its effective_from: it never judged anything
    restores: str | None  # the version in force from `on` instead
    #: the day of the withdrawal this one moves (a withdrawal not yet in effect, withdrawn again), or None
    moved_from: dt.date | None = None


def file_name(framework: str, version: str) -> str:
    return f"{framework}-{version}.yaml"


def with_effective_from(draft: bytes, day: dt.date, name: str) -> bytes:
    """The draft with its top-level effective_from set to `day` (the rest of the text, comments
    included, kept as written)."""
    text = draft.decode("utf-8", errors="strict")
    if len(_EFFECTIVE_FROM.findall(text)) != 1:
        raise RulesetValidationError(f"{name}: cannot set effective_from", [ErrorDetail(
            reason="the draft needs exactly one top-level `effective_from:` line to set the date on",
            file=name, field="effective_from")], code="ruleset.publish.effective_from")
    return _EFFECTIVE_FROM.sub(f"effective_from: {day.isoformat()}", text, count=1).encode()


@dataclass(frozen=True)
class PlannedPublication:
    """A draft that passed every check, and where it goes; `write_publication` writes it."""

    publication: Publication
    target: Path
    content: bytes


@dataclass(frozen=True)
class PlannedWithdrawal:
    result: WithdrawalResult
    folder: Path
    entry: withdrawals.Withdrawal
    first_day: dt.date  # the first day it changes: max(on, or the day it moves, if earlier; effective_from)
    replaces: withdrawals.Withdrawal | None = None  # the withdrawal not yet in effect that it moves


#: A caller's own check of a draft about to be published (the pipeline's: no run already made has
#: judged its days), raising a VigilError whose details are named with the draft's other problems.
DraftCheck = Callable[[LoadedRuleset], None]


@contextmanager
def changes_locked(root: Path | None = None) -> Iterator[None]:
    """Hold the rulesets folder's lock from a publication's or withdrawal's checks to its write.

    Each change is checked against the versions and withdrawals on disk (no day left with no version
    in force, no practice value orphaned); two made at once had each passed against the files as they
    were before the other, and together withdrawn every version of a framework. Held around plan and
    write, the second is checked against the first."""
    with withdrawals.locked(root or rulesets_dir()):
        yield


def publish(draft: bytes, *, name: str, effective_from: dt.date | None = None, root: Path | None = None,
            policies: Path | None = None, params_path: Path | None = None,
            check: DraftCheck | None = None) -> Publication:
    """Check the draft as described above and write it as `<framework>/<framework>-<version>.yaml`."""
    with changes_locked(root):
        plan = plan_publication(draft, name=name, effective_from=effective_from, root=root, policies=policies,
                                params_path=params_path, check=check)
        write_publication(plan)
    return plan.publication


def write_publication(plan: PlannedPublication) -> None:
    if plan.target.exists():
        raise ConflictError(f"{plan.target} already exists", [ErrorDetail(
            reason="a published file is never replaced; publish a new version", file=str(plan.target))],
            code="ruleset.publish.exists")
    plan.target.parent.mkdir(parents=True, exist_ok=True)
    withdrawals.write_atomically(plan.target, plan.content)


def unix_lines(draft: bytes) -> bytes:
    """A draft's text with LF line ends: a browser sends a text box's lines ending in CRLF, and a
    version published from the web page had been written so, its SHA-256 depending on the tool
    that sent it and `diff` marking every line changed against the version before."""
    return draft.replace(b"\r\n", b"\n")


def plan_publication(draft: bytes, *, name: str, effective_from: dt.date | None = None, root: Path | None = None,
                     policies: Path | None = None, params_path: Path | None = None,
                     check: DraftCheck | None = None) -> PlannedPublication:
    """Every check of a publication, writing nothing; a draft that fails several is refused once,
    naming every problem (`check`'s too), so the liaison does not fix one only to meet the next."""
    root = root or rulesets_dir()
    today = clock.now().date()
    draft = unix_lines(draft)
    try:
        if effective_from is not None:
            try:
                draft = with_effective_from(draft, effective_from, name)
            except RulesetValidationError:
                # the draft's own problem first (`null`, a python tag, a key given twice had all been
                # told only that no effective_from line could be found)
                load_ruleset_bytes(draft, name)
                raise
        loaded = load_ruleset_bytes(draft, name)
    except UnicodeDecodeError as exc:
        raise RulesetValidationError(f"{name}: not UTF-8 text", [ErrorDetail(reason=str(exc), file=name)]) from None
    except RulesetValidationError as exc:
        # the rest of the draft checked as `rules validate` checks it: `severity: urgent` had been
        # the only problem named of a draft with four
        more = validate_bytes(draft, name, policies=policies, params_path=params_path).problems
        if any(d not in exc.details for d in more):
            raise RulesetValidationError(exc.message, list(dict.fromkeys([*exc.details, *more])),
                                         code=exc.code) from None
        raise
    spec = loaded.spec
    target = root / spec.framework / file_name(spec.framework, spec.version)
    if target.resolve().parent.parent != root.resolve():  # the spec's id check keeps this from happening
        raise RulesetValidationError(f"{name}: framework {spec.framework!r} names no folder of {root}",
                                     [ErrorDetail(reason="outside the rulesets folder", file=name, field="framework")],
                                     code="ruleset.publish.outside")
    mine = [i for i in load_all(root) if i.spec.framework == spec.framework] if root.is_dir() else []
    own = _dates_and_version_problems(loaded, mine, today, name)
    theirs = _caller_refusal(check, loaded)
    refused = own + (theirs.details if theirs is not None else [])
    before = in_force(mine, spec.effective_from, [spec.framework])
    passed, judged = _check_in_place(loaded, root, name, policies=policies, params_path=params_path,
                                     refused=refused)
    if own:
        raise InputError(f"{name}: cannot publish {spec.framework} {spec.version}", refused,
                         code="ruleset.publish.refused")
    if theirs is not None:  # the only problem: raised as the caller made it (its own code)
        raise theirs
    if target.exists():
        raise ConflictError(f"{target} already exists", [ErrorDetail(
            reason="a published file is never replaced; publish a new version", file=str(target))],
            code="ruleset.publish.exists")
    publication = Publication(framework=spec.framework, version=spec.version, effective_from=spec.effective_from,
                              sha256=loaded.sha256, path=f"{spec.framework}/{target.name}", rules=len(spec.rules),
                              replaces=before[0].spec.version if before else None, scenarios_passed=passed,
                              scenarios_judged_by_new=judged)
    return PlannedPublication(publication=publication, target=target, content=draft)


def _caller_refusal(check: DraftCheck | None, loaded: LoadedRuleset) -> VigilError | None:
    """The caller's check's refusal of the draft, kept to be named with the others."""
    if check is None:
        return None
    try:
        check(loaded)
    except VigilError as exc:
        if not exc.details:
            exc.details = [ErrorDetail(reason=exc.message)]
        return exc
    return None


def _dates_and_version_problems(loaded: LoadedRuleset, mine: list[LoadedRuleset], today: dt.date,
                                name: str) -> list[ErrorDetail]:
    spec = loaded.spec
    problems = []
    if spec.effective_from < today:
        problems.append(ErrorDetail(
            reason=f"effective_from {spec.effective_from} is before today ({today}): a version takes effect today or "
                   "later, so evaluations already made, and evaluations as of past days, keep the rules that were "
                   "in force then", file=name, field="effective_from"))
    latest = max(mine, key=lambda i: version_key(i.spec.version), default=None)
    if latest is not None and version_key(spec.version) <= version_key(latest.spec.version):
        problems.append(ErrorDetail(
            reason=f"version {spec.version} is not above {spec.framework} {latest.spec.version}, the highest published "
                   "(withdrawn versions included): a version number names one file for ever", file=name,
            field="version"))
    for other in mine:
        if other.spec.effective_from > spec.effective_from and not _cancelled(other):
            problems.append(ErrorDetail(
                reason=f"{spec.framework} {other.spec.version} is scheduled from {other.spec.effective_from}, after "
                       f"this version's effective_from {spec.effective_from}, and would replace it on that day; "
                       f"withdraw {other.spec.version} first, or publish this one effective on or after "
                       f"{other.spec.effective_from}", file=name, field="effective_from"))
    return problems


def _cancelled(item: LoadedRuleset) -> bool:
    return item.withdrawn_on is not None and item.withdrawn_on <= item.spec.effective_from


def _check_in_place(loaded: LoadedRuleset, root: Path, name: str, *, policies: Path | None,
                    params_path: Path | None, refused: list[ErrorDetail]) -> tuple[int, int]:
    """Validate the draft and run the framework's scenarios with it beside the published versions,
    in a copy of the framework's folder, on both backends (the sweeps run on one, the live stream on
    durable_rules: a draft the two judge differently would give the stream other findings than the
    night's sweep); returns the number of scenario cases that passed, and how many of those are as
    of the draft's effective_from or later (judged by the draft itself, not by the versions before). The
    problems already found (`refused`: dates, version, the caller's) are reported with the draft's
    own and its scenarios' failures, all at once; the caller raises them when nothing else fails.
    The scenarios run for a draft that validates, refused or not: a refusal that named only the
    date had the liaison move it, only to learn then that a scenario fails."""
    spec = loaded.spec
    with staged_in_place(loaded, root) as staged:
        staged_root, folder = staged.parent.parent, staged.parent
        # the copy is nobody's to see: a problem is said of the draft, or of the file it copies
        # (a refusal had named /tmp/vigil-publish-_lu8f9b5/hipaa/tests/x.yaml, deleted by then)
        real = unstaged(staged, name, root)
        problems = staged_problems(staged, name, root, policies=policies, params_path=params_path)
        if problems:
            raise RulesetValidationError(f"{name}: the draft does not validate", refused + problems,
                                         code="ruleset.publish.invalid")
        passed, judged, failed = 0, 0, []
        for path in sorted((folder / "tests").glob("*.yaml")):
            try:
                cases = list(run_scenario(path, root=staged_root, backends=BACKENDS))
            except VigilError as exc:  # e.g. a scenario's params the draft cannot take
                said = real.error(exc)
                if refused:  # the headline is the draft's own refusal, the scenario's problem beside it: a
                    # version number below the highest had been headlined "tests/x.yaml: invalid practice
                    # parameters", the real problem only in the details
                    raise InputError(f"{name}: cannot publish {spec.framework} {spec.version}",
                                     refused + said.details, code="ruleset.publish.refused") from None
                raise said from None
            for case in cases:
                if case.ok:
                    passed += 1
                    # the instant's UTC day, as `run_scenario` and evaluations choose the version by it
                    judged += clock.ensure_utc(dt.datetime.fromisoformat(case.as_of)).date() >= spec.effective_from
                else:
                    failed.append(ErrorDetail(
                        reason=f"case {case.case} (as of {case.as_of}): {'; '.join(case.problems)}",
                        file=f"{spec.framework}/tests/{path.name}"))
        if failed:
            more = f"; and {len(refused)} other problem{'s' if len(refused) > 1 else ''}" if refused else ""
            raise RulesetValidationError(
                f"{name}: {len(failed)} scenario case{'s' if len(failed) > 1 else ''} of {spec.framework} fail with "
                f"{spec.version} in place; fix the draft, or change the scenarios in rulesets/{spec.framework}/tests/ "
                f"if the new behaviour is intended{more}", refused + failed, code="ruleset.publish.scenarios")
    return passed, judged


def staged_problems(staged: Path, draft: str, root: Path, *, policies: Path | None = None,
                    params_path: Path | None = None) -> list[ErrorDetail]:
    """Every problem of a draft staged in a copy of its framework's folder (`staged_in_place`), and of
    the scenarios beside it, as `rules validate` finds them, as of the draft's first day; each said
    of the draft by the name it was given (`draft`) or of the file in `root` it copies, never of the
    copy. Publishing refuses a draft with any, and so does `vigil rules test DRAFT` before it runs a
    case (it had run 146 passing cases first, then named the copy)."""
    spec = load_ruleset_file(staged).spec
    report = validate_paths([staged], policies=policies, params_path=params_path, today=spec.effective_from,
                            rulesets=root)
    real = unstaged(staged, draft, root)
    return [real.detail(d) for d in report.problems]


def unstaged(staged: Path, draft: str, root: Path) -> Unstaged:
    """What says a staged copy's problems of the files they are about (`Unstaged`)."""
    return Unstaged(staged=staged, draft=draft, staged_root=staged.parent.parent, root=root)


@contextmanager
def staged_in_place(loaded: LoadedRuleset, root: Path) -> Iterator[Path]:
    """A copy of the framework's folder of `root` (its versions, withdrawals and scenarios) with the
    draft written in as if published: the staged draft's path, in `<copy>/<framework>/`. Publishing
    runs the scenarios there, and so does `vigil rules test DRAFT.yaml`."""
    spec = loaded.spec
    with tempfile.TemporaryDirectory(prefix="vigil-publish-") as tmp:
        folder = Path(tmp) / spec.framework
        if (root / spec.framework).is_dir():
            shutil.copytree(root / spec.framework, folder)
        else:
            folder.mkdir()
        staged = folder / file_name(spec.framework, spec.version)
        staged.write_bytes(loaded.content)
        yield staged


@dataclass(frozen=True)
class Unstaged:
    """Problems found in the staged copy of a framework's folder, said of the files they are about:
    the draft by its name, any other file by its path in the rulesets folder."""

    staged: Path  # the draft's copy
    draft: str
    staged_root: Path
    root: Path

    def path(self, text: str) -> str:
        return text.replace(str(self.staged), self.draft).replace(str(self.staged_root), str(self.root))

    def detail(self, d: ErrorDetail) -> ErrorDetail:
        return replace(d, file=self.path(d.file) if d.file else d.file, reason=self.path(d.reason))

    def error(self, exc: VigilError) -> VigilError:
        said = copy.copy(exc)
        said.message, said.details = self.path(exc.message), [self.detail(d) for d in exc.details]
        said.args = (said.message,)
        return said


def withdraw(framework: str, version: str, *, reason: str, by: str, on: dt.date | None = None,
             root: Path | None = None) -> WithdrawalResult:
    """End `version`'s time in force from `on` (default today); the version in force before it is in
    force again. Refused when it would leave the framework with no version in force."""
    with changes_locked(root):
        plan = plan_withdrawal(framework, version, reason=reason, by=by, on=on, root=root)
        write_withdrawal(plan)
    return plan.result


def write_withdrawal(plan: PlannedWithdrawal) -> None:
    """Append the planned withdrawal, unless the version's withdrawal changed since it was planned
    (another liaison's withdrawal or move, written in between)."""
    with withdrawals.locked(plan.folder):
        if withdrawals.read(plan.folder).get(plan.result.version) != plan.replaces:
            raise ConflictError(f"{plan.result.framework} {plan.result.version} is already withdrawn", [ErrorDetail(
                reason="another withdrawal was recorded meanwhile: read the version again", field="version")],
                code="ruleset.withdraw.again")
        withdrawals.append(plan.folder, plan.entry)


def plan_withdrawal(framework: str, version: str, *, reason: str, by: str, on: dt.date | None = None,
                    root: Path | None = None) -> PlannedWithdrawal:
    """Every check of a withdrawal, writing nothing."""
    root = root or rulesets_dir()
    today = clock.now().date()
    on = on or today
    if not reason.strip():
        raise InputError("a withdrawal needs a reason", [ErrorDetail(reason="say why the version is withdrawn",
                                                                    field="reason")], code="ruleset.withdraw.reason")
    if on < today:
        raise InputError(f"cannot withdraw from {on}, before today ({today})", [ErrorDetail(
            reason="a withdrawal takes effect today or later: evaluations as of past days keep the rules in force "
                   "then", field="on")], code="ruleset.withdraw.backdated")
    mine = [i for i in load_all(root) if i.spec.framework == framework] if root.is_dir() else []
    item = next((i for i in mine if i.spec.version == version), None)
    if item is None:
        raise NotFoundError(f"no ruleset {framework}@{version}", [ErrorDetail(
            reason=f"the versions of {framework} are: {', '.join(i.spec.version for i in mine) or 'none'}",
            field="version")])
    moved = _movable_withdrawal(item, on, today)
    base = replace(item, withdrawal=None)  # the version as if never withdrawn
    if base.ends is not None and base.ends <= on:
        raise RefusedChange(f"{framework} {version} is no longer in force from {base.ends}", [ErrorDetail(
            reason="there is nothing to withdraw from that day on", field="on")], code="ruleset.withdraw.ended")
    entry = withdrawals.Withdrawal(version=version, on=on, reason=reason.strip(), by=by, at=clock.now())
    after = [base.withdrawn(entry) if i is item else i for i in mine]
    # a move changes the days between the two withdrawal days, whichever way it goes
    day = max(min(on, moved.on) if moved is not None else on, item.spec.effective_from)
    _refuse_a_gap(item, mine, after, day)
    _refuse_unfit_params(item, mine, after, day, on)
    first = max(on, item.spec.effective_from)
    had = in_force([base if i is item else i for i in mine], first, [framework])
    left = in_force(after, first, [framework])
    result = WithdrawalResult(framework=framework, version=version, on=on, reason=entry.reason, by=by,
                              never_in_force=on <= item.spec.effective_from,
                              restores=left[0].spec.version if left and had and had[0] is base else None,
                              moved_from=moved.on if moved is not None else None)
    return PlannedWithdrawal(result=result, folder=Path(item.path).parent, entry=entry, first_day=day,
                             replaces=moved)


def _movable_withdrawal(item: LoadedRuleset, on: dt.date, today: dt.date) -> withdrawals.Withdrawal | None:
    """The version's withdrawal that withdrawing it again from `on` moves (None when it has none).

    A withdrawal still to come may be moved to another day: withdrawn "from 2099-01-01" for
    2029-01-01 by mistake, the version had stayed in force until a new one was published. One that
    has taken effect is not: the days since were judged without the version."""
    w = item.withdrawal
    if w is None:
        return None
    framework, version = item.spec.framework, item.spec.version
    # in effect once it has kept the version out of a day it would have been in force on: withdrawn
    # before its first day, a scheduled version has judged nothing until that day comes
    takes_effect = max(w.on, item.spec.effective_from)
    if takes_effect <= today:
        raise RefusedChange(f"{framework} {version} is already withdrawn from {w.on}", [ErrorDetail(
            reason="a withdrawal in effect is not moved: publish a new version to change what is in force",
            field="version")], code="ruleset.withdraw.again")
    if w.on == on:
        raise RefusedChange(f"{framework} {version} is already withdrawn from {on}", [ErrorDetail(
            reason=f"to move the withdrawal, give another day; it takes effect on {takes_effect}", field="on")],
            code="ruleset.withdraw.again")
    return w


def _refuse_a_gap(item: LoadedRuleset, mine: list[LoadedRuleset], after: list[LoadedRuleset], day: dt.date) -> None:
    """Refuse a withdrawal after which some day from `day` on (the first it changes) would have no
    version of the framework in force where one was before. Why every day and not only `day`: the
    version before it may itself end later (withdrawn from a later day, or an effective_to), and
    evaluations of the days after that would then drop the framework without a word."""
    framework, version = item.spec.framework, item.spec.version
    gap = _first_gap(mine, after, framework, day)
    if gap is None:
        return
    takes_over = _first_day_free(item, mine, gap)
    later = (f", or withdraw from {takes_over[0]} when {framework} {takes_over[1]} takes over" if takes_over
             else "")
    raise RefusedChange(f"withdrawing {framework} {version} would leave no {framework} ruleset in force", [
        ErrorDetail(reason=f"no other version of {framework} is in force on {gap}: publish a replacement first{later}",
                    field="version")], code="ruleset.withdraw.last")


def _first_gap(mine: list[LoadedRuleset], after: list[LoadedRuleset], framework: str,
               day: dt.date) -> dt.date | None:
    """The first day from `day` on with a version of `framework` in force in `mine` and none in `after`."""
    return next((d for d in versions.change_days(mine, framework, day)
                 if in_force(mine, d, [framework]) and not in_force(after, d, [framework])), None)


def _first_day_free(item: LoadedRuleset, mine: list[LoadedRuleset],
                    gap: dt.date) -> tuple[dt.date, str] | None:
    """The first day after `gap` from which `item` could be withdrawn leaving no day without a
    version, and the version in force from it; None when there is none (publish a replacement).

    Worked out from the versions in force as they stand, withdrawals applied: the hint had named the
    next version's first day even when that version was itself withdrawn a month later, and a
    liaison who followed it was refused naming that month."""
    framework = item.spec.framework
    base = replace(item, withdrawal=None)
    for d in versions.change_days(mine, framework, gap):
        if d <= gap:
            continue
        entry = withdrawals.Withdrawal(version=item.spec.version, on=d, reason="-", by="-", at=clock.now())
        after = [base.withdrawn(entry) if i is item else i for i in mine]
        if _first_gap(mine, after, framework, d) is None:
            chosen = in_force(after, d, [framework])
            if chosen:
                return d, chosen[0].spec.version
    return None


def _refuse_unfit_params(item: LoadedRuleset, mine: list[LoadedRuleset], after: list[LoadedRuleset], day: dt.date,
                         on: dt.date) -> None:
    """Refuse a withdrawal after which the practice's values would stop evaluations: a value set for
    a parameter only the withdrawn version declares (the version in force again refuses it as
    unknown). A rollback had been accepted, and every evaluation from its day on refused; problems
    the practice's values have either way, from the same day, are not this withdrawal's."""
    framework, version = item.spec.framework, item.spec.version
    source = str(practice_params_path())
    raw = load_practice_params(frameworks={i.spec.framework for i in mine})
    # a problem the values have anyway is not this withdrawal's, unless it now starts sooner (the
    # version put back refuses from the withdrawal's day what a scheduled one refused only later)
    known = {bare: first for bare, _, first in practice_fit_problems(mine, raw, source, framework, day)}
    new = [said for bare, said, first in practice_fit_problems(after, raw, source, framework, day)
           if bare not in known or first < known[bare]]
    if new:
        raise RefusedChange(
            f"withdrawing {framework} {version} from {on} would leave values in {source} that the version in force "
            "again cannot take, and evaluations would be refused: end them before that day (vigil params set ... "
            "--from) or remove them from the file, then withdraw", new, code="ruleset.withdraw.params")


def in_force_version(framework: str, day: dt.date, root: Path | None = None) -> str:
    """The version of `framework` in force on `day` (what a rollback withdraws)."""
    root = root or rulesets_dir()
    chosen = in_force(load_all(root), day, [framework])
    if not chosen:
        raise NotFoundError(f"no {framework} ruleset is in force on {day}", [ErrorDetail(
            reason="nothing to roll back", field="framework")])
    return chosen[0].spec.version
