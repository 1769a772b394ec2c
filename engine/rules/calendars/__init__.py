"""The calendar service's parts; import the public API from `engine.rules.calendar`.

    arithmetic.py  C1 C2 C3 C5 C7: pure date/instant math, no holiday data
    workdays.py    C4 C6: the Calendar seam, holiday lists, working-day counting, roll-forward
    policy.py      org calendars from policies/holidays.yaml; the default service
    deadlines.py   Deadline, compute_deadline, met_on_time, obligation_state
    errors.py      the calendar's VigilError subclasses
"""
