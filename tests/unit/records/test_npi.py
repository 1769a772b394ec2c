"""The NPI check digit (CMS's NPI standard: Luhn over 80840 and the first nine digits)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from engine.demo.generator import generate
from engine.records.npi import check_digit


def test_the_standards_example_and_a_mistyped_digit() -> None:
    assert check_digit("123456789") == 3  # 1234567893, the standard's worked example
    assert check_digit("123456788") != 3  # one digit off changes it


def test_every_npi_the_demo_writes_passes_the_check(tmp_path: Path) -> None:
    generate(tmp_path, size="small", seed=3, anchor=dt.date(2026, 11, 30))
    npis = {json.loads(line).get("clinician_npi") for line in (tmp_path / "measure_case.ndjson").open()}
    npis.discard(None)
    assert npis and all(check_digit(n[:9]) == int(n[9]) for n in npis)
