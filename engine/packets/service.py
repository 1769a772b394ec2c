"""Packet use cases that touch the database: build a packet and record that it was built."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from engine.audit import service as audit_service
from engine.packets.build import build_packet
from engine.packets.collect import PacketSources, collect_input
from engine.packets.schemas import PacketBuildReport, PacketInput
from engine.packets.sign import Signer


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
    sources: PacketSources | None = None,
) -> PacketBuildReport:
    """Collect, build and record one packet (never commits; the caller's unit of work does).

    The audit entry for the build is appended after the excerpt was taken, so a packet never
    contains its own build entry, and the next packet of a later period will.
    """
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
    return report


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
