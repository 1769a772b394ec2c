"""`vigil demo-data`: determinism, contract validity, referential integrity, coverage, speed."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from engine.demo import generate
from engine.demo.model import RECORD_TYPES
from engine.demo.plants import CATALOG_RULES
from engine.records.references import REFERENCES
from engine.records.schemas import RECORD_MODELS
from tests.unit.demo.support import ANCHORS, Practice, load

CATALOG = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "regulatory-catalog.md"

# instants allowed after the evaluation instant: expiries, due dates and scheduled things
FUTURE_OK = {("credential", "expires_at"), ("risk_item", "due_at"), ("incident", "le_delay_until"),
             ("phi_flow", "first_at")}


def catalog_rule_ids() -> list[str]:
    text = CATALOG.read_text(encoding="utf-8")
    sections = text.split("\n## 6.")[0]
    return re.findall(r"^### ([A-Z0-9]+(?:-[A-Z0-9]+)+) ·", sections, flags=re.MULTILINE)


def test_rule_list_matches_the_catalog() -> None:
    ids = catalog_rule_ids()
    assert len(ids) >= 60
    assert [r for r, _ in CATALOG_RULES] == ids


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, size="small", seed=11, anchor=dt.date(2026, 3, 3))
    generate(b, size="small", seed=11, anchor=dt.date(2026, 3, 3))
    generate(c, size="small", seed=12, anchor=dt.date(2026, 3, 3))
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {f"{t}.ndjson" for t in RECORD_TYPES} | {"planted.json", "manifest.json"} == set(names)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "person.ndjson").read_bytes() != (c / "person.ndjson").read_bytes()


def test_identical_bytes_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    code = ("import datetime as dt, sys; from engine.demo import generate; "
            "generate(sys.argv[1], size='small', seed=4, anchor=dt.date(2026, 7, 15))")
    repo = Path(__file__).resolve().parents[3]
    for n, hash_seed in enumerate(("1", "4242")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(n))], check=True, env=env, cwd=repo)
    for f in sorted((tmp_path / "0").iterdir()):
        assert f.read_bytes() == (tmp_path / "1" / f.name).read_bytes(), f.name


def test_every_contract_type_is_present(small: Practice) -> None:
    assert set(RECORD_TYPES) == set(RECORD_MODELS)
    empty = [t for t in RECORD_TYPES if not small.records[t]]
    assert not empty


def test_sizes_of_the_small_practice(small: Practice) -> None:
    persons = len(small.records["person"])
    assert 60 <= persons <= 130
    assert 5_000 <= len(small.records["access_event"]) <= 20_000
    assert len(small.records["establishment"]) == 5
    assert len({e["tz"] for e in small.records["establishment"]}) == 5
    org = small.records["organization"][0]
    assert {"CA", "TX", "IL", "CO", "NY", "FL", "WA"} <= set(org["states"])
    assert org["receives_federal_financial_assistance"] is True
    rehired = [p for p in small.records["person"]
               if sum(1 for e in small.records["employment_episode"] if e["person_id"] == p["id"]) > 1]
    assert rehired
    assert {t["category"] for t in small.records["ai_tool"]} == {
        "PCDST", "PREDICTIVE_DSI", "GENAI_PATIENT_COMMS", "AMBIENT_SCRIBE", "ADMIN", "MH_CHATBOT"}
    assert {m["measure_id"] for m in small.records["measure_case"]} == {"001", "236", "226", "134", "130"}


def test_every_record_validates_against_the_contract_models(practice: Practice) -> None:
    problems = []
    for t, model in RECORD_MODELS.items():
        with open(practice.dir / f"{t}.ndjson", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    model.model_validate_json(line)
                except Exception as exc:  # noqa: BLE001 - collect every problem
                    problems.append(f"{t}:{n}: {exc}")
    assert not problems, "\n".join(problems[:20])


def test_ids_are_unique_per_type(practice: Practice) -> None:
    for t in RECORD_TYPES:
        ids = [r["id"] for r in practice.records[t]]
        assert len(ids) == len(set(ids)), t


def test_references_point_at_existing_records(practice: Practice) -> None:
    missing = []
    for t, fields in REFERENCES.items():  # the map imports check references by
        for r in practice.records[t]:
            for fld, target in fields.items():
                value = r.get(fld)
                for ref in value if isinstance(value, list) else [value]:
                    if ref is not None and ref not in practice.ids(target):
                        missing.append(f"{t} {r['id']}.{fld} -> {target} {ref}")
    users = {(a["system_id"], a["user_id"]) for a in practice.records["account"]}
    for e in practice.records["access_event"]:
        if (e["system_id"], e["user_id"]) not in users:
            missing.append(f"access_event {e['id']} user {e['user_id']} has no account on {e['system_id']}")
    for p in practice.records["person"]:
        if p["patient_id"] and practice.ids("patient")[p["patient_id"]]["is_workforce_person_id"] != p["id"]:
            missing.append(f"person {p['id']} and patient {p['patient_id']} do not point at each other")
    assert not missing, "\n".join(missing[:20])


def test_nothing_happens_after_the_evaluation_instant(practice: Practice) -> None:
    late = []
    for t, model in RECORD_MODELS.items():
        instants = [f for f, info in model.model_fields.items()
                    if "date-time" in json.dumps(info.json_schema_extra or {}) or f.endswith("_at") or f == "at"]
        for r in practice.records[t]:
            for f in instants:
                if (t, f) in FUTURE_OK or not isinstance(r.get(f), str):
                    continue
                if dt.datetime.fromisoformat(r[f]) >= practice.as_of:
                    late.append(f"{t} {r['id']}.{f} = {r[f]}")
    assert not late, "\n".join(late[:20])


def test_planted_covers_every_catalog_rule(practice: Practice) -> None:
    planted_rules = {e["rule_id"] for e in practice.planted}
    unplantable = {u["rule_id"]: u["reason"] for u in practice.manifest["unplantable"]}
    for rule in catalog_rule_ids():
        assert rule in planted_rules or unplantable.get(rule, "").strip(), rule
        if rule in unplantable:
            assert len(unplantable[rule]) > 40 and rule not in planted_rules
    assert practice.planted == sorted(
        practice.planted, key=lambda e: (e["rule_id"], e["subject"]["type"], e["subject"]["id"], e["note"]))
    for e in practice.planted + practice.manifest["near_misses"]:
        assert set(e) == {"rule_id", "subject", "note"} and e["note"]
        s = e["subject"]
        assert s["id"] in practice.ids(s["type"]), f"{e['rule_id']}: {s}"


def test_most_rules_are_planted_at_the_main_anchor(small: Practice) -> None:
    statuses = {k: v["status"] for k, v in small.manifest["rules"].items()}
    assert sum(1 for s in statuses.values() if s != "unplantable") >= 55
    assert not [r for r in ("AI-CO-009", "AI-CA-489-007", "AI-1557-ID-003") if statuses[r] == "unplantable"]


def test_ai_rules_not_yet_in_force_are_reported_unplantable(tmp_path: Path) -> None:
    generate(tmp_path, size="small", seed=3, anchor=dt.date(2025, 3, 1))
    p = load(tmp_path, dt.date(2025, 3, 1))
    unplantable = {u["rule_id"]: u["reason"] for u in p.manifest["unplantable"]}
    for rule in ("AI-CO-009", "AI-CA-489-007", "AI-1557-ID-003", "AI-TX-008"):
        assert "Not in force" in unplantable[rule]
    assert "AI-CA-3030-006" in {e["rule_id"] for e in p.planted}


def test_a_scaled_down_large_run_streams_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = generate(tmp_path, size="large", seed=5, anchor=ANCHORS[0], scale=0.03)
    elapsed = time.perf_counter() - started
    assert elapsed < 30, elapsed
    assert result.counts["access_event"] >= 20_000
    assert result.counts["person"] >= 100
    with open(tmp_path / "access_event.ndjson", encoding="utf-8") as f:
        first = json.loads(f.readline())
    assert first["type"] == "access_event"


def test_cli_writes_the_practice(tmp_path: Path) -> None:
    from engine.cli.main import app

    result = CliRunner().invoke(app, ["demo-data", "--size", "small", "--seed", "2", "--anchor", "2026-07-15",
                                      "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["anchor"] == "2026-07-15" and summary["planted"] > 50
    assert (tmp_path / "planted.json").exists()
    bad = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path), "--anchor", "15/07/2026"])
    assert bad.exit_code == 2


def test_demo_data_writes_the_demos_practice_by_default(tmp_path: Path) -> None:
    """The docs probe: the README's `vigil demo-data --out var/demo-data` wrote seed 7's practice over
    the files `vigil demo` (seed 1) had loaded, and re-importing them failed on every event."""
    from engine.cli.main import app

    def demo_option(command: str) -> object:
        (param,) = [p for p in typer.main.get_command(app).commands[command].params if p.name == "seed"]
        return param.default

    result = CliRunner().invoke(app, ["demo-data", "--anchor", "2026-07-15", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert demo_option("demo-data") == demo_option("demo") == 1
    generate(tmp_path / "seed1", size="small", seed=1, anchor=dt.date(2026, 7, 15))
    assert (tmp_path / "person.ndjson").read_bytes() == (tmp_path / "seed1" / "person.ndjson").read_bytes()


@pytest.mark.parametrize("anchor", ["2024-02-29", "2026-11-01", "2026-12-31"])
def test_awkward_anchors_generate(tmp_path: Path, anchor: str) -> None:
    day = dt.date.fromisoformat(anchor)
    generate(tmp_path, size="small", seed=1, anchor=day)
    p = load(tmp_path, day)
    assert all(p.records[t] for t in RECORD_TYPES)


@pytest.mark.parametrize("anchor", [dt.date(2026, 1, 5), dt.date(2026, 12, 7), dt.date(2027, 7, 1)])
def test_every_role_holder_the_shipped_roles_yaml_names_works_there_on_the_demos_day(
        tmp_path: Path, anchor: dt.date) -> None:
    """policies/roles.yaml named staff the demo's world lets come and go: on most days some holder
    (the quality lead, the records custodian, employee health) had left, and the demo warned of them."""
    import yaml

    from engine.cli.demo_data import DEMO_SEED

    generate(tmp_path, size="small", seed=DEMO_SEED, anchor=anchor)
    noon = dt.datetime.combine(anchor, dt.time(12), tzinfo=dt.UTC)
    working = {e["person_id"] for e in map(json.loads, (tmp_path / "employment_episode.ndjson").open())
               if dt.datetime.fromisoformat(e["start_at"]) <= noon
               and (not e.get("end_at") or dt.datetime.fromisoformat(e["end_at"]) > noon)}
    roles = yaml.safe_load((Path(__file__).resolve().parents[3] / "policies" / "roles.yaml").read_text())["roles"]
    holders = {(role, site, person) for role, sites in roles.items() for site, person in sites.items()}
    assert holders and not {h for h in holders if h[2] not in working}
