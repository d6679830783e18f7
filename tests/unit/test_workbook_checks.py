"""The position scan of `credit.modules.ingest.workbook`: its regex, built from the declared
dimension, matches exactly the positions beyond it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from credit.modules.ingest.workbook import _column_letters, _column_number, _outside

COLUMNS = st.integers(min_value=1, max_value=16_384)
ROWS = st.integers(min_value=1, max_value=1_048_576)


@given(COLUMNS)
def test_column_letters_and_numbers_round_trip(column: int) -> None:
    assert _column_number(_column_letters(column)) == column


@given(COLUMNS, ROWS, COLUMNS, ROWS)
def test_a_position_matches_exactly_when_it_is_outside_the_dimension(
    columns: int, rows: int, column: int, row: int
) -> None:
    pattern = _outside(columns, rows)
    cell = f'<c r="{_column_letters(column)}{row}" t="n">'.encode()
    assert bool(pattern.search(cell)) == (column > columns or row > rows)
    assert bool(pattern.search(f'<row r="{row}">'.encode())) == (row > rows)


def test_other_attributes_are_not_positions() -> None:
    pattern = _outside(9, 10)
    assert not pattern.search(b'<dimension ref="A1:XFD1048576"/><c s="12" r="A2">')
