"""A ruleset version as an OSCAL catalog and profile: valid against the NIST 1.2.1 schemas, loadable
and resolvable by compliance-trestle, one control per rule under the packets' control ids, and the
same bytes for the same ruleset and parameter values."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import regex
from trestle.core.profile_resolver import ProfileResolver
from trestle.oscal.catalog import Catalog
from trestle.oscal.profile import Profile

from engine.errors import NotFoundError
from engine.packets.oscal_ids import control_id
from engine.rules.catalog import RULESETS_DIR, load_all
from engine.rules.oscal_catalog import param_id, rule_params
from engine.rules.oscal_export import DOCUMENTS, document_bytes, export_ruleset, oscal_document
from tests.conftest import SHARED
from tests.unit.packets.test_packet_oscal import schema_errors

OSCAL_DIR = SHARED / "formats" / "oscal"
SCHEMAS = {"catalog": OSCAL_DIR / "oscal_catalog_schema-1.2.1.json",
           "profile": OSCAL_DIR / "oscal_profile_schema-1.2.1.json"}
SHIPPED = sorted({item.spec.framework for item in load_all(RULESETS_DIR)})
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rulesets"
DAY = dt.date(2026, 3, 5)
TOKEN = r"(\p{L}|_)(\p{L}|\p{N}|[.\-_])*"


def _export(framework: str, tmp_path: Path, version: str | None = None, *, root: Path = RULESETS_DIR,
            day: dt.date = DAY, practice: str | None = None) -> Any:
    """An export with the practice's values from `practice` (none: the defaults), not the checkout's."""
    path = tmp_path / "practice.yaml"
    if practice is not None:
        path.write_text(practice)
    return export_ruleset(framework, version, day=day, root=root, params_path=path)


def _controls(controls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every control, those inside a provision's control too."""
    return [c for top in controls for c in [top, *_controls(top.get("controls", []))]]


def _prop(obj: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in obj.get("props", []) if p["name"] == name]


def test_the_shipped_rulesets_are_the_five_frameworks() -> None:
    assert SHIPPED == ["ai_use", "cms", "credentialing", "hipaa", "osha"]


@pytest.mark.parametrize("framework", SHIPPED)
def test_every_shipped_ruleset_gives_a_catalog_and_profile_valid_against_the_nist_schemas(
        framework: str, tmp_path: Path) -> None:
    export = _export(framework, tmp_path)
    for name in DOCUMENTS:
        assert schema_errors(export.document(name), SCHEMAS[name]) == [], name
    for name in DOCUMENTS:
        (tmp_path / export.files[name]).write_bytes(document_bytes(export.document(name)))
    catalog = Catalog.oscal_read(tmp_path / export.files["catalog"])
    profile = Profile.oscal_read(tmp_path / export.files["profile"])
    assert catalog is not None and profile is not None
    assert profile.imports[0].href == f"{framework}-{export.version}.catalog.json"


def test_the_validator_refuses_a_citation_as_a_control_id(tmp_path: Path) -> None:
    doc = copy.deepcopy(_export("hipaa", tmp_path).catalog)
    doc["catalog"]["groups"][0]["controls"][0]["id"] = "164.312(b)"
    doc["catalog"]["metadata"]["last-modified"] = "2013-09-23T00:00:00"
    errors = schema_errors(doc, SCHEMAS["catalog"])
    assert any(e.startswith("$.catalog.groups[0]:") for e in errors)  # a group is an anyOf: the error is its
    assert any("last-modified" in e for e in errors)
    doc["catalog"]["groups"][0]["controls"][0]["id"] = "hipaa-164.312-b"
    assert not any(e.startswith("$.catalog.groups[0]:") for e in schema_errors(doc, SCHEMAS["catalog"]))


