"""The record store's use cases: import, read (latest, as known at an instant, history), export.

Every function is keyword-only with the session first, scoped by `org_id`, and never commits: the
face's `unit_of_work` commits once, so a failed import leaves nothing behind (see `ingest.py` for
how that squares with streaming). The signatures are pinned in docs/dev/INTERFACES.md.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine import heap
from engine.clock import ensure_utc
from engine.errors import ErrorDetail, ImportFormatError, InputError, NotFoundError
from engine.records import history, undated
from engine.records.encoding import wide_encoding
from engine.records.hashing import VersionsDigest, changed_fields
from engine.records.importers import detect_format, reader_for
from engine.records.ingest import Ingest, OnBatch, OnEnd
from engine.records.references import References
from engine.records.schemas import EVENT_TYPES, RECORD_MODELS, ImportReport, PassedOver, StoredRecord
from engine.records.validation import Position

if TYPE_CHECKING:
    from engine.audit.schemas import ChainBreak

ProgressFn = Callable[[int, int], None]
"""progress(bytes_done, bytes_total), called as the files are read."""

__all__ = [
    "export_records",
    "get_record",
    "import_files",
    "import_records",
    "iter_records",
    "passed_over",
    "record_histories",
    "record_history",
    "remove_stale_exports",
    "verify_versions",
    "version_changes",
]


def import_records(
    session: Session,
    *,
    org_id: str,
    records: Iterable[dict[str, Any]],
    actor: str,
    source: str,
    on_batch: OnBatch | None = None,
    on_end: OnEnd | None = None,
) -> ImportReport:
    """Import records given as dicts (API, connectors); positions in errors are 0-based indexes."""
    _check_org(org_id)
    ingest = Ingest(session=session, org_id=org_id, actor=actor, on_batch=on_batch, on_end=on_end)
    with heap.frozen():
        for index, raw in enumerate(records):
            ingest.add(raw, Position(index=index), source)
        report = ingest.finish()
    report.sources = [source]
    _audit_import(session, org_id=org_id, actor=actor, report=report, written=ingest.digest)
    return report


def readable_files(paths: Sequence[str | Path]) -> list[Path]:
    """The input files, or an ImportFormatError naming every one that does not exist."""
    files = [Path(p) for p in paths]
    missing = [ErrorDetail(reason=_not_a_file(p), file=str(p)) for p in files if not p.is_file()]
    if missing:
        raise ImportFormatError("cannot read the input files", missing)
    return files


def _not_a_file(path: Path) -> str:
    """Why `path` cannot be read as an input file: a folder is named as one, not as missing."""
    if path.is_dir():
        return f"a folder, not a file: give the files in it (e.g. {path / '*.ndjson'})"
    return "no such file"


def _readable(files: Sequence[Path], fmt: str | None, ingest: Ingest) -> list[tuple[Path, str]]:
    """The files that can be read, with their formats; a missing file or one whose format cannot be
    told is a problem of the import, reported with every problem the other files hold (so one run
    lists them all), and the import then writes nothing."""
    out = []
    for path in files:
        if not path.is_file():
            ingest.problem(ErrorDetail(reason=_not_a_file(path), file=str(path)))
            continue
        wide = wide_encoding(path)
        if wide is not None:
            ingest.problem(wide)
            continue
        try:
            out.append((path, detect_format(path, fmt)))
        except ImportFormatError as exc:  # "cannot tell the format of X: unknown file extension; ..."
            for detail in exc.details:
                ingest.problem(ErrorDetail(reason=f"{exc.message}: {detail.reason}", file=detail.file))
    return out


def source_names(paths: Sequence[str | Path], names: Sequence[str] | None) -> dict[str, str]:
    """Each file's `source`, by its path: the name the caller gives it, in the order of `paths`, else
    the path itself. An upload is held at a temporary path of the server's (`/tmp/tmp6s6si56i/a.ndjson`),
    which had been written as its records' source and in the audit entry, where the caller and the
    answer named it `a.ndjson` (docs/records.md: the file path, or what the caller names)."""
    if names is not None and len(names) != len(paths):
        raise ValueError(f"{len(names)} names for {len(paths)} files")
    return {str(p): names[i] if names is not None else str(p) for i, p in enumerate(paths)}


def byte_progress(files: Sequence[Path], progress: ProgressFn | None) -> Callable[[int], None]:
    """An `advance(nbytes)` for the readers that reports bytes done of the files' total to `progress`."""
    total = sum(p.stat().st_size for p in files)
    done = 0

    def advance(nbytes: int) -> None:
        nonlocal done
        done += nbytes
        if progress is not None:
            progress(done, total)

    return advance


