"""Audit evidence packets: build, list, download, the public key, and verification."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from engine.api import scope, uploads
from engine.api.deps import get_session, require
from engine.auth.roles import Permission
from engine.auth.schemas import Principal
from engine.errors import ErrorDetail, InputError
from engine.packet_sources import DatabaseSources
from engine.packets import service as packet_service
from engine.packets.schemas import PacketVerifyReport

router = APIRouter(tags=["packets"])


class PublicKey(BaseModel):
    fingerprint: str
    pem: str


@router.post("/packets", response_model=packet_service.PacketInfo, status_code=201)
def build(
    body: packet_service.PacketRequest,
    principal: Principal = Depends(require(Permission.PACKETS_BUILD)),
    session: Session = Depends(get_session, scope="function"),
) -> packet_service.PacketInfo:
    """Build a signed, deterministic BagIt packet for a framework and period."""
    return packet_service.build_stored(session, org_id=principal.org_id, request=body, actor=principal.actor,
                                       sources=DatabaseSources())


@router.get("/packets", response_model=list[packet_service.PacketInfo])
def list_packets(
    framework: str | None = Query(None, max_length=40, description="only packets of this framework, e.g. hipaa "
                                  "(`vigil packet list --framework`)"),
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> list[packet_service.PacketInfo]:
    """Built packets, newest first (`vigil packet list`); an auditor's grant narrows them (framework,
    window, establishments), and a `framework` beyond the grant is refused (403)."""
    return packet_service.list_packets(session, org_id=principal.org_id,
                                       **scope.packet_filter(principal, framework=framework))


@router.get("/packets/public-key", response_model=PublicKey)
def public_key(principal: Principal = Depends(require(Permission.PACKETS_READ)),
               session: Session = Depends(get_session, scope="function")) -> PublicKey:
    """The Ed25519 public key packets are signed with, and its fingerprint (printed in every index)."""
    signer = packet_service.practice_signer(session)  # never a silent new key once packets were signed
    return PublicKey(fingerprint=signer.fingerprint(), pem=signer.public_key_pem().decode())


@router.get("/packets/{packet_id}/download", response_class=FileResponse, responses={
    200: {"description": "the packet's zip", "content": {"application/zip": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}})
def download(
    packet_id: str,
    principal: Principal = Depends(require(Permission.PACKETS_READ)),
    session: Session = Depends(get_session, scope="function"),
) -> FileResponse:
    """A packet's zip; outside an auditor's grant it is not found."""
    info, path = packet_service.packet_file(session, org_id=principal.org_id, packet_id=packet_id,
                                            **scope.packet_filter(principal))
    return FileResponse(path, media_type="application/zip", filename=f"{info.id}.zip")


@router.post("/packets/verify", response_model=PacketVerifyReport)
def verify(
    file: UploadFile = File(...), principal: Principal = Depends(require(Permission.PACKETS_READ)),
    _single: None = Depends(uploads.single_parts("file", known=("file",))),  # after the sign-in check
    session: Session = Depends(get_session, scope="function"),
) -> PacketVerifyReport:
    """Verify an uploaded packet: every checksum, the signature and the audit-trail excerpt. Errors
    name the uploaded file, never where the server kept it. One packet a request: a second `file`
    part is a 422 (the last had been checked alone, the other passed over without a word).

    The signature is checked against the practice's own public key, never the key inside the
    upload: anyone can re-sign an edited packet with a key of their own and embed it, and the
    server's "ok" would then vouch for a forgery. A packet signed by another key (a forger's, or
    a key it has not held) fails, naming both fingerprints; one signed with a key the practice
    rotated away from (`vigil packet rotate-key`) still verifies."""
    packet_service.practice_public_keys(session)  # a missing key is said before the upload is read
    with uploads.spooled(file, default="packet.zip") as (target, name):
        try:
            report = packet_service.verify_as_practice(session, target)
        except InputError as exc:  # not a zip, a zip bomb: the upload cannot be checked at all
            _on_part(exc, "file")
            raise
    # a problem of the whole zip names it as sent, not where the server spooled it (a zip holding no
    # bag had answered "/tmp/tmpeekmp3sp/sent.zip")
    return report.model_copy(update={"problems": [
        p.model_copy(update={"file": name}) if p.file == str(target) else p for p in report.problems]})


def _on_part(exc: InputError, part: str) -> None:
    """Put each of the error's problems on the multipart `part` that carried the upload, in place:
    the service knows the file, the route the field the caller sent it in (docs/api.md, Errors)."""
    exc.details = [replace(d, field=d.field or part) for d in exc.details] or [ErrorDetail(reason=exc.message,
                                                                                           field=part)]