@pytest.mark.parametrize("framework", SHIPPED)
def test_every_rule_is_a_control_under_the_control_id_the_packets_give_it(framework: str, tmp_path: Path) -> None:
    """The auditor's join: a finding's `target-id` in a packet's results is a control of the catalog,
    and the rule is that control, or one inside it when several rules cite the same provision first."""
    export = _export(framework, tmp_path)
    (group,) = export.catalog["catalog"]["groups"]
    top = {c["id"]: c for c in group["controls"]}
    every = _controls(group["controls"])
    ids = [c["id"] for c in every]
    assert len(ids) == len(set(ids)) and all(regex.fullmatch(TOKEN, i) for i in ids)
    spec = next(i.spec for i in load_all(RULESETS_DIR) if i.spec.framework == framework)
    for rule in spec.rules:
        control = top[control_id(framework, rule.citation, rule.id)]
        assert rule.id in _prop(control, "rule-id")
        own = next(c for c in [control, *control.get("controls", [])] if _prop(c, "rule-id") == [rule.id])
        assert own["title"] and _prop(own, "label") == [rule.citation]
        assert _prop(own, "severity") == [rule.severity] and _prop(own, "sop") == [rule.sop]
        assert _prop(own, "advisory") == [str(rule.advisory).lower()]
        statement = next(p for p in own["parts"] if p["name"] == "statement")
        assert statement["prose"] and "{{ " not in statement["prose"].replace("{{ insert:", "")  # no Jinja
        deadline = [p for p in statement.get("parts", []) if p["id"].endswith("_smt.deadline")]
        assert bool(deadline) == (rule.obligation is not None)
    assert export.rules == len(spec.rules) and export.controls == len(every)


def test_rules_sharing_a_first_provision_are_controls_inside_the_provision(tmp_path: Path) -> None:
    """AI-1557-MIT-004 and AI-MON-012 both cite 45 CFR 92.210(c) first: the packets judge both against
    `ai-use-92.210-c`, which must name one control."""
    (group,) = _export("ai_use", tmp_path).catalog["catalog"]["groups"]
    provision = next(c for c in group["controls"] if c["id"] == "ai-use-92.210-c")
    assert provision["class"] == "provision" and provision["title"] == "Rules citing 92.210(c)"
    assert [c["id"] for c in provision["controls"]] == ["ai-use-92.210-c.ai-1557-mit-004", "ai-use-92.210-c.ai-mon-012"]
    assert _prop(provision, "rule-id") == ["AI-1557-MIT-004", "AI-MON-012"]


@pytest.mark.parametrize("framework", SHIPPED)
def test_every_parameter_is_declared_once_and_set_by_the_profile(framework: str, tmp_path: Path) -> None:
    export = _export(framework, tmp_path)
    catalog = export.catalog["catalog"]
    declared = [p["id"] for p in catalog.get("params", [])]
    declared += [p["id"] for c in _controls(catalog["groups"][0]["controls"]) for p in c.get("params", [])]
    spec = next(i.spec for i in load_all(RULESETS_DIR) if i.spec.framework == framework)
    assert sorted(declared) == sorted(param_id(framework, n) for n in spec.params)
    settings = export.profile["profile"]["modify"]["set-parameters"]
    assert [s["param-id"] for s in settings] == [param_id(framework, n) for n in spec.params]
    assert all(_prop(s, "source") == ["default"] for s in settings)


def test_a_parameter_one_rule_names_is_declared_in_its_control_and_inserted_in_its_prose(tmp_path: Path) -> None:
    catalog = _export("hipaa", tmp_path).catalog["catalog"]
    control = next(c for c in catalog["groups"][0]["controls"] if _prop(c, "rule-id") == ["HIPAA-SEC-TERM-004"])
    assert [p["id"] for p in control["params"]] == ["hipaa.access_revoke_hours"]
    (param,) = control["params"]
    assert param["values"] == ["24"] and _prop(param, "unit") == ["hours"] and _prop(param, "type") == ["number"]
    items = {p["id"]: p for p in control["parts"][0]["parts"]}
    assert "{{ insert: param, hipaa.access_revoke_hours }}" in items[f"{control['id']}_smt.params"]["prose"]
    assert rule_params(next(i.spec for i in load_all(RULESETS_DIR) if i.spec.framework == "hipaa"))[
        "HIPAA-SEC-TERM-004"] == ["access_revoke_hours"]
    # one several rules name (or none) is the catalog's
    assert "hipaa.breach_warn_days" in [p["id"] for p in catalog["params"]]


def test_the_ruleset_file_its_hash_and_version_are_in_the_catalog(tmp_path: Path) -> None:
    export = _export("hipaa", tmp_path)
    catalog = export.catalog["catalog"]
    meta = catalog["metadata"]
    assert meta["version"] == export.version and meta["oscal-version"] == "1.2.1"
    assert meta["last-modified"] == "2013-09-23T00:00:00Z"  # the ruleset's effective_from, not the clock
    assert _prop(meta, "ruleset-sha256") == [export.sha256]
    (resource,) = catalog["back-matter"]["resources"]
    assert resource["rlinks"] == [{"href": "rulesets/hipaa/hipaa-2026.1.0.yaml", "media-type": "application/yaml",
                                   "hashes": [{"algorithm": "SHA-256", "value": export.sha256}]}]
    assert meta["links"] == [{"href": f"#{resource['uuid']}", "rel": "source"}]


