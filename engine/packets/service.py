"""Packet use cases that touch the database: build a packet and record that it was built."""

from __future__ import annotations

import datetime as dt
import errno
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from engine import clock, db, paths
from engine.audit import service as audit_service
from engine.audit.anchors import Anchored
from engine.audit.guard import TABLE_NAME as AUDIT_TABLE
from engine.clock import DayIn, InstantIn
from engine.db import utc
from engine.errors import ErrorDetail, InputError, IntegrityError, NotFoundError, VigilError
from engine.json_body import JsonBody
from engine.packets import sign
from engine.packets.archive import file_sha256
from engine.packets.build import build_packet
from engine.packets.collect import PacketSources, collect_input
from engine.packets.schemas import PacketBuildReport, PacketInput, PacketVerifyReport
from engine.packets.sign import Ed25519Signer, Signer
from engine.packets.tables import PacketRow
from engine.packets.verify import verify_packet
from engine.rules.catalog import require_frameworks


def build(
    session: Session,
    *,
    org_id: str,
    framework: str,
    date_from: dt.date,
    date_to: dt.date,
    out: Path,
    signer: Signer,
    actor: str,
    establishment: str | None = None,
    as_of: dt.datetime | None = None,
    redact_phi: bool = False,
    sources: PacketSources,
) -> PacketBuildReport:
    """Collect, build and record one packet (never commits; the caller's unit of work does).

    The audit entry for the build is appended after the excerpt was taken, so a packet never
    contains its own build entry, and the next packet of a later period will. A period that ends
    before it starts or has not begun by the packet's instant, or a framework with no ruleset, is
    refused: each would give a signed packet of nothing, which an auditor could take for a clean
    period. A period not yet over is built, and its packet says it shows the period up to then.
    """
    if date_to < date_from:
        raise InputError(f"the period ends ({date_to}) before it starts ({date_from})",
                         [ErrorDetail(reason="to is before from", field="to")])
    made_at = clock.ensure_utc(as_of) if as_of is not None else clock.now()
    if dt.datetime.combine(date_from, dt.time(), tzinfo=dt.UTC) > made_at:
        raise InputError(f"the period starts ({date_from}) after the packet's instant ({made_at.isoformat()}): "
                         "nothing in it has happened yet",
                         [ErrorDetail(reason="a period that has not begun has no evidence", field="from")])
    require_frameworks([framework])
    inp = collect_input(
        session,
        org_id=org_id,
        framework=framework,
        date_from=date_from,
        date_to=date_to,
        establishment=establishment,
        as_of=as_of,
        redact_phi=redact_phi,
        sources=sources,
    )
    report = build_packet(inp, out, signer=signer)
    record_build(session, inp=inp, report=report, actor=actor)
    stored = session.get(PacketRow, report.packet_id)
    if stored is not None and _intact(stored):
        # the packet auditors downloaded stays as built, where it was, by whom: a rebuild of the same
        # id (a reproducibility check, or after a key rotation) had pointed the portal at the check's
        # scratch file and named its builder, or replaced the signed bytes auditors held
        return report.model_copy(update={"kept": stored.path})
    session.merge(PacketRow(id=report.packet_id, org_id=org_id, framework=framework, period_from=date_from,
                            period_to=date_to, as_of=inp.as_of, establishment=establishment, redacted=redact_phi,
                            sha256=report.sha256, size=report.size, path=str(Path(out).resolve()),
                            fingerprint=report.fingerprint, built_at=clock.now(), built_by=actor))
    return report


def packet_dir() -> Path:
    """Where built packets are kept (VIGIL_PACKET_DIR, default the deployment's var/packets)."""
    return paths.under_var("VIGIL_PACKET_DIR", "packets").resolve()


