"""What a spreadsheet takes for a formula in a CSV cell (OWASP's CSV-injection list), for every CSV
Vigil writes: the packet's findings.csv neutralizes such a cell, the OSHA ITA 300A report (whose
bytes are what is filed) reports it as a problem instead."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text[:1] in FORMULA_START
