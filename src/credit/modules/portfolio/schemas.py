"""The portfolio's answers: a closed day's summary (`GET /api/portfolio`, and what a close
reports for each day it closed), a loan's classification history, and a close's report."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, ClassVar

import msgspec

from credit.lending.classification import CLASSES, Classification

RATIO = Decimal("0.0001")
ZERO = Decimal("0.00")
Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]
Ratio = Annotated[Decimal, msgspec.Meta(description="A share of the outstanding, 4 decimals.")]


def ratio(part: Decimal, whole: Decimal) -> Decimal:
    return ZERO.quantize(RATIO) if not whole else (part / whole).quantize(RATIO, ROUND_HALF_UP)


class ClassFigures(msgspec.Struct):
    loans: int
    outstanding: Rupees


class Portfolio(msgspec.Struct):
    """The book at the close of a day: the loans with a balance, by class, and the ratios a
    lender watches (PAR 30, PAR 90, NPA ratio)."""

    as_of: date
    loans: Annotated[int, msgspec.Meta(description="Loans with a balance at the end of as_of.")]
    outstanding: Annotated[Rupees, msgspec.Meta(description="Their outstanding principal.")]
    by_classification: dict[Classification, ClassFigures]
    par_30: Annotated[
        Ratio,
        msgspec.Meta(description="Outstanding of loans more than 30 days past due / all."),
    ]
    par_90: Annotated[
        Ratio,
        msgspec.Meta(description="Outstanding of loans more than 90 days past due / all."),
    ]
    npa_ratio: Annotated[Ratio, msgspec.Meta(description="NPA outstanding / all outstanding.")]

    example: ClassVar[dict[str, Any]] = {
        "as_of": "2026-06-30",
        "loans": 3,
        "outstanding": 250000.0,
        "by_classification": {
            "standard": {"loans": 1, "outstanding": 100000.0},
            "SMA-0": {"loans": 1, "outstanding": 50000.0},
            "SMA-1": {"loans": 0, "outstanding": 0.0},
            "SMA-2": {"loans": 0, "outstanding": 0.0},
            "NPA": {"loans": 1, "outstanding": 100000.0},
        },
        "par_30": 0.4,
        "par_90": 0.4,
        "npa_ratio": 0.4,
    }

    @classmethod
    def of(cls, day: dict[str, Any], by_class: list[dict[str, Any]]) -> Portfolio:
        """From a `closed_days` row and its `portfolio_days` rows."""
        figures = {name: ClassFigures(0, ZERO) for name in CLASSES}
        for row in by_class:
            figures[row["classification"]] = ClassFigures(row["loans"], row["outstanding"])
        outstanding = day["outstanding"]
        return cls(
            as_of=day["as_of"],
            loans=day["loans"],
            outstanding=outstanding,
            by_classification=figures,
            par_30=ratio(day["outstanding_over_30"], outstanding),
            par_90=ratio(day["outstanding_over_90"], outstanding),
            npa_ratio=ratio(figures["NPA"].outstanding, outstanding),
        )

    def table(self) -> list[tuple[str, int, Decimal]]:
        """Rows of the operator's summary table: each class, then the total."""
        rows = [(name, f.loans, f.outstanding) for name, f in self.by_classification.items()]
        return [*rows, ("total", self.loans, self.outstanding)]


class ClassificationPeriod(msgspec.Struct):
    classification: Classification
    from_: Annotated[date, msgspec.Meta(description="The first closed date in this class.")] = (
        msgspec.field(name="from")
    )
    to: Annotated[
        date | None,
        msgspec.Meta(description="The last closed date in this class; null while it lasts."),
    ] = None


class ClassificationHistory(msgspec.Struct):
    loan_id: int
    periods: list[ClassificationPeriod]

    example: ClassVar[dict[str, Any]] = {
        "loan_id": 7,
        "periods": [
            {"classification": "standard", "from": "2026-01-31", "to": "2026-02-15"},
            {"classification": "SMA-0", "from": "2026-02-16", "to": None},
        ],
    }


class CloseReport(msgspec.Struct):
    """What a close did: the dates it closed, in order, each with its summary; none when the
    date asked for was closed already (`latest_closed` says up to where)."""

    closed: list[Portfolio]
    latest_closed: date | None
    loans_read: int = 0


class CloseAccepted(msgspec.Struct):
    job_id: str

    example: ClassVar[dict[str, Any]] = {"job_id": "3f2c9a0e5b7d4c1e8a6f2b9d0c4e7a15"}


class CloseRequest(msgspec.Struct):
    date: Annotated[
        date | None,
        msgspec.Meta(
            description="Close every date after the last closed one up to this one (default: "
            "yesterday in the lender's time zone). Must be before today."
        ),
    ] = None