class PacketRequest(JsonBody):
    """What an officer asks for: a framework, an audit period and how to scope the packet."""

    framework: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=40, examples=["hipaa"])
    date_from: DayIn = Field(alias="from", examples=["2026-01-01"])
    date_to: DayIn = Field(alias="to", examples=["2026-12-31"])
    establishment: str | None = None
    as_of: InstantIn | None = Field(default=None, description="rebuild as the database stood at this instant")
    redact_phi: bool = False

    model_config = {"populate_by_name": True, "extra": "forbid"}  # a misspelt field is a 422, not ignored

    @model_validator(mode="after")
    def _zip_dates(self) -> PacketRequest:
        """A zip stores dates from 1980 to 2107; packets are for real audit periods."""
        for value in (self.date_from, self.date_to, self.as_of):
            if value is not None and not (1980 <= value.year <= 2099):
                raise ValueError("dates must fall between 1980 and 2099")
        return self


def build_stored(session: Session, *, org_id: str, request: PacketRequest, actor: str,
                 sources: PacketSources) -> PacketInfo:
    """Build a packet into the packet store (`packet_dir()`), record it, and describe it.

    Written to a temporary name first and renamed once complete, so a failed build leaves no
    half-written packet where downloads look.
    """
    refused: list[InputError] = []  # every problem at once: a period ending before it starts had hidden the rest
    if request.date_to < request.date_from:
        refused.append(InputError("the period ends before it starts", [ErrorDetail(
            reason=f"{request.date_to} is before from ({request.date_from}): the period ends on or after its first "
                   "day", field="to")]))
    try:
        require_frameworks([request.framework])
    except InputError as exc:
        refused.append(exc)
    try:
        as_of = check_scope(session, org_id=org_id, establishment=request.establishment, as_of=request.as_of)
    except InputError as exc:
        refused.append(exc)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        raise InputError("the packet cannot be built: " + "; ".join(exc.message for exc in refused),
                         [detail for exc in refused for detail in exc.details])
    request = request.model_copy(update={"as_of": as_of})
    directory = packet_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".zip", delete=False) as tmp:
            target = Path(tmp.name)
    except OSError as exc:
        raise _store_failed(exc) from None
    try:
        report = build(session, org_id=org_id, framework=request.framework, date_from=request.date_from,
                       date_to=request.date_to, establishment=request.establishment, as_of=request.as_of,
                       redact_phi=request.redact_phi, out=target, signer=practice_signer(session), actor=actor,
                       sources=sources)
        if report.kept is not None:  # already stored, intact: that one is the packet
            target.unlink(missing_ok=True)
            kept = session.get(PacketRow, report.packet_id)
            assert kept is not None
            return _info(kept)
        final = directory / f"{report.packet_id}.zip"
        target.replace(final)
    except BaseException as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, OSError) and (exc.errno in _STORE_ERRNOS
                                         or (exc.filename is not None and str(directory) in str(exc.filename))):
            raise _store_failed(exc) from None
        raise
    session.flush()
    row = session.get(PacketRow, report.packet_id)
    assert row is not None
    row.path = str(final)
    return _info(row)


def _intact(row: PacketRow) -> bool:
    """Whether a stored packet's file is still where it was built, as it was built."""
    try:
        _checked_file(row)
    except (NotFoundError, IntegrityError):
        return False
    return True


def last_signed_with(session: Session) -> str | None:
    """The fingerprint of the key the latest packet was signed with, in any organization (the key is
    the deployment's); None before the first packet."""
    return session.scalar(select(PacketRow.fingerprint).order_by(PacketRow.built_at.desc()).limit(1))


