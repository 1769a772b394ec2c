"""The envelope every record shares, and the strictness every record model inherits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from engine.records.fields import RecordId


class Record(BaseModel):
    """The envelope every record shares: its `type` and its `id` (unique per type in an org)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    id: RecordId
