"""Audit evidence packets: build, list, download, the public key, and verification."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.packet_sources import DatabaseSources
from engine.packets import service as packet_service
from engine.packets.schemas import PacketVerifyReport
from engine.packets.sign import load_or_create_signer
from engine.packets.verify import verify_packet

router = APIRouter(tags=["packets"])


def packet_dir() -> Path:
    return Path(os.environ.get("VIGIL_PACKET_DIR", "var/packets")).resolve()


class PacketIn(BaseModel):
    framework: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=40, examples=["hipaa"])
    date_from: dt.date = Field(alias="from", examples=["2026-01-01"])
    date_to: dt.date = Field(alias="to", examples=["2026-12-31"])
    establishment: str | None = None
    as_of: dt.datetime | None = Field(default=None, description="rebuild as the database stood at this instant")
    redact_phi: bool = False

    model_config = {"populate_by_name": True}

    @model_validator(mode="after")
    def _zip_dates(self) -> PacketIn:
        """A zip stores dates from 1980 to 2107; packets are for real audit periods."""
        for value in (self.date_from, self.date_to, self.as_of):
            if value is not None and not (1980 <= value.year <= 2099):
                raise ValueError("dates must fall between 1980 and 2099")
        return self


class PublicKey(BaseModel):
    fingerprint: str
    pem: str


def _window(principal: Principal) -> tuple[str | None, tuple[dt.date, dt.date] | None]:
    g = principal.grant
    return (g.framework, (g.window_from, g.window_to)) if g is not None else (None, None)


@router.post("/packets", response_model=packet_service.PacketInfo, status_code=201)
def build(
    body: PacketIn,
    principal: Principal = Depends(require(Permission.PACKETS_BUILD)),
    session: Session = Depends(get_session, scope="function"),
) -> packet_service.PacketInfo:
    """Build a signed, deterministic BagIt packet for a framework and period."""
    if body.date_to < body.date_from:
        raise InputError("the period ends before it starts", [ErrorDetail(reason="to < from", field="to")])
    if body.as_of is not None and body.as_of.tzinfo is None:
        raise InputError("as_of needs an offset", [ErrorDetail(reason="e.g. 2026-11-30T17:00:00Z", field="as_of")])
    directory = packet_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, suffix=".zip", delete=False) as tmp:
        target = Path(tmp.name)
    report = packet_service.build(
        session,
        org_id=principal.org_id,
        framework=body.framework,
        date_from=body.date_from,
        date_to=body.date_to,
        establishment=body.establishment,
        as_of=body.as_of,
        redact_phi=body.redact_phi,
        out=target,
        signer=load_or_create_signer(),
        actor=principal.actor,
        sources=DatabaseSources(),
    )
    final = directory / f"{report.packet_id}.zip"
    target.replace(final)
    session.flush()
    from engine.packets.tables import PacketRow

    row = session.get(PacketRow, report.packet_id)
    if row is not None:
        row.path = str(final)
    return next(p for p in packet_service.list_packets(session, org_id=principal.org_id) if p.id == report.packet_id)


@router.get("/packets", response_model=list[packet_service.PacketInfo])
def list_packets(
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> list[packet_service.PacketInfo]:
    framework, window = _window(principal)
    return packet_service.list_packets(session, org_id=principal.org_id, framework=framework, window=window)


@router.get("/packets/public-key", response_model=PublicKey)
def public_key(principal: Principal = Depends(require(Permission.PACKETS_READ))) -> PublicKey:
    """The Ed25519 public key packets are signed with, and its fingerprint (printed in every index)."""
    signer = load_or_create_signer()
    return PublicKey(fingerprint=signer.fingerprint(), pem=signer.public_key_pem().decode())


@router.get("/packets/{packet_id}/download", response_class=FileResponse)
def download(
    packet_id: str,
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> FileResponse:
    framework, window = _window(principal)
    info, path = packet_service.packet_file(
        session, org_id=principal.org_id, packet_id=packet_id, framework=framework, window=window
    )
    return FileResponse(path, media_type="application/zip", filename=f"{info.id}.zip")


@router.post("/packets/verify", response_model=PacketVerifyReport)
def verify(
    file: UploadFile = File(...), principal: Principal = Depends(require(Permission.PACKETS_READ))
) -> PacketVerifyReport:
    """Verify an uploaded packet: every checksum, the signature and the audit-trail excerpt."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "packet.zip"
        with target.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                out.write(chunk)
        return verify_packet(target)