def practice_signer(session: Session, key_dir: Path | str | None = None) -> Ed25519Signer:
    """The deployment's signing key, made only if no packet was signed yet.

    Once packets exist, a missing key is refused (`MissingSigningKeyError`) instead of silently
    replaced, and so is a key that is neither the one the latest packet was signed with nor one
    rotated away from (a VIGIL_KEY_DIR naming another deployment's folder, or a key made by a
    read before this check existed): either way auditors would receive packets of a key they do
    not hold, and nobody would have chosen it.
    """
    before = last_signed_with(session)
    signer = sign.load_or_create_signer(key_dir, signed_before=before)
    if before is not None and signer.fingerprint() != before and before not in sign.retired_fingerprints(key_dir):
        folder = sign.resolve_key_dir(key_dir)
        raise sign.SigningKeyError(
            f"the packet signing key in {folder} (the folder VIGIL_KEY_DIR names, else var/keys) is "
            f"{signer.fingerprint()}, but the latest packet was signed with {before} and that key was never "
            "rotated away from: restore the key folder that signed it (or set VIGIL_KEY_DIR to it); to move to "
            "this key on purpose, run `vigil packet rotate-key --yes`",
            code="packet.signing_key.unexpected")
    return signer


def standalone_signer(key_dir: Path | str | None,
                      deployment_database: Callable[[], Engine | None]) -> Ed25519Signer:
    """The signing key for a command that does not build from the database (`vigil packet key`,
    `vigil packet build --input`): the key in the folder, or, when it is missing, a new one only
    if `deployment_database()` holds no packet signed before (else refused as `practice_signer` does).

    Why: these commands made a missing key without asking. After a restore without the key folder,
    `vigil packet key` handed auditors a brand-new key no packet was signed with, and the next build
    from the database was then refused as an unexpected key. So a missing key is made only once the
    deployment's database says no packet was signed yet. `deployment_database` is called only then
    (a key that is there is printed or used without any database); it returns None when there is no
    database to ask, a deployment's first key, and raises when the one it was told of cannot be opened.
    """
    if (sign.resolve_key_dir(key_dir) / sign.PRIVATE_KEY_FILE).exists():
        return sign.load_or_create_signer(key_dir)
    engine = deployment_database()
    if engine is None:
        return sign.load_or_create_signer(key_dir)
    with db.unit_of_work(engine) as session:
        return practice_signer(session, key_dir)


class KeyRotation(BaseModel):
    """A deliberate replacement of the signing key, as recorded in every organization's trail."""

    old_fingerprint: str | None
    old_key_kept: bool
    new_fingerprint: str
    public_key_pem: str
    recorded_for_orgs: list[str]


def rotate_signing_key(session: Session, *, actor: str, key_dir: Path | str | None = None) -> KeyRotation:
    """Replace the signing key and record it (never commits).

    The entry goes into every organization's trail, as the key is the deployment's, and is written
    before the files change: a trail that cannot be written leaves the old key in place. When the
    key file is gone (the case a refused build points here for), the old fingerprint is the one the
    latest packet records, and its public key is not kept (each packet still carries it).
    """
    key_file = sign.resolve_key_dir(key_dir) / sign.PRIVATE_KEY_FILE
    old_kept = key_file.exists()
    latest = last_signed_with(session)
    previous = sign.load_or_create_signer(key_dir).fingerprint() if old_kept else latest
    new_private = Ed25519PrivateKey.generate()
    new_key = Ed25519Signer(new_private, created=True)
    # organizations with packets or a trail count too: an org whose packets the key signed may hold no records
    orgs = db.org_ids(session.connection(), (*db.ORG_TABLES, PacketRow.__tablename__, AUDIT_TABLE))
    for org in orgs:
        audit_service.append(session, org_id=org, actor=actor, action="packet.key_rotated",
                             entity_type="signing_key", entity_id=new_key.fingerprint(),
                             payload={"old_fingerprint": previous, "old_key_kept": old_kept,
                                      "latest_packet_fingerprint": latest,
                                      "new_fingerprint": new_key.fingerprint(), "recorded_for_orgs": orgs})
    sign.rotate(key_dir, new_key=new_private, previous=latest)
    return KeyRotation(old_fingerprint=previous, old_key_kept=old_kept, new_fingerprint=new_key.fingerprint(),
                       public_key_pem=new_key.public_key_pem().decode(), recorded_for_orgs=orgs)


