"""A loan loaded from the files is settled as of the day of loading: the Polars arithmetic of
`plan.settled_as_of` agrees with `amortization.installments_due` for every start and day, and
the on-time count the score takes is the file's, capped at those installments."""

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
    on_time=st.lists(st.integers(min_value=0, max_value=600), min_size=20, max_size=20),
    today=DAYS,
)
def test_settled_as_of_matches_installments_due(
    starts: list[date], tenures: list[int], on_time: list[int], today: date
) -> None:
    n = len(starts)
    loans = pl.DataFrame(
        {"start_date": starts, "tenure": tenures[:n], "emis_paid_on_time": on_time[:n]},
        schema={"start_date": pl.Date, "tenure": pl.Int64, "emis_paid_on_time": pl.Int64},
    )
    settled = settled_as_of(loans, today)
    due = [
        installments_due(start, tenure, today)
        for start, tenure in zip(starts, tenures[:n], strict=True)
    ]
    assert settled["loaded_on"].to_list() == [today] * n
    assert settled["installments_settled"].to_list() == due
    assert settled["on_time_at_load"].to_list() == [
        min(paid, d) for paid, d in zip(on_time[:n], due, strict=True)
    ]


def test_a_surplus_on_time_count_is_capped_at_the_installments_due() -> None:
    # The quirk of the real book's loan 9996 (customer 260): 59 on time, 45 due at loading.
    frame = pl.DataFrame(
        {"start_date": [date(2023, 2, 12)], "tenure": [90], "emis_paid_on_time": [59]}
    )
    loaded = settled_as_of(frame, date(2026, 12, 6))
    assert loaded["installments_settled"].item() == 45
    assert loaded["on_time_at_load"].item() == 45
    assert loaded["emis_paid_on_time"].item() == 59  # the file's figure is kept as it is


def test_month_ends_and_the_due_day_itself() -> None:
    starts = [date(2024, 1, 31), date(2024, 1, 31), date(2024, 3, 15), date(2024, 3, 15)]
    days = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 4, 14), date(2024, 4, 15)]
    for start, today in zip(starts, days, strict=True):
        frame = pl.DataFrame({"start_date": [start], "tenure": [12], "emis_paid_on_time": [0]})
        got = settled_as_of(frame, today)["installments_settled"].item()
        assert got == installments_due(start, 12, today), (start, today)
    # Due today counts as settled by the files; due tomorrow does not.
    frame = pl.DataFrame(
        {"start_date": [date(2024, 3, 15)], "tenure": [12], "emis_paid_on_time": [0]}
    )
    assert settled_as_of(frame, date(2024, 4, 15))["installments_settled"].item() == 1
    assert (
        settled_as_of(frame, date(2024, 4, 15) - timedelta(days=1))["installments_settled"].item()
        == 0
    )
