"""The UI's pure parts: the side-by-side diff, the trend chart's geometry, safe redirects."""

from __future__ import annotations

import datetime as dt

from engine.web.charts import _axis, trend
from engine.web.diffview import side_by_side
from engine.web.render import safe_next


def test_side_by_side_pairs_changed_lines_and_marks_the_characters() -> None:
    a = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n"
    b = "one\ntwo\nthree\nfour\nFIVE!\nsix\nseven\neight\nnine\nten\neleven\n"
    rows = side_by_side(a, b, context=1)
    kinds = [r.kind for r in rows]
    assert kinds == ["hunk", "equal", "replace", "equal", "hunk", "equal", "insert"]
    changed = rows[2]
    assert (changed.left_no, changed.right_no) == (5, 5)
    assert [s.text for s in changed.left if s.changed] == ["five"]
    assert [s.text for s in changed.right if s.changed] == ["FIVE!"]
    assert rows[-1].right_no == 11 and rows[-1].left_no is None
    assert side_by_side(a, a) == []


def test_side_by_side_keeps_unequal_replacements_aligned() -> None:
    rows = side_by_side("a\nb\nc\n", "a\nX\nY\nZ\nc\n")
    body = [r for r in rows if r.kind != "hunk"]
    assert [(r.kind, r.left_no, r.right_no) for r in body] == [
        ("equal", 1, 1), ("replace", 2, 2), ("insert", None, 3), ("insert", None, 4), ("equal", 3, 5)]


def test_axis_steps_are_round() -> None:
    assert _axis(240) == (250, 50)
    assert _axis(5) == (5, 1)
    assert _axis(1234) == (1500, 500)


def test_trend_spaces_points_by_time_and_says_what_it_shows() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    chart = trend([(t0 + dt.timedelta(days=30), 80), (t0, 100), (t0 + dt.timedelta(days=10), 90)], title="t")
    xs = [p.x for p in chart.points]
    assert xs[0] == chart.left and xs[-1] == chart.width - chart.right
    assert abs((xs[1] - xs[0]) / (xs[2] - xs[0]) - 1 / 3) < 0.01
    assert [p.value for p in chart.points] == [100, 90, 80]
    assert chart.path.startswith("M") and chart.path.count("L") == 2
    assert "100 open findings at the first, 80 at the latest" in chart.summary
    assert trend([], title="t").summary == "No evaluation runs yet."


def test_safe_next_follows_only_ui_paths() -> None:
    assert safe_next("/ui/findings?x=1") == "/ui/findings?x=1"
    for bad in (None, "", "https://evil.example/ui/", "//evil.example", "/docs", "/ui\\..\\x", "http:/ui/"):
        assert safe_next(bad) == "/ui/"