def practice_public_keys(session: Session, key_dir: Path | str | None = None) -> list[bytes]:
    """The practice's public keys: the current one first, then those set aside by rotations."""
    return [practice_signer(session, key_dir).public_key_pem(), *sign.retired_public_keys(key_dir)]


def verify_as_practice(session: Session, path: Path, key_dir: Path | str | None = None) -> PacketVerifyReport:
    """Verify a packet against the practice's key, or a key it rotated away from: a packet signed
    before a rotation is still the practice's. Never against the key inside the upload alone."""
    keys = practice_public_keys(session, key_dir)
    report = verify_packet(path, public_key=keys[0])
    for earlier in keys[1:]:
        if report.ok:
            break
        again = verify_packet(path, public_key=earlier)
        if again.ok:
            return again
    return report


#: Failures of the disk itself (full, over quota, read-only), wherever the build was writing.
_STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _store_failed(exc: OSError) -> VigilError:
    """The packet store cannot be written (read-only, full, not permitted): the operator's to fix,
    so say where, by the setting that names it (a caller of the API sees the setting, not the
    server's path); nothing was recorded."""
    return VigilError(
        f"the packet store cannot be written ({exc.strerror or type(exc).__name__}): the folder VIGIL_PACKET_DIR "
        "names must exist or be creatable, be writable and have room; nothing was built or recorded",
        code="server.packet_store")


def check_scope(session: Session, *, org_id: str, establishment: str | None,
                as_of: dt.datetime | None) -> dt.datetime | None:
    """Refuse a packet scope that could only hold nothing; returns `as_of` in UTC.

    A signed packet of nothing reads, to an auditor, as a clean period. So the establishment must be
    one of the org's (an establishment record, or one its findings name), and `as_of` (the database
    state the packet shows) must have an offset, must not be later than now (that state does not
    exist yet) and must not be before the first record was recorded (the database held nothing).
    Called for packets built from the database (`build_stored`, the CLI); `build` takes any sources.
    """
    from engine.findings import run_checks
    from engine.findings import service as findings_service

    problems: list[ErrorDetail] = []
    if establishment is not None:
        if not establishment.strip():
            problems.append(ErrorDetail(reason="blank: name an establishment or leave it out", field="establishment"))
        elif findings_service.unknown_establishments(session, org_id=org_id, ids=[establishment]):
            problems.append(ErrorDetail(reason=f"{establishment!r} is not an establishment of this organization",
                                        field="establishment"))
    instant = None
    if as_of is not None:
        try:
            instant = clock.checked_utc(as_of, field="as_of")
        except InputError as exc:
            problems.extend(exc.details)
    if instant is not None and instant > clock.now():
        problems.append(ErrorDetail(reason=f"{instant.isoformat()} is later than now: the database has not stood "
                                           "there yet; leave as_of out for its state now", field="as_of"))
    if problems:
        raise InputError("the packet cannot be built for this scope", problems, code="input.packet_scope")
    run_checks.check_known_at(session, org_id=org_id, known_at=instant or clock.now(), field="as_of")
    return instant


class PacketInfo(BaseModel):
    """A built packet as listed to officers and auditors."""

    id: str
    framework: str
    period_from: dt.date
    period_to: dt.date
    as_of: dt.datetime
    establishment: str | None
    redacted: bool
    sha256: str
    size: int
    fingerprint: str
    built_at: dt.datetime
    built_by: str


def audit_anchors(session: Session, *, org_id: str | None) -> Iterator[Anchored]:
    """Every stored packet, with the `packet.build` entry written with it (`audit.verify`'s check
    for a chain cut short)."""
    stmt = select(PacketRow.org_id, PacketRow.id, PacketRow.built_at, PacketRow.built_by)
    if org_id is not None:
        stmt = stmt.where(PacketRow.org_id == org_id)
    for row in session.execute(stmt):
        yield Anchored(row.org_id, "packet", row.id, "packet.build", utc(row.built_at), row.built_by)