def import_files(
    session: Session,
    *,
    org_id: str,
    paths: Sequence[str | Path],
    fmt: str | None = None,
    record_type: str | None = None,
    actor: str,
    names: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    on_batch: OnBatch | None = None,
    on_end: OnEnd | None = None,
) -> ImportReport:
    """Import JSON, NDJSON or CSV files as one all-or-nothing unit; every problem is reported. Each
    version's `source` is its file's name in `names` (`source_names`), else its path."""
    _check_org(org_id)
    if record_type is not None and record_type not in RECORD_MODELS:
        close = difflib.get_close_matches(record_type, list(RECORD_MODELS), n=1)
        raise ImportFormatError(f"unknown record type {record_type!r}", [ErrorDetail(
            reason=(f"did you mean {close[0]}? " if close else "") + f"valid types: {', '.join(RECORD_MODELS)}",
            field="type")])  # the REST answer had said it with `errors: []`, naming no field
    if fmt is not None:
        detect_format(Path("-"), fmt)  # an unknown --format is one problem, not one per file
    files = [Path(p) for p in paths]
    sources = source_names(paths, names)
    ingest = Ingest(session=session, org_id=org_id, actor=actor, on_batch=on_batch, on_end=on_end,
                    file_order={str(p): i for i, p in enumerate(files)})
    readable = _readable(files, fmt, ingest)
    advance = byte_progress([p for p, _ in readable], progress)
    with heap.frozen():
        for path, file_format in readable:
            reader = reader_for(file_format)
            for position, raw in reader(path, record_type=record_type, problem=ingest.problem, advance=advance):
                ingest.add(raw, position, sources[str(path)])
        report = ingest.finish()
    report.sources = [sources[str(p)] for p, _ in readable]
    _audit_import(session, org_id=org_id, actor=actor, report=report, written=ingest.digest)
    return report


def get_record(
    session: Session, *, org_id: str, record_type: str, record_id: str, known_at: dt.datetime | None = None
) -> StoredRecord:
    """The newest version of one record known at `known_at` (default: now); NotFoundError if none."""
    _check_type(record_type)
    found = history.find_version(
        session, org_id=org_id, record_type=record_type, record_id=record_id, known_at=_instant(known_at)
    )
    if found is None:
        when = f" as known at {known_at.isoformat()}" if known_at is not None else ""
        raise NotFoundError(f"no {record_type} {record_id!r} in org {org_id!r}{when}")
    return found


def record_history(session: Session, *, org_id: str, record_type: str, record_id: str) -> list[StoredRecord]:
    """Every version of one record, oldest first; NotFoundError if it was never imported."""
    _check_type(record_type)
    versions = history.all_versions(session, org_id=org_id, record_type=record_type, record_id=record_id)
    if not versions:
        raise NotFoundError(f"no {record_type} {record_id!r} in org {org_id!r}")
    return versions


def record_histories(
    session: Session, *, org_id: str, record_type: str, record_ids: Iterable[str]
) -> dict[str, list[StoredRecord]]:
    """Every version of each of the named records of one type, oldest first, by id: `record_history`
    for many records in one statement per 500 ids; ids never imported are left out (no error)."""
    _check_type(record_type)
    return history.versions_by_ids(session, org_id=org_id, record_type=record_type, ids=list(record_ids))


def version_changes(versions: Sequence[StoredRecord]) -> list[list[str]]:
    """For each version of one record (oldest first, as `record_history` gives them), the fields
    whose values differ from the version before it, sorted; none for the first. An instant written
    with another offset is the same value (as for the content hash)."""
    changes: list[list[str]] = []
    previous: StoredRecord | None = None
    for version in versions:
        changes.append([] if previous is None else
                       changed_fields(RECORD_MODELS[version.type], previous.data, version.data))
        previous = version
    return changes


def iter_records(
    session: Session,
    *,
    org_id: str,
    types: Iterable[str] | None = None,
    known_at: dt.datetime | None = None,
    batch_size: int = 2000,
) -> Iterator[StoredRecord]:
    """Stream the newest version of each record known at `known_at`, ordered by type then id."""
    wanted = None if types is None else sorted(set(types))
    for record_type in wanted or []:
        _check_type(record_type)
    return history.walk_latest(
        session, org_id=org_id, types=wanted, known_at=_instant(known_at), batch_size=max(1, batch_size)
    )


