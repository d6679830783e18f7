"""A loan loaded from the files is settled as of the day of loading: the Polars arithmetic of
`plan.settled_as_of` agrees with `amortization.installments_due` for every start and day."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from credit.lending.amortization import installments_due
from credit.modules.ingest.plan import settled_as_of

DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))


@given(
    starts=st.lists(DAYS, min_size=1, max_size=20),
    tenures=st.lists(st.integers(min_value=1, max_value=600), min_size=20, max_size=20),
    today=DAYS,
)
def test_settled_as_of_matches_installments_due(
    starts: list[date], tenures: list[int], today: date
) -> None:
    loans = pl.DataFrame(
        {"start_date": starts, "tenure": tenures[: len(starts)]},
        schema={"start_date": pl.Date, "tenure": pl.Int64},
    )
    settled = settled_as_of(loans, today)
    assert settled["loaded_on"].to_list() == [today] * len(starts)
    assert settled["installments_settled"].to_list() == [
        installments_due(start, tenure, today)
        for start, tenure in zip(starts, tenures, strict=False)
    ]


def test_month_ends_and_the_due_day_itself() -> None:
    starts = [date(2024, 1, 31), date(2024, 1, 31), date(2024, 3, 15), date(2024, 3, 15)]
    days = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 4, 14), date(2024, 4, 15)]
    for start, today in zip(starts, days, strict=True):
        frame = pl.DataFrame({"start_date": [start], "tenure": [12]})
        got = settled_as_of(frame, today)["installments_settled"].item()
        assert got == installments_due(start, 12, today), (start, today)
    # Due today counts as settled by the files; due tomorrow does not.
    frame = pl.DataFrame({"start_date": [date(2024, 3, 15)], "tenure": [12]})
    assert settled_as_of(frame, date(2024, 4, 15))["installments_settled"].item() == 1
    assert (
        settled_as_of(frame, date(2024, 4, 15) - timedelta(days=1))["installments_settled"].item()
        == 0
    )
