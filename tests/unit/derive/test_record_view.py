"""RecordView: what code relying on it as it was a frozen dataclass still gets."""

from __future__ import annotations

import pickle

import pytest

from engine.rules.derive import RecordView


def test_views_are_equal_on_their_record_not_on_their_scratch_space() -> None:
    a = RecordView("access_event", "AE-1", 2, {"at": "2026-03-01T09:00:00-06:00"})
    b = RecordView("access_event", "AE-1", 2, {"at": "2026-03-01T09:00:00-06:00"})
    a.scratch()["parsed"] = 1
    assert a == b and not (a != b)
    assert a != b.replace(version=3) and a != b.replace(data={}) and a != b.replace(id="AE-2")
    assert a != ("access_event", "AE-1", 2, {"at": "2026-03-01T09:00:00-06:00"})
    assert b.replace(id="AE-9").id == "AE-9" and b.id == "AE-1"


def test_a_view_is_unhashable_as_its_data_is_and_survives_pickling() -> None:
    view = RecordView("person", "P1", 1, {"last_name": "Ng"})
    with pytest.raises(TypeError):
        hash(view)
    assert pickle.loads(pickle.dumps(view)) == view
    assert repr(view) == "RecordView(type='person', id='P1', version=1, data={'last_name': 'Ng'})"


def test_the_scratch_space_is_made_once_and_kept() -> None:
    view = RecordView("access_event", "AE-1", 1, {})
    assert view.memo is None
    view.scratch()["k"] = "v"
    assert view.scratch() == {"k": "v"} and view.scratch() is view.memo
