"""`vigil packet ...`: build, list, verify and key management for audit evidence packets."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from engine import db
from engine.cli import tables
from engine.cli.app import app, console, emit_json, run
from engine.cli.common import (
    ORG_HELP,
    DbOption,
    cannot_write,
    cli_actor,
    framework_option,
    iso_z,
    json_flag,
    open_database,
    open_org,
    out_file,
    parse_date,
    parse_instant,
)
from engine.errors import ErrorDetail, InputError
from engine.packets import service as packet_service
from engine.packets.build import build_packet
from engine.packets.schemas import PacketBuildReport, load_input
from engine.packets.sign import resolve_key_dir
from engine.packets.verify import verify_packet

if TYPE_CHECKING:
    from sqlalchemy import Engine

packet_app = typer.Typer(help="Audit evidence packets (BagIt + OSCAL, signed).", no_args_is_help=True)
app.add_typer(packet_app, name="packet")

#: printed under a packet verified with its own embedded key: that proves the packet intact, and a
#: forger who re-signs an edited packet embeds their own key, so it says nothing of who signed it
EMBEDDED_KEY_NOTE = (
    "  checked with the key embedded in the packet: this proves the packet is intact, not who signed it; "
    "verify with --public-key practice.pub.pem (the practice's key) to prove that"
)
KeyDirOption = typer.Option(None, "--key-dir", help="Signing key directory (default: VIGIL_KEY_DIR, else keys/ in "
                            "VIGIL_VAR_DIR, else in the installation's var/).")


def _deployment_database(url: str | None) -> Engine | None:
    """The database that says whether packets were signed before, for a command that may have to
    make a missing key (`standalone_signer`): --db, else DATABASE_URL, else ./vigil.db if that file
    exists. None when none is named and there is no ./vigil.db: an offline build or a deployment's
    first key has no database to ask. One that is named and cannot be opened is an error, as for
    every command: making a key without the check is what lost auditors the key."""
    if url is None and not os.environ.get("DATABASE_URL"):
        from sqlalchemy.engine import make_url

        default = make_url(db.DEFAULT_URL).database
        if not default or not Path(default).exists():
            return None
    return open_database(url)


def _period(date_from: str | None, date_to: str | None) -> tuple[dt.date, dt.date]:
    """--from and --to, both required from the database, the end not before the start."""
    for option, text in (("--from", date_from), ("--to", date_to)):
        if text is None:
            raise InputError(f"{option} is required when building from the database")
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    assert start is not None and end is not None
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})",
                         [ErrorDetail(reason="--to is before --from", field="--to")])
    return start, end


@packet_app.command("build")
def build_cmd(
    out: Path = typer.Option(..., "--out", help="Where to write the packet zip."),
    input_file: Path | None = typer.Option(None, "--input", exists=True, dir_okay=False,
                                           help="Build from a serialized PacketInput (JSON)."),
    framework: str | None = typer.Option(None, "--framework", help="The framework audited, e.g. hipaa."),
    date_from: str | None = typer.Option(None, "--from",
                                         help="First day of the period (YYYY-MM-DD, a UTC day: from 00:00Z)."),
    date_to: str | None = typer.Option(None, "--to",
                                       help="Last day of the period (YYYY-MM-DD, a UTC day: to 23:59:59Z)."),
    establishment: str | None = typer.Option(None, "--establishment", help="One establishment id only."),
    as_of: str | None = typer.Option(None, "--as-of", help="Rebuild as the database stood at this instant "
                                                           "(ISO 8601 with offset)."),
    redact_phi: bool = typer.Option(False, "--redact-phi", help="Replace patient identifiers with pseudonyms."),
    org: str | None = typer.Option(None, "--org", help=ORG_HELP),
    url: str | None = DbOption,
    key_dir: Path | None = KeyDirOption,
    as_json: bool = json_flag("Print the build report as JSON."),
) -> None:
    """Build a signed, deterministic packet."""

    def body() -> None:
        first_signed = False
        if input_file is not None:
            inp = load_input(input_file)
            if redact_phi:
                inp = inp.model_copy(update={"redact_phi": True})
            out_file(out, "--out")
            # a missing key is made only if the deployment's database (if any) holds no packet signed before
            signer = packet_service.standalone_signer(key_dir, lambda: _deployment_database(url))
            report = build_packet(inp, out, signer=signer)
        else:
            if framework is None:
                raise InputError("--framework is required when building from the database")
            from engine.packet_sources import DatabaseSources
            from engine.rules.catalog import require_frameworks

            start, end = _period(date_from, date_to)
            instant = parse_instant(as_of, "--as-of")
            require_frameworks([framework])  # before the database: a misspelt framework is the likelier mistake
            engine, org_id = open_org(url, org)
            out_file(out, "--out")
            sources = DatabaseSources()
            with db.unit_of_work(engine) as session:
                signer = packet_service.practice_signer(session, key_dir)  # refused if the key signing before is gone
                # the first packet a key signs is when to say so, whether this build made the key or one
                # refused before it did (a build refused for its --as-of had made it, and no build said so)
                first_signed = packet_service.last_signed_with(session) is None
                instant = packet_service.check_scope(session, org_id=org_id, establishment=establishment,
                                                     as_of=instant)  # as the REST face does
                report = packet_service.build(
                    session,
                    org_id=org_id,
                    framework=framework,
                    date_from=start,
                    date_to=end,
                    establishment=establishment,
                    as_of=instant,
                    redact_phi=redact_phi,
                    out=out,
                    signer=signer,
                    actor=cli_actor(),  # VIGIL_ACTOR, else the login, as every command
                    sources=sources,
                )
        if (signer.created or (input_file is None and first_signed)) and not as_json:
            console.print(f"a new packet signing key was made in {resolve_key_dir(key_dir)} (fingerprint "
                          f"{signer.fingerprint()}): back that folder up, and give auditors `vigil packet key`",
                          highlight=False, soft_wrap=True, markup=False)
        _print_build(report, as_json)

    run(body)


def _print_build(report: PacketBuildReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    console.print(f"packet {report.packet_id} written to {report.path}", highlight=False, soft_wrap=True)
    if report.kept is not None:
        console.print(f"  the packet {report.packet_id} already stored stays the one listed and downloaded "
                      f"({report.kept}): compare the two files' sha256 to check a rebuild", highlight=False,
                      soft_wrap=True, markup=False)
    console.print(
        f"  sha256 {report.sha256}  ({report.size} bytes, {report.payload_files} payload files)", soft_wrap=True
    )
    console.print(
        f"  signed by {report.fingerprint}{'  (PHI redacted)' if report.redacted else ''}",
        soft_wrap=True,
        markup=False,
    )


@packet_app.command("list")
def list_cmd(
    framework: str | None = typer.Option(None, "--framework", help="Only packets of this framework, e.g. hipaa."),
    org: str | None = typer.Option(None, "--org", help=ORG_HELP),
    url: str | None = DbOption,
    as_json: bool = json_flag("Print the packets as JSON (as GET /packets lists them)."),
) -> None:
    """List the packets built and stored for the organization, newest first (as GET /packets)."""

    def body() -> list[packet_service.PacketInfo]:
        wanted = framework_option(framework)
        engine, org_id = open_org(url, org)
        with db.unit_of_work(engine) as session:
            return packet_service.list_packets(session, org_id=org_id, framework=wanted)

    items = run(body)
    if as_json:
        emit_json([p.model_dump(mode="json") for p in items])
        return
    # three short values a cell: four columns of two had been over 80 wide, and rich cut the packet id
    listing = tables.table(tables.keep("packet\nframework, period\nscope"), tables.keep("built\nas of\nby"),
                           tables.squeeze("sha256\n\nsize"),
                           title=f"{len(items)} packet{'' if len(items) == 1 else 's'}")
    for p in items:
        listing.add_row(tables.stacked(p.id, f"{p.framework} {p.period_from}..{p.period_to}",
                                       (p.establishment or "all sites") + (", PHI redacted" if p.redacted else "")),
                        tables.stacked(iso_z(p.built_at.replace(microsecond=0)), iso_z(p.as_of.replace(microsecond=0)),
                                       p.built_by),
                        tables.stacked(p.sha256, f"{p.size:,} bytes"))
    console.print(listing)


@packet_app.command("verify")
def verify_cmd(
    packet: Path = typer.Argument(..., exists=True, dir_okay=False, help="The packet zip."),
    public_key: Path | None = typer.Option(
        None, "--public-key", exists=True, dir_okay=False, help="The practice's public key (PEM) to pin."
    ),
    as_json: bool = json_flag("Print the verification report as JSON."),
) -> None:
    """Check every checksum, the signature and the audit-trail excerpt; exit 1 naming what failed,
    exit 2 when the file is no readable zip (a download cut short: download it again)."""

    def body() -> None:
        report = verify_packet(packet, public_key=public_key)
        if as_json:
            emit_json(report.model_dump(mode="json"))
            if not report.ok:
                raise typer.Exit(code=1)
            return
        if report.ok:
            console.print(
                f"packet {report.packet_id} verified: {report.files_checked} files, "
                f"{report.audit_entries_checked} audit entries, "
                f"signed by {report.fingerprint} ({report.key_source} key)",
                highlight=False,
                soft_wrap=True,
            )
            whose = f"{report.org_name} ({report.org_id})" if report.org_name else str(report.org_id)
            console.print(f"  it says it is {whose}'s packet for {report.framework}, {report.period}: the key "
                          "signs for every organization of its deployment, so check these too",
                          highlight=False, soft_wrap=True, markup=False)
            if report.key_source == "embedded":
                console.print(EMBEDDED_KEY_NOTE, highlight=False, soft_wrap=True, markup=False)
            return
        report.raise_if_failed()

    run(body)


@packet_app.command("key")
def key_cmd(
    key_dir: Path | None = KeyDirOption,
    url: str | None = DbOption,
    out: Path | None = typer.Option(None, "--out", help="Also write the public key PEM to this file."),
    as_json: bool = json_flag("Print the key, fingerprint and key folder as JSON."),
) -> None:
    """Print the packet signing public key (PEM) and its fingerprint; creates the key on first use.

    A missing key is made only if the database (--db, else DATABASE_URL, else ./vigil.db if it
    exists) holds no packet signed before; otherwise it is refused: restore the key folder.
    """

    def body() -> None:
        if out is not None:
            out_file(out, "--out")
        signer = packet_service.standalone_signer(key_dir, lambda: _deployment_database(url))
        pem = signer.public_key_pem()
        if out is not None:
            try:
                out.write_bytes(pem)
            except OSError as exc:
                raise cannot_write(out, exc.strerror or str(exc), "--out") from None
        if as_json:
            emit_json(
                {
                    "public_key_pem": pem.decode(),
                    "fingerprint": signer.fingerprint(),
                    "key_dir": str(resolve_key_dir(key_dir)),
                }
            )
            return
        typer.echo(pem.decode(), nl=False)
        typer.echo(f"fingerprint: {signer.fingerprint()}")

    run(body)


@packet_app.command("rotate-key")
def rotate_key_cmd(
    yes: bool = typer.Option(False, "--yes", help="Confirm: replace the key that signs every new packet."),
    key_dir: Path | None = KeyDirOption,
    url: str | None = DbOption,
    actor: str | None = typer.Option(None, "--actor", help="Who rotates, for the audit trail (default: "
                                                             "VIGIL_ACTOR, else cli:<login>)."),
    as_json: bool = json_flag("Print the old and new fingerprints as JSON."),
) -> None:
    """Replace the packet signing key on purpose; the old public key is kept so earlier packets verify.

    Recorded in every organization's audit trail (`packet.key_rotated`). Give auditors the new public
    key (`vigil packet key`) before the next packet. Refused without --yes: a key replaced by mistake
    leaves auditors with packets signed by a key they do not hold.
    """

    def body() -> packet_service.KeyRotation:
        if not yes:
            raise InputError("rotating the packet signing key needs --yes: new packets will be signed by a new key, "
                             "whose public key auditors must then be given (`vigil packet key`); if the key folder "
                             "was lost, restoring it from the backup keeps the key auditors already hold",
                             [ErrorDetail(reason="not confirmed", field="--yes")], code="input.confirm")
        who = cli_actor(actor)
        engine = open_database(url)
        with db.unit_of_work(engine) as session:
            return packet_service.rotate_signing_key(session, actor=who, key_dir=key_dir)

    done = run(body)
    if as_json:
        emit_json(done.model_dump(mode="json"))
        return
    console.print(f"packet signing key replaced in {resolve_key_dir(key_dir)}: new fingerprint {done.new_fingerprint}",
                  highlight=False, soft_wrap=True, markup=False)
    if done.old_fingerprint:
        kept = ("its public key is kept in retired/, so packets it signed still verify" if done.old_key_kept
                else "its key file was already gone: verify older packets with the public key auditors hold")
        console.print(f"  was {done.old_fingerprint}; {kept}", highlight=False, soft_wrap=True, markup=False)
    console.print(f"  recorded in the audit trail of {len(done.recorded_for_orgs)} organization(s); give auditors "
                  "the new public key (`vigil packet key`)", highlight=False, soft_wrap=True, markup=False)
