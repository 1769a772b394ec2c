"""Property-based fuzzing of the REST API from its own OpenAPI document (schemathesis): a bounded,
derandomized handful of generated requests per operation, authenticated as admin, and no response
may be a server error (5xx). The UI's routes are not in the schema; tests/web covers them.

`make fuzz` selects this module by its `fuzz` mark; `make test` runs it too (about a minute).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from engine import clock, pipeline
from engine import db as dbmod
from engine.api.app import create_app
from engine.auth import service as auth
from engine.auth.schemas import GrantIn, UserIn
from tests import factories as f
from tests.conftest import make_test_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORG = "clinic-a"
EXAMPLES = 10

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app over a small evaluated database, and an admin token; on SQLite and on PostgreSQL,
    which refuses some values SQLite stores (a NUL character in text made a 500 there)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:  # undone even when the set-up fails (CI: a leaked
        # VIGIL_POLICIES_DIR had reached the browser tests' server started later in the worker)
        shutil.copytree(FIXTURES / "rulesets", tmp / "rulesets")  # the liaison's routes write there
        for name, value in (("VIGIL_RULESETS_DIR", tmp / "rulesets"), ("VIGIL_PRACTICE_PARAMS", tmp / "practice.yaml"),
                            ("VIGIL_POLICIES_DIR", FIXTURES / "policies"),
                            ("VIGIL_EVIDENCE_DIR", tmp / "evidence"), ("VIGIL_PACKET_DIR", tmp / "packets"),
                            ("VIGIL_KEY_DIR", tmp / "keys")):
            mp.setenv(name, str(value))
        mp.delenv("VIGIL_WEBHOOK_URL", raising=False)
        engines = make_test_engine(str(request.param), tmp)
        engine = next(engines)
        as_of = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)
        with dbmod.unit_of_work(engine) as s:
            admin = auth.create_user(s, org_id=ORG, actor="test",
                                     data=UserIn(username="admin", password="admin-password", role="admin"))
            auth.create_user(s, org_id=ORG, actor="test",
                             data=UserIn(username="auditor", password="auditor-password", role="auditor"))
            auth.grant_auditor(s, username="auditor", actor="test", data=GrantIn(
                framework="demo", window_from=dt.date(2026, 1, 1), window_to=dt.date(2026, 12, 31),
                expires_at=f.grant_expiry()))
            token = auth.issue_token(s, user_id=admin.id, name="fuzz", ttl=dt.timedelta(days=1), actor="test").token
        with clock.frozen(as_of), dbmod.unit_of_work(engine) as s:
            records = [f.establishment(), f.episode("EP1", "P1", "2026-02-01T09:00:00-06:00")]
            pipeline.ingest_records(s, org_id=ORG, records=records, actor="test", source="test", stream=False)
            pipeline.evaluate(s, org_id=ORG, as_of=as_of, actor="test")
        app = create_app(engine)
        yield {"app": app, "token": token}
        next(engines, None)  # drops the PostgreSQL schema


def test_no_operation_answers_with_a_server_error(fuzzed: dict[str, Any]) -> None:
    """Every operation of the OpenAPI document, a few derandomized examples each (one Hypothesis run
    per operation, so one failing operation does not hide the others)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed["app"])
    auth_header = {"Authorization": f"Bearer {fuzzed['token']}"}
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def probe(case: Any) -> None:
            calls.append(1)
            try:
                response = case.call(headers=auth_header)
            except Exception as exc:  # the test transport re-raises what the server did not handle: a 500
                raise AssertionError(f"{case.method} {case.formatted_path} raised {type(exc).__name__}: {exc}\n"
                                     f"{case.as_curl_command()}") from None
            assert response.status_code < 500, (f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                                f"{response.text[:500]}\n{case.as_curl_command()}")

        try:
            probe()
        except AssertionError as exc:
            failures.append(str(exc))
    assert operations >= 25 and len(calls) >= 3 * operations, (operations, len(calls))
    assert not failures, "\n\n".join(failures)
