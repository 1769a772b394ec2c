"""The nightly benchmark measures what it says: the applied sweeps open, keep and resolve findings
as the store says, and the reference is the same sweep not applied. Small practice; figures are not
checked."""

from __future__ import annotations

from bench import nightly


def test_the_nightly_benchmark_applies_the_first_sweep_and_the_next_days() -> None:
    imported, first, reference, applied, summary = nightly.main(1.0, "small")
    assert imported["records"] > 0
    assert first["applied"] and first["opened"] == first["violations"] > 0 and first["resolved"] == 0
    assert not reference["applied"] and "opened" not in reference  # not applied: no diff
    assert applied["violations"] == reference["violations"]  # the same sweep, applied
    assert applied["opened"] + applied["persisted"] == applied["violations"]
    assert applied["resolved"] == first["violations"] - applied["persisted"]
    assert summary["store_s"] == round(applied["seconds"] - reference["seconds"], 1)
