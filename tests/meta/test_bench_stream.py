"""The stream benchmark measures what it says: Vigil's streaming path finds, on the same events and
rules, exactly what raw durable_rules matches (a ratio between paths doing different work would mean
nothing). Small; figures are not checked, only the findings."""

from __future__ import annotations

from bench import stream
from engine.records.validation import Position, prepare_record


def test_the_stream_benchmark_finds_what_raw_durable_rules_matches() -> None:
    out = stream.main(1500, rounds=2)  # two import batches: the stream process path
    assert out["raw_matches"] > 0
    assert out["raw_api_matches"] == out["raw_matches"]  # durable_rules' own API: the same matches
    assert out["vigil_findings"] == out["vigil_findings_max"] == out["raw_matches"]  # in every round
    assert len(out["ratio_rounds"]) == 2 and len(out["raw_runs"]) == 3
    assert out["import_only_findings"] == 0 and len(out["import_only_runs"]) == 2  # the ceiling: stored, not matched
    assert out["floor_rows"] == 1500 and len(out["floor_runs"]) == 2  # the floor stored every event
    assert set(out) >= {"raw_durable_events_per_s", "vigil_stream_events_per_s", "ratio_vigil_over_raw",
                        "vigil_cpu_us_per_event_importer", "vigil_cpu_us_per_event_stream_processes",
                        "raw_durable_api_events_per_s", "ratio_vigil_over_raw_api",
                        "import_only_events_per_s", "ratio_import_only_over_raw",
                        "floor_events_per_s", "ratio_floor_over_raw", "floor_cpu_us_per_event"}


def test_the_floor_stores_what_the_import_stores() -> None:
    """(f) leaves out the import's checks, not its work: each event's stored text and hash are the
    import's own."""
    for event in stream.make_events(200, seed=3):
        prepared = prepare_record(event, position=Position())
        row = stream.floor_row(event)
        assert (row.text, row.content_hash) == (prepared.text, prepared.content_hash)
