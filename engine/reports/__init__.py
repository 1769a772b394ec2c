"""Reports the regulators take, built from the records as the rules read them.

    ita300a.py     OSHA ITA Form 300A summary CSV for a year (29 CFR 1904.32, 1904.41)
    qpp.py         MIPS/QPP submission JSON, quality category, for a performance year and TIN
    schemas.py     plain data in (filing details) and out (rows / submission, notes, problems)
    context.py     records as known at an instant, and the derivations' context the rules use
    tableschema.py the Table Schema subset the ITA CSV is checked against

Each report is one service function returning plain data; the CLI (`vigil report`) and the API
(`/reports/...`) only render it. See docs/reports.md for where every column comes from.
"""