def list_packets(session: Session, *, org_id: str, framework: str | None = None,
                 window: tuple[dt.date, dt.date] | None = None,
                 establishments: list[str] | None = None, redacted_only: bool = False) -> list[PacketInfo]:
    """Packets of an organization; `framework`/`window`/`establishments`/`redacted_only` narrow it
    (an auditor's grant, `engine.api.scope.packet_filter`): only packets whose period lies inside the
    window, with `establishments` only packets built for one of them (an org-wide packet,
    establishment null, holds every establishment's findings), and with `redacted_only` (a
    pseudonymised grant) only packets built with `--redact-phi`."""
    stmt = select(PacketRow).where(PacketRow.org_id == org_id)
    if redacted_only:
        stmt = stmt.where(PacketRow.redacted.is_(True))
    if framework:
        stmt = stmt.where(PacketRow.framework == framework)
    if window:  # inside the window: a packet reaching beyond it holds findings of days outside the grant
        stmt = stmt.where(PacketRow.period_from >= window[0], PacketRow.period_to <= window[1])
    if establishments is not None:
        stmt = stmt.where(PacketRow.establishment.is_not(None), PacketRow.establishment.in_(establishments))
    rows = session.scalars(stmt.order_by(PacketRow.built_at.desc()))
    return [_info(r) for r in rows]


def packet_file(session: Session, *, org_id: str, packet_id: str, framework: str | None = None,
                window: tuple[dt.date, dt.date] | None = None,
                establishments: list[str] | None = None, redacted_only: bool = False) -> tuple[PacketInfo, Path]:
    """A packet's description and file; outside the narrowing (as `list_packets`) it does not exist."""
    for info in list_packets(session, org_id=org_id, framework=framework, window=window,
                             establishments=establishments, redacted_only=redacted_only):
        if info.id == packet_id:
            row = session.get(PacketRow, packet_id)
            assert row is not None
            return info, _checked_file(row)
    raise NotFoundError(f"no packet {packet_id}")


def _checked_file(row: PacketRow) -> Path:
    """The packet's zip, if it is still the one that was built.

    A packet built from the command line stays where `--out` put it, in the user's hands: moved, it
    had made the download a 500; replaced, the portal served whatever lay there under the packet's
    name. The size and SHA-256 recorded at build time are checked before anything is sent (the
    messages name the file, not the server's folders)."""
    path = Path(row.path)
    if not path.is_file():
        raise NotFoundError(f"packet {row.id}: its file {path.name} is no longer where it was built", [ErrorDetail(
            reason="moved or deleted since it was built: build the packet again", record_id=row.id)],
            code="packet.file_missing")
    if path.stat().st_size != row.size or file_sha256(path) != row.sha256:
        raise IntegrityError(f"packet {row.id}: the file {path.name} is not the packet that was built", [ErrorDetail(
            reason=f"its size or SHA-256 differs from the recorded {row.sha256}: it was replaced or altered; "
                   "build the packet again", record_id=row.id)], code="integrity.packet_file")
    return path


def _info(r: PacketRow) -> PacketInfo:
    return PacketInfo(id=r.id, framework=r.framework, period_from=r.period_from, period_to=r.period_to,
                      as_of=utc(r.as_of), establishment=r.establishment, redacted=r.redacted, sha256=r.sha256,
                      size=r.size, fingerprint=r.fingerprint, built_at=utc(r.built_at), built_by=r.built_by)


def record_build(session: Session, *, inp: PacketInput, report: PacketBuildReport, actor: str) -> None:
    """Append the `packet.build` audit entry: which packet, its hash, scope and signing key."""
    audit_service.append(
        session,
        org_id=inp.org_id,
        actor=actor,
        action="packet.build",
        entity_type="packet",
        entity_id=report.packet_id,
        payload={
            "sha256": report.sha256,
            "size": report.size,
            "framework": inp.framework,
            "period": [inp.period_from, inp.period_to],
            "as_of": inp.as_of,
            "establishment": inp.establishment,
            "redact_phi": inp.redact_phi,
            "fingerprint": report.fingerprint,
        },
    )