def iter_record_data(
    session: Session,
    *,
    org_id: str,
    record_type: str,
    known_at: dt.datetime | None = None,
    batch_size: int = 5000,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Stream (id, version, data) of the newest version of each record of one type, by id: the
    sweep's read, without the provenance columns and per-row validation `iter_records` pays."""
    _check_type(record_type)
    return history.walk_latest_data(
        session, org_id=org_id, record_type=record_type, known_at=_instant(known_at), batch_size=max(1, batch_size)
    )


def iter_record_data_by_ids(
    session: Session, *, org_id: str, record_type: str, ids: Iterable[str], known_at: dt.datetime | None = None
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(id, version, data) of the newest version of the named records of one type, by id."""
    _check_type(record_type)
    return history.latest_data_by_ids(
        session, org_id=org_id, record_type=record_type, ids=list(ids), known_at=_instant(known_at)
    )


#: The Data gaps answers this process has worked out, by (database, org, types): the newest record
#: version they read and the answer. Kept for a few (org, types) pairs only.
_GAPS: dict[tuple[str, str, tuple[str, ...] | None], tuple[tuple[int, str], PassedOver]] = {}
_GAPS_KEPT = 32


def passed_over(session: Session, *, org_id: str, types: Iterable[str] | None = None) -> PassedOver:
    """The current records the rules pass over, as an import names them (engine/records/undated.py,
    and references.py for ids naming no record held), for the person who missed the import's
    warnings or fixed some since. Reads only the types a check of undated.py applies to (not the
    million access events), by the sweep's lean path; `types` narrows it to some of them, so that a
    list past the 100 shown can be read type by type.

    The answer is worked out again only once something was written since: a record version (they
    are never changed or deleted, so the newest one's key says whether anything is new), or an
    entry of the org's audit chain (every import writes one, and the head's hash, which covers all
    before it, also tells a database built anew from one that happens to reach the same key).
    Every load of the Data gaps page had read the 250,000 checked records of the large practice
    (2.4 s)."""
    from engine.audit import service as audit

    _check_org(org_id)
    wanted = None if types is None else tuple(_checked_types(types))
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), org_id, wanted)
    newest = (history.newest_version_key(session), audit.chain_head(session, org_id=org_id).head_hash)
    held = _GAPS.get(key)
    if held is not None and held[0] == newest:
        return held[1].model_copy(deep=True)
    found = _passed_over(session, org_id=org_id, types=wanted)
    if len(_GAPS) >= _GAPS_KEPT:
        _GAPS.pop(next(iter(_GAPS)))
    _GAPS[key] = (newest, found.model_copy(deep=True))
    return found


def _passed_over(session: Session, *, org_id: str, types: Iterable[str] | None) -> PassedOver:
    named, dates, fields = References(), undated.Undated(), undated.Incomplete()
    checked = 0
    for record_type in undated.CHECKED_TYPES if types is None else _checked_types(types):
        for record_id, _, data in history.walk_latest_data(session, org_id=org_id, record_type=record_type,
                                                          known_at=None, batch_size=5000):
            named.add(record_type, record_id, data)
            dates.add(record_type, record_id, data)
            fields.add(record_type, record_id, data)
            checked += 1
    unknown_shown, unknown_total = named.unknown(session, org_id=org_id)
    (undated_shown, undated_total), (incomplete_shown, incomplete_total) = dates.report(), fields.report()
    return PassedOver(checked=checked, unknown_references=unknown_shown, unknown_references_total=unknown_total,
                      undated_records=undated_shown, undated_records_total=undated_total,
                      incomplete_records=incomplete_shown, incomplete_records_total=incomplete_total)


def ids_ignoring_case(session: Session, *, org_id: str, record_type: str, name: str) -> list[str]:
    """Ids of records of one type equal to `name` but for case: a username that reads as a person id."""
    _check_type(record_type)
    return history.ids_ignoring_case(session, org_id=org_id, record_type=record_type, name=name)


def recorded_between(session: Session, *, org_id: str, after: dt.datetime, until: dt.datetime | None = None
                     ) -> list[tuple[str, str, int, dict[str, Any], dt.datetime]]:
    """(type, id, version, data, recorded_at) of the versions of records (not events) recorded after
    `after` and by `until`: what the database learned between two evaluations."""
    return history.recorded_between(session, org_id=org_id, after=ensure_utc(after), until=_instant(until),
                                    types=[t for t in RECORD_MODELS if t not in EVENT_TYPES])


def count_records(session: Session, *, org_id: str) -> int:
    """How many records (not versions) the org has, whatever their types."""
    _check_org(org_id)
    return history.count_records(session, org_id=org_id)


def count_versions(session: Session, *, org_id: str) -> int:
    """How many record versions the org has: it changes whenever an import commits, and only then."""
    _check_org(org_id)
    return history.count_versions(session, org_id=org_id)


def written_since(session: Session, *, org_id: str, instant: dt.datetime) -> bool:
    """Whether any record version of the org was recorded after `instant` (what the database knew
    then is no longer all it knows)."""
    return history.written_since(session, org_id=org_id, instant=ensure_utc(instant))


def verify_versions(session: Session, *, org_id: str | None, limit: int = 100,
                    progress: ProgressFn | None = None) -> tuple[int, list[ChainBreak]]:
    """Every stored version (one org's, or all) checked against its content hash and against the
    audit entry of the import that wrote it: (versions checked, what does not match, at most
    `limit`). `progress(versions_done, versions_total)`. See `engine.records.integrity`."""
    from engine.records import integrity  # reads the audit trail: loaded only when verifying

    return integrity.check_versions(session, org_id=org_id, limit=limit, progress=progress)


#: The file an export leaves in its folder, naming the files it wrote: the next export into the folder
#: may replace or remove those, and no other. A dotfile, so `vigil import DIR/*.ndjson` passes it by.
EXPORT_MARK = ".vigil-export.json"


def export_records(
    session: Session, *, org_id: str, out_dir: str | Path, known_at: dt.datetime | None = None
) -> dict[str, int]:
    """Write `<type>.ndjson` per record type, sorted by id, that `import_files` reads back unchanged.

    Each record's fields in contract order, as `iter_records` gives them, but read as the sweep
    reads (id, version, data): through a validated `StoredRecord` a row, with the provenance
    columns it does not write, 2.16M records took 45 s (SQLite) and 55 s (PostgreSQL).

    A folder holding `<type>.ndjson` files an export did not write is refused before anything is
    written (InputError): an export into a copy of the demo's record files had replaced one and
    removed thirty as "left by an earlier export". `EXPORT_MARK` names what this export wrote, with
    what earlier exports left that `remove_stale_exports` is to remove."""
    out = Path(out_dir)
    earlier = _claim_export_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    instant = _instant(known_at)
    claimed = set(earlier)
    for record_type in sorted(RECORD_MODELS):
        order = tuple(RECORD_MODELS[record_type].model_fields)
        handle = None
        part = out / f".{record_type}.ndjson.part"
        try:
            for _, _, raw in history.walk_latest_data(session, org_id=org_id, record_type=record_type,
                                                      known_at=instant, batch_size=5000):
                if handle is None:
                    # claimed before it is written: an export stopped half way leaves a folder the
                    # next export may write into, not one it refuses as holding someone's files
                    claimed.add(record_type)
                    _mark_export(out, org_id=org_id, known_at=instant, counts=counts, files=claimed)
                    part.unlink(missing_ok=True)
                    handle = part.open("x", encoding="utf-8", newline="\n")  # "x": never through a link
                    counts[record_type] = 0
                data = {k: raw[k] for k in order if k in raw}
                handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
                counts[record_type] += 1
        finally:
            if handle is not None:
                handle.close()
        if handle is not None:
            part.replace(out / f"{record_type}.ndjson")
    _mark_export(out, org_id=org_id, known_at=instant, counts=counts, files=claimed)
    return counts


def _claim_export_folder(out: Path) -> set[str]:
    """The record types an earlier export wrote into `out`; InputError if it holds a `<type>.ndjson`
    no export wrote (they are someone's files: the export would replace or remove them)."""
    if not out.is_dir():
        return set()
    mark = _read_mark(out)
    earlier = set(mark["files"]) if mark is not None else set()
    foreign = sorted(p.name for p in out.glob("*.ndjson") if p.stem in RECORD_MODELS and p.stem not in earlier)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise InputError(
            f"{out} holds record files no export wrote ({shown}): an export replaces and removes the "
            "<type>.ndjson files of its folder; export into an empty folder, or move those files",
            [ErrorDetail(reason=f"not written by an export: {name}", file=str(out / name), field="--out")
             for name in foreign],
            code="input.export_folder",
        )
    return earlier


def _read_mark(out: Path) -> dict[str, Any] | None:
    """The folder's export mark, or None when there is none or it is not one an export wrote (not
    JSON, not an object, `files` not a list of names): its folder is then treated as unmarked."""
    try:
        mark = json.loads((out / EXPORT_MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(mark, dict) or not isinstance(mark.get("files"), list) or not all(
            isinstance(name, str) for name in mark["files"]):
        return None
    return mark


def _mark_export(out: Path, *, org_id: str, known_at: dt.datetime | None, counts: dict[str, int],
                 files: set[str]) -> None:
    _write_mark(out, {"written_by": "vigil export", "org": org_id,
                      "known_at": known_at.isoformat() if known_at else None, "counts": counts,
                      "files": sorted(files)})


def _write_mark(out: Path, mark: dict[str, Any]) -> None:
    """Written beside and renamed over: a mark is never half written, and a link planted in its
    place is replaced, not followed."""
    part = out / f"{EXPORT_MARK}.part"
    part.unlink(missing_ok=True)
    with part.open("x", encoding="utf-8") as handle:
        handle.write(json.dumps(mark, indent=1) + "\n")
    part.replace(out / EXPORT_MARK)


def remove_stale_exports(out_dir: str | Path, *, written: Iterable[str]) -> list[Path]:
    """Remove the `<type>.ndjson` files an earlier export wrote into `out_dir` of record types this
    one did not write, so the folder holds exactly this export; returns the files removed.

    Why: `vigil import DIR/*.ndjson` is the documented round trip, and a file left by an earlier
    export (of another organization or database) was imported with it as if it were part of this
    one. Only files an export wrote (`EXPORT_MARK` names them) are touched; anything else in the
    folder is the user's, and `export_records` refuses a folder with record files of theirs."""
    out = Path(out_dir)
    kept = set(written)
    listed = _read_mark(out)
    if listed is None:
        return []
    removed = []
    for record_type in sorted(set(listed["files"]) - kept):
        path = out / f"{record_type}.ndjson"
        if record_type in RECORD_MODELS and path.is_file():
            path.unlink()
            removed.append(path)
    listed["files"] = sorted(kept)
    _write_mark(out, listed)
    return removed


def _check_org(org_id: str) -> None:
    if not org_id or len(org_id) > 64:
        raise InputError("an organization id must be 1 to 64 characters", code="input.org_id")


def _checked_types(types: Iterable[str]) -> list[str]:
    """The record types asked for, each one a gap check applies to (else the 422 names those)."""
    wanted = sorted({t.strip() for text in types for t in text.split(",") if t.strip()})
    wrong = [t for t in wanted if t not in undated.CHECKED_TYPES]
    if wrong:
        raise InputError(
            f"no gap check applies to {', '.join(repr(t) for t in wrong)}; the types checked are "
            f"{', '.join(undated.CHECKED_TYPES)}",
            [ErrorDetail(field="type", reason=f"{t!r} is not a record type the gap checks read") for t in wrong],
            code="input.record_type")
    return wanted


def _check_type(record_type: str) -> None:
    if record_type not in RECORD_MODELS:
        raise InputError(
            f"unknown record type {record_type!r}; valid types: {', '.join(RECORD_MODELS)}",
            code="input.record_type",
        )


def _instant(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return ensure_utc(value)
    except ValueError as exc:
        raise InputError(f"{exc}; give the instant with an offset or Z", code="input.instant") from None


def _audit_import(session: Session, *, org_id: str, actor: str, report: ImportReport,
                  written: VersionsDigest) -> None:
    """One audit-trail entry per import, in the import's transaction: what it did, and the digest of
    the versions it wrote (`versions_sha256`, see `VersionsDigest`), by which `vigil audit verify`
    finds one of them deleted or rewritten afterwards."""
    from engine.audit import service as audit  # the audit domain imports no other: no cycle, only load time

    recorded_at = report.recorded_at.isoformat() if report.recorded_at else ""
    audit.append(
        session,
        org_id=org_id,
        actor=actor,
        action="records.import",
        entity_type="record_import",
        entity_id=recorded_at,
        payload={
            "sources": report.sources,
            "recorded_at": recorded_at,
            "total": report.total,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "counts": {t: c.model_dump() for t, c in sorted(report.counts.items())},
            "versions_sha256": written.hexdigest(),
        },
    )
