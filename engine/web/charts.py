"""Charts as inline SVG drawn on the server (no JavaScript, no build step): each chart is a pydantic
model of already-computed coordinates that a template draws, plus a data table for screen readers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Point(BaseModel):
    x: float
    y: float
    label: str
    value: int


class Tick(BaseModel):
    pos: float
    label: str
    anchor: str = "middle"


class LineChart(BaseModel):
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    points: list[Point]
    path: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    title: str
    summary: str


def _axis(value: int) -> tuple[int, int]:
    """A y-axis top and tick step: the step is 1, 2 or 5 times a power of ten, at most five steps."""
    step = 1
    while True:
        for k in (1, 2, 5):
            if -(-max(value, 1) // (k * step)) <= 5:
                n = -(-max(value, 1) // (k * step))
                return k * step * max(n, 1), k * step
        step *= 10


def trend(series: list[tuple[dt.datetime, int]], *, title: str, width: int = 640, height: int = 220) -> LineChart:
    """A line of counts over time; x is proportional to time, so irregular runs keep their spacing."""
    left, right, top, bottom = 44, 16, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    pts = sorted(series)
    ymax, ystep = _axis(max(5, max((v for _, v in pts), default=0)))
    t0 = pts[0][0] if pts else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    t1 = pts[-1][0] if pts else t0
    span = max((t1 - t0).total_seconds(), 1.0)
    points: list[Point] = []
    for when, value in pts:
        x = left + (inner_w * (when - t0).total_seconds() / span if len(pts) > 1 else inner_w / 2)
        y = top + inner_h - inner_h * value / ymax
        points.append(Point(x=round(x, 1), y=round(y, 1), label=when.strftime("%Y-%m-%d %H:%M UTC"), value=value))
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(points))
    y_ticks = [Tick(pos=round(top + inner_h - inner_h * v / ymax, 1), label=str(v)) for v in range(0, ymax + 1, ystep)]
    x_ticks: list[Tick] = []
    if points:
        chosen = [points[i] for i in sorted({0, len(points) // 2, len(points) - 1})]
        seen: set[str] = set()
        for i, p in enumerate(chosen):
            day = p.label[:10]
            if day in seen:
                continue
            seen.add(day)
            final = i == len(chosen) - 1
            anchor = "start" if i == 0 and len(chosen) > 1 else ("end" if final and i else "middle")
            x_ticks.append(Tick(pos=p.x, label=day, anchor=anchor))
    if pts:
        first, last = pts[0][1], pts[-1][1]
        summary = (f"{len(pts)} evaluation runs from {pts[0][0]:%Y-%m-%d} to {pts[-1][0]:%Y-%m-%d}: "
                   f"{first} open findings at the first, {last} at the latest run (the tiles above count "
                   "findings as they stand now, after any review since).")
    else:
        summary = "No evaluation runs yet."
    return LineChart(width=width, height=height, left=left, top=top, right=right, bottom=bottom, points=points,
                     path=path, y_ticks=y_ticks, x_ticks=x_ticks, title=title, summary=summary)
