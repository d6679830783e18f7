"""The console's charts as plain geometry, drawn by the server as inline SVG (no chart
library, no script): each credit-score component as a bar of its points out of its weight,
and a loan's balance over its installments as a line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

BAR_WIDTH = 240
CHART_WIDTH = 640
CHART_HEIGHT = 200
MARGIN = 36


class ScorePart(Protocol):
    """A credit-score component as the API gives it."""

    name: str
    value: Decimal
    points: Decimal
    max_points: int


@dataclass(frozen=True)
class Bar:
    name: str
    value: Decimal
    points: Decimal
    max_points: int
    width: int  # of BAR_WIDTH


def score_bars(components: Sequence[ScorePart]) -> list[Bar]:
    """One bar per component (`name`, `value`, `points`, `max_points`, as the API gives them)."""
    bars = []
    for component in components:
        points = Decimal(str(component.points))
        most = int(component.max_points) or 1
        share = max(Decimal(0), min(Decimal(1), points / most))
        bars.append(
            Bar(
                name=str(component.name),
                value=Decimal(str(component.value)),
                points=points,
                max_points=most,
                width=int(share * BAR_WIDTH),
            )
        )
    return bars


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: Decimal
    settled: bool


@dataclass(frozen=True)
class LineChart:
    points: list[Point]
    polyline: str
    top: Decimal
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    margin: int = MARGIN


def line_chart(
    series: Sequence[tuple[date, Decimal, bool]], start: tuple[date, Decimal] | None = None
) -> LineChart:
    """`series`: (date, value, settled) in order; `start` an optional first point (the loan's
    start and amount). The y axis runs from 0 to the largest value."""
    rows = ([(start[0], start[1], True)] if start else []) + list(series)
    top = max((value for _, value, _ in rows), default=Decimal(0)) or Decimal(1)
    inner_w = CHART_WIDTH - 2 * MARGIN
    inner_h = CHART_HEIGHT - 2 * MARGIN
    steps = max(len(rows) - 1, 1)
    points = [
        Point(
            x=round(MARGIN + inner_w * index / steps, 1),
            y=round(MARGIN + inner_h * float(1 - value / top), 1),
            label=f"{when.day} {when:%b %Y}",
            value=value,
            settled=settled,
        )
        for index, (when, value, settled) in enumerate(rows)
    ]
    polyline = " ".join(f"{p.x},{p.y}" for p in points)
    return LineChart(points=points, polyline=polyline, top=top)


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    polyline: str
    points: list[Point]


@dataclass(frozen=True)
class ManyLines:
    series: list[Series]
    top: Decimal
    first: str
    last: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    margin: int = MARGIN


def lines_over_days(
    days: Sequence[date], named: Sequence[tuple[str, str, list[Decimal]]]
) -> ManyLines:
    """Several series over the same days (`(name, css class, values)`), on one y axis from 0
    to the largest value (the portfolio's ratios over the closed days)."""
    top = max((v for _, _, values in named for v in values), default=Decimal(0)) or Decimal(1)
    inner_w = CHART_WIDTH - 2 * MARGIN
    inner_h = CHART_HEIGHT - 2 * MARGIN
    steps = max(len(days) - 1, 1)
    drawn = []
    for name, css, values in named:
        points = [
            Point(
                x=round(MARGIN + inner_w * (index / steps if len(days) > 1 else 0.5), 1),
                y=round(MARGIN + inner_h * float(1 - value / top), 1),
                label=f"{when.day} {when:%b %Y}",
                value=value,
                settled=True,
            )
            for index, (when, value) in enumerate(zip(days, values, strict=True))
        ]
        drawn.append(Series(name, css, " ".join(f"{p.x},{p.y}" for p in points), points))
    return ManyLines(
        series=drawn,
        top=top,
        first=f"{days[0].day} {days[0]:%b %Y}" if days else "",
        last=f"{days[-1].day} {days[-1]:%b %Y}" if days else "",
    )