@pytest.mark.parametrize("framework", SHIPPED)
def test_the_same_ruleset_and_values_give_the_same_bytes_on_any_day(framework: str, tmp_path: Path) -> None:
    first = _export(framework, tmp_path)
    again = _export(framework, tmp_path, day=DAY + dt.timedelta(days=40))
    for name in DOCUMENTS:
        assert document_bytes(first.document(name)) == document_bytes(again.document(name))


PRACTICE = """params:
  demo:
    new_hire_days:
      - {value: 20, from: 2026-02-01, approved_by: Dr. Chief, reason: tighter}
"""


def test_the_profile_sets_the_practice_values_in_force_and_changes_with_them(tmp_path: Path) -> None:
    default = _export("demo", tmp_path, root=FIXTURES)
    practice = _export("demo", tmp_path, root=FIXTURES, practice=PRACTICE)
    assert document_bytes(default.catalog) == document_bytes(practice.catalog)
    profile = practice.profile["profile"]
    (setting,) = profile["modify"]["set-parameters"]
    assert setting["param-id"] == "demo.new_hire_days" and setting["values"] == ["20"]
    assert _prop(setting, "source") == ["practice"] and _prop(setting, "approved-by") == ["Dr. Chief"]
    assert _prop(setting, "effective-from") == ["2026-02-01"]
    assert profile["metadata"]["last-modified"] == "2026-02-01T00:00:00Z"  # the value's day, after the ruleset's
    assert profile["uuid"] != default.profile["profile"]["uuid"] and practice.practice_values == 1
    (before,) = default.profile["profile"]["modify"]["set-parameters"]
    assert before["values"] == ["30"] and _prop(before, "source") == ["default"]
    # a day before the value took effect: the default again
    january = _export("demo", tmp_path, root=FIXTURES, practice=PRACTICE, day=dt.date(2026, 1, 15))
    assert document_bytes(january.profile) == document_bytes(default.profile)


def test_a_profile_resolves_with_trestle_into_the_catalog_with_the_values_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = _export("demo", tmp_path, root=FIXTURES, practice=PRACTICE)
    (tmp_path / ".trestle").mkdir()
    for name in DOCUMENTS:
        (tmp_path / export.files[name]).write_bytes(document_bytes(export.document(name)))
    monkeypatch.chdir(tmp_path)  # trestle reads an import's relative href from the working folder
    resolved = ProfileResolver.get_resolved_profile_catalog(tmp_path, tmp_path / export.files["profile"])
    controls = {c.id: c for g in resolved.groups or [] for c in g.controls or []}
    assert set(controls) == {"demo-test-1", "demo-test-2"}
    (param,) = controls["demo-test-1"].params or []
    assert param.id == "demo.new_hire_days" and param.values == ["20"]


def test_the_default_version_is_the_one_in_force_and_a_scheduled_one_takes_its_first_days_values(
        tmp_path: Path) -> None:
    assert _export("demo", tmp_path, root=FIXTURES).version == "1.0.0"
    assert _export("demo", tmp_path, root=FIXTURES, day=dt.date(2026, 8, 1)).version == "2.0.0"
    scheduled = _export("demo", tmp_path, "2.0.0", root=FIXTURES, practice=PRACTICE)
    assert scheduled.params_on == dt.date(2026, 7, 1)
    (setting,) = scheduled.profile["profile"]["modify"]["set-parameters"]
    assert setting["values"] == ["20"]  # the practice's value is still in force on 2026-07-01
    ended = _export("demo", tmp_path, "1.0.0", root=FIXTURES, day=dt.date(2027, 1, 1))
    assert ended.params_on == dt.date(2026, 6, 30)


@pytest.mark.parametrize(("framework", "version", "said"), [
    ("hipa", None, "no ruleset for framework 'hipa'"),
    ("demo", "9.9.9", "no ruleset demo@9.9.9"),
])
def test_an_unknown_framework_or_version_is_not_found_naming_those_there_are(
        framework: str, version: str | None, said: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        _export(framework, tmp_path, version, root=FIXTURES)
    assert caught.value.message == said
    assert re.search(r"demo|1\.0\.0, 2\.0\.0", caught.value.details[0].reason)


def test_no_version_in_force_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no demo version is in force on 2025-06-01"):
        _export("demo", tmp_path, root=FIXTURES, day=dt.date(2025, 6, 1))


def test_an_unknown_document_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no OSCAL document 'ssp'"):
        oscal_document("hipaa", "2026.1.0", "ssp")
