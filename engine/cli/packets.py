"""`vigil packet ...`: build, verify and key management for audit evidence packets."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import typer

from engine import db
from engine.cli.app import app, console, emit_json, run
from engine.errors import InputError
from engine.packets import service as packet_service
from engine.packets.build import build_packet
from engine.packets.schemas import PacketBuildReport, load_input
from engine.packets.sign import load_or_create_signer, resolve_key_dir
from engine.packets.verify import verify_packet

packet_app = typer.Typer(help="Audit evidence packets (BagIt + OSCAL, signed).", no_args_is_help=True)
app.add_typer(packet_app, name="packet")

KeyDirOption = typer.Option(None, "--key-dir", help="Signing key directory (default: VIGIL_KEY_DIR, ./var/keys).")


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--as-of {text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise InputError(f"--as-of {text!r} needs an offset (e.g. 2026-04-01T00:00:00Z)")
    return value


def _date(option: str, text: str | None) -> dt.date:
    if text is None:
        raise InputError(f"{option} is required when building from the database")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


@packet_app.command("build")
def build_cmd(
    out: Path = typer.Option(..., "--out", help="Where to write the packet zip."),
    input_file: Path | None = typer.Option(None, "--input", help="Build from a serialized PacketInput (JSON)."),
    framework: str | None = typer.Option(None, "--framework"),
    date_from: str | None = typer.Option(None, "--from", help="First day of the period (YYYY-MM-DD)."),
    date_to: str | None = typer.Option(None, "--to", help="Last day of the period (YYYY-MM-DD)."),
    establishment: str | None = typer.Option(None, "--establishment"),
    as_of: str | None = typer.Option(None, "--as-of", help="Rebuild as the database stood at this instant."),
    redact_phi: bool = typer.Option(False, "--redact-phi", help="Replace patient identifiers with pseudonyms."),
    org: str = typer.Option("default", "--org"),
    url: str | None = typer.Option(None, "--db", help="Database URL."),
    key_dir: Path | None = KeyDirOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Build a signed, deterministic packet."""

    def body() -> None:
        signer = load_or_create_signer(key_dir)
        if input_file is not None:
            inp = load_input(input_file)
            if redact_phi:
                inp = inp.model_copy(update={"redact_phi": True})
            report = build_packet(inp, out, signer=signer)
        else:
            if framework is None:
                raise InputError("--framework is required when building from the database")
            from engine.packet_sources import DatabaseSources

            sources = DatabaseSources()
            engine = db.make_engine(url)
            db.init_db(engine)
            with db.unit_of_work(engine) as session:
                report = packet_service.build(
                    session,
                    org_id=org,
                    framework=framework,
                    date_from=_date("--from", date_from),
                    date_to=_date("--to", date_to),
                    establishment=establishment,
                    as_of=_instant(as_of),
                    redact_phi=redact_phi,
                    out=out,
                    signer=signer,
                    actor=f"cli:{getpass.getuser()}",
                    sources=sources,
                )
        _print_build(report, as_json)

    run(body)


def _print_build(report: PacketBuildReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    console.print(f"packet {report.packet_id} written to {report.path}", highlight=False, soft_wrap=True)
    console.print(
        f"  sha256 {report.sha256}  ({report.size} bytes, {report.payload_files} payload files)", soft_wrap=True
    )
    console.print(
        f"  signed by {report.fingerprint}{'  (PHI redacted)' if report.redacted else ''}",
        soft_wrap=True,
        markup=False,
    )


@packet_app.command("verify")
def verify_cmd(
    packet: Path = typer.Argument(..., exists=True, dir_okay=False, help="The packet zip."),
    public_key: Path | None = typer.Option(
        None, "--public-key", exists=True, dir_okay=False, help="The practice's public key (PEM) to pin."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check every checksum, the signature and the audit-trail excerpt; exit 1 naming what failed."""

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
            return
        report.raise_if_failed()

    run(body)


@packet_app.command("key")
def key_cmd(
    key_dir: Path | None = KeyDirOption,
    out: Path | None = typer.Option(None, "--out", help="Also write the public key PEM to this file."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print the packet signing public key (PEM) and its fingerprint; creates the key on first use."""

    def body() -> None:
        signer = load_or_create_signer(key_dir)
        pem = signer.public_key_pem()
        if out is not None:
            out.write_bytes(pem)
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
