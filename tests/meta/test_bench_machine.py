"""The machine reference measures what it says: lookups at the large practice's 1x and 10x patient
counts, and the sweep growth they imply. Tiny; figures are not checked."""

from __future__ import annotations

import pytest

from bench import machine
from engine.demo.world import SIZES


def test_the_machine_reference_times_lookups_at_both_sizes_of_the_practice() -> None:
    out = machine.main(2000, rounds=3)
    assert out["table_sizes"] == [SIZES["large"].patients, SIZES["large"].patients * 10]
    assert len(out["random_ns"]) == len(out["key_order_ns"]) == 2 and min(out["random_ns"]) > 0
    assert out["expected_sweep_growth"] == pytest.approx(10 * out["lookup_growth"], abs=0.06)
    assert len(out["lookup_growth_rounds"]) == 3 and out["lookup_growth"] in out["lookup_growth_rounds"]


def test_every_lookup_finds_its_patient() -> None:
    assert machine.lookup_ns(50, 500) > 0
    assert machine.lookup_ns(50, 500, in_key_order=True) > 0


def test_make_bench_sets_each_backends_sweep_growth_beside_the_machines() -> None:
    from bench.run_all import growth

    rows = [{"backend": b, "scale": k, "sweep_s": s, "records": n} for b, k, s, n in [
        ("python", 1.0, 40.0, 2_155_568), ("python", 10.0, 620.0, 21_545_334), ("python", 1.0, 44.0, 2_155_568),
        ("durable", 1.0, 46.3, 2_155_568), ("durable", 10.0, 698.5, 21_545_334)]]
    assert growth(rows, {"expected_sweep_growth": 17.8}) == {
        "expected_sweep_growth": 17.8,
        "durable": {"sweep_growth": 15.1, "data_growth": 10.0, "sweep_s": [46.3, 698.5]},
        "python": {"sweep_growth": 14.8, "data_growth": 10.0, "sweep_s": [40.0, 620.0, 44.0]},  # 620 / 42
    }
