"""A refused form names its own fields: the ruleset diff's versions had been called "Period from" and
"Period to" (the packet form's labels), and a blank reason on "Mark false positive" and "Close" was
refused in the lifecycle's words ("marking a false positive needs a reason (reason is required)")
where every other form says "Please check the form: Reason: required." and marks the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.test_actions import act, finding_of


def test_a_diff_without_versions_names_the_version_fields(web_client: Callable[[str], TestClient]) -> None:
    r = web_client("officer").get("/ui/rulesets/demo/diff")
    assert r.status_code == 422
    assert "From version: required" in r.text and "To version: required" in r.text, r.text
    assert "Period from" not in r.text and "Period to" not in r.text


@pytest.mark.parametrize("path", ["false-positive", "close"])
def test_a_blank_reason_is_refused_as_the_other_forms_refuse_it(web: dict[str, Any],
                                                               web_client: Callable[[str], TestClient],
                                                               path: str) -> None:
    before = finding_of(web, "EP2")
    page = f"/ui/findings/{before.id}"
    c = web_client("officer")
    r = act(c, f"{page}/{path}", page, reason="   ")
    assert r.status_code == 303 and r.headers["location"] == page
    text = c.get(page).text
    assert "Please check the form: Reason: required." in text, text
    assert "data-fields=" in text and "reason" in text.split("data-fields=")[1][:40]  # marked, typed value back
    assert "needs a reason" not in text
    assert finding_of(web, "EP2").state == before.state
