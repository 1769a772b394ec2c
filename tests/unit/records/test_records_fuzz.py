"""Property: whatever a record holds, validating it either refuses it with a RecordValidationError or
gives a stored text that is UTF-8, reads back as the stored form, and hashes (no other exception).

Generated records of every type, with values of every JSON kind and the awkward ones that broke the
import before: 1e999 (infinity), integers past 64 bits, a NUL, half a surrogate pair, times in the
years 1 and 9999 with offsets. Derandomized, so a failure repeats.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine import json_codec, storable_text
from engine.errors import RecordValidationError
from engine.records.schemas import RECORD_MODELS
from engine.records.validation import Position, prepare_record

_AWKWARD = ["2026-03-01T10:00:00Z", "2026-03-01", "2026-03-01T10:00:00+05:30", "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:00:00-05:00", "0001-01-01", "9999-12-31", "2026-02-30T00:00:00Z", "CA", "", "\u0000",
            "party \ud83c", "\U0001f389", "1800-01-01T00:00:00Z"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
                     st.text(max_size=12), st.sampled_from(_AWKWARD))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(["2026", "CA", "x"]), inner,
                                                                         max_size=3)), max_leaves=5)
_FIELDS = {name: [f for f in model.model_fields if f not in ("type", "id")] for name, model in RECORD_MODELS.items()}


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    record_type = draw(st.sampled_from(sorted(RECORD_MODELS)))
    record: dict[str, Any] = {"type": record_type, "id": draw(st.one_of(st.just("X-1"), st.text(max_size=8)))}
    for name in draw(st.lists(st.sampled_from(_FIELDS[record_type]), max_size=5, unique=True)):
        record[name] = draw(_VALUES)
    return record


@settings(max_examples=600, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(_records())
@example({"type": "baa", "id": "B", "effective_at": "0001-01-01T00:00:00+14:00"})  # year 0 in UTC
@example({"type": "access_event", "id": "A", "at": "9999-12-31T23:00:00-05:00"})  # year 10000 in UTC
@example({"type": "organization", "id": "O", "fte_count": float("inf")})  # 1e999 as read
@example({"type": "system", "id": "S", "log_retention_days": 2**64})
@example({"type": "organization", "id": "O", "name": "a\u0000b"})
@example({"type": "organization", "id": "O", "name": "party \ud83c"})
@example({"type": "access_event", "id": "A", "at": "party \ud83c"})  # quoted in the message: it crashed pydantic
@example({"type": "person", "id": "P", "dob": "2020-0\ud83c"})
@example({"type": "x\ud83c", "id": "A\ud83c"})
def test_a_record_is_refused_cleanly_or_stored_in_a_form_that_reads_back(record: dict[str, Any]) -> None:
    try:
        prepared = prepare_record(record, position=Position(line=1))
    except RecordValidationError as exc:
        assert exc.details
        return
    prepared.text.encode("utf-8")  # storable on either database
    back = json_codec.loads(prepared.text)
    assert back == prepared.data and not storable_text.problems(back)
    assert len(prepared.content_hash) == 64
