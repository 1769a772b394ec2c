"""`bench.derivation` times what a sweep runs: the same derivation, over the same records, in the
context a sweep builds. Small (the demo practice); figures are not checked, only what was derived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench import derivation, order
from engine import db, pipeline
from engine.demo.generator import generate
from engine.rules import runner
from engine.rules.derive import DERIVATIONS, load_families

AS_OF = "2026-06-15T17:00:00+00:00"


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    out = tmp_path_factory.mktemp("bench-derivation")
    generate(out / "data", size="small", seed=7, anchor=dt.date(2026, 6, 15))
    url = f"sqlite:///{out / 'practice.db'}"
    engine = db.make_engine(url)
    db.init_db(engine)
    files = sorted((out / "data").glob("*.ndjson"))
    with db.unit_of_work(engine) as session:
        pipeline.ingest_files(session, org_id="bench", paths=files, actor="test", stream=False)
    events = sum(1 for _ in (out / "data" / "access_event.ndjson").open("rb"))
    return url, events


def _sweep_facts(url: str, name: str) -> list[str]:
    """The facts `name` yields over the same records all held in memory, in the context the sweep
    builds (`runner.derive_setup`), as a sweep of a small practice runs it."""
    load_families()
    (d,) = [d for _, d in DERIVATIONS if d.name == name]
    instant = dt.datetime.fromisoformat(AS_OF)
    with db.unit_of_work(db.make_engine(url)) as session:
        source = pipeline.StoreSource(session, "bench")
        memory = {t: list(source.iter_type(t)) for t in {*d.inputs, *derivation.HELD}}
        _, _, ctx = runner.derive_setup(memory, pipeline.compile_in_force(instant), instant)
        return [f.id for f in d.fn(ctx, {t: memory[t] for t in d.inputs})]


@pytest.mark.parametrize("name", ["hipaa.training_duties", "hipaa.access_alerts"])
def test_a_derivation_alone_derives_what_the_sweep_derives(practice: tuple[str, int], name: str) -> None:
    url, _ = practice
    out = derivation.run(url, name, as_of=AS_OF)
    expected = _sweep_facts(url, name)
    assert out["facts"] == len(expected) and out["derivation"] == name
    assert out["cpu_s"] >= 0 and out["peak_rss_mb"] > 0


def test_reading_alone_reads_the_whole_stream_or_the_first_n(practice: tuple[str, int]) -> None:
    url, events = practice
    assert events > 100
    assert derivation.run(url, "hipaa.access_alerts", as_of=AS_OF, read_only=True)["records_read"] == events
    assert derivation.run(url, "hipaa.access_alerts", as_of=AS_OF, read_only=True, limit=100)["records_read"] == 100


def test_an_unknown_derivation_is_named_with_the_registered_ones(practice: tuple[str, int]) -> None:
    with pytest.raises(SystemExit, match="no derivation 'hipaa.nope'; registered: .*hipaa.access_alerts"):
        derivation.run(practice[0], "hipaa.nope", as_of=AS_OF)


def test_the_tool_is_documented_where_the_benchmarks_are() -> None:
    readme = (Path(__file__).parents[2] / "bench" / "README.md").read_text(encoding="utf-8")
    assert "python -m bench.derivation" in readme


def test_every_order_of_the_log_derives_the_same(practice: tuple[str, int]) -> None:
    """`bench.order` hands the derivation the whole log in each order; the alerts and duties must
    not depend on it (only their time may)."""
    url, events = practice
    names = ["hipaa.access_alerts", "hipaa.training_duties"]
    rows = order.run(url, names, list(order.ORDERS), as_of=AS_OF)
    assert [(r["order"], r["derivation"]) for r in rows] == [(o, n) for o in order.ORDERS for n in names]
    assert all(r["events"] == events for r in rows)
    for name in names:
        assert {r["facts"] for r in rows if r["derivation"] == name} == {len(_sweep_facts(url, name))}
    with pytest.raises(SystemExit, match="no order sideways"):
        order.run(url, names, ["log", "sideways"], as_of=AS_OF)
