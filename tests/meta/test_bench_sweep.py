"""The sweep benchmark's growth figure compares sweeps next to each other in time: every scale is
imported first, then each backend sweeps the smallest, the largest and the smallest again. Small
practice; figures are not checked."""

from __future__ import annotations

from bench import sweep


def test_each_backend_sweeps_the_smallest_scale_around_the_largest() -> None:
    rows = sweep.alternating([1.0, 0.5], ["python"], size="small")
    assert [(r["backend"], r["scale"]) for r in rows] == [("python", 0.5), ("python", 1.0), ("python", 0.5)]
    assert rows[0]["violations"] == rows[2]["violations"]  # the same database, swept twice
    assert int(rows[1]["records"]) > int(rows[0]["records"])  # type: ignore[call-overload]
