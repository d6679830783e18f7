"""PostgreSQL's binary COPY format for a first load: numpy-packed rows of fixed-width numbers
and dates (the loans), so the server parses no decimal or date text.

A row of PostgreSQL's binary COPY format is the field count (int16), then per field its
length (int32) and its bytes, all big-endian. When every column is a number or a date, every
row of a table has the same layout and the frame becomes one numpy structured array per
chunk. A numeric is sent as base-10,000 digit groups (ndigits, weight, sign, dscale, digits);
the server strips the leading and trailing zero groups, so a fixed number of groups per
column is as exact as the decimal text and stores the same value with the same scale.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import numpy as np
import polars as pl

from credit.modules.ingest.writer.fields import units_scale

BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
BINARY_TRAILER = b"\xff\xff"  # field count -1
BINARY_CHUNK_ROWS = 100_000
PG_EPOCH_DAYS = 10_957  # 2000-01-01, day 0 of PostgreSQL's binary date, after 1970-01-01
INT_WIDTHS = {"smallint": 2, "integer": 4, "bigint": 8}
NUMERIC_TYPE = re.compile(r"numeric\((\d+),(\d+)\)")
# A numeric(p, s) column is sent as groups of 4 digits, computed from the value times
# 10,000^(fraction groups) in an int64: that must stay below 10^18.
MAX_NUMERIC_DIGITS = 18


class Int:
    def __init__(self, name: str, width: int) -> None:
        self.name, self.width = name, width
        self.dtype: list[Any] = [("length", ">i4"), ("value", f">i{width}")]

    def fits(self, column: pl.Series) -> bool:
        bound = 2 ** (8 * self.width - 1)
        return _within(column, -bound, bound)

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        field["length"] = self.width
        field["value"] = column.to_numpy()


class Date(Int):
    def __init__(self, name: str) -> None:
        super().__init__(name, 4)

    def fits(self, column: pl.Series) -> bool:
        return column.dtype == pl.Date and not column.null_count()

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        field["length"] = 4
        field["value"] = column.cast(pl.Int32).to_numpy() - PG_EPOCH_DAYS


class Numeric:
    def __init__(self, name: str, precision: int, scale: int) -> None:
        self.name, self.scale = name, scale
        self.fraction_groups = -(-scale // 4)
        self.whole_groups = max(-(-(precision - scale) // 4), 1)
        groups = self.whole_groups + self.fraction_groups
        # The stored units (paise, 1/10,000 %) times this are the value times 10,000^fraction.
        self.pad = 10 ** (4 * self.fraction_groups - scale)
        self.limit = 10**precision  # in stored units: the column's own bound
        self.exact = precision + 4 * self.fraction_groups - scale <= MAX_NUMERIC_DIGITS
        self.dtype = [
            ("length", ">i4"),
            ("ndigits", ">i2"),
            ("weight", ">i2"),
            ("sign", ">i2"),
            ("dscale", ">i2"),
            ("digits", ">i2", (groups,)),
        ]

    def fits(self, column: pl.Series) -> bool:
        # Negative or too large: the text path lets PostgreSQL report it.
        return self.exact and _within(column, 0, self.limit)

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        groups = self.whole_groups + self.fraction_groups
        field["length"] = 8 + 2 * groups
        field["ndigits"] = groups
        field["weight"] = self.whole_groups - 1
        field["sign"] = 0  # NUMERIC_POS
        field["dscale"] = self.scale
        rest = column.cast(pl.Int64).to_numpy() * self.pad
        digits = field["digits"]
        for group in range(groups - 1, -1, -1):
            rest, digits[:, group] = np.divmod(rest, 10_000)


Layout = list[Int | Numeric]


def _within(column: pl.Series, low: int, high: int) -> bool:
    """An integer column without nulls whose values are all in [low, high)."""
    if not column.dtype.is_integer() or column.null_count() or column.is_empty():
        return False
    smallest, largest = column.min(), column.max()
    return (
        isinstance(smallest, int) and isinstance(largest, int) and low <= smallest <= largest < high
    )


def _binary_chunks(layout: Layout, rows: pl.DataFrame) -> Iterator[bytes]:
    dtype = np.dtype([("fields", ">i2"), *((f.name, f.dtype) for f in layout)])
    for offset in range(0, rows.height, BINARY_CHUNK_ROWS):
        yield _binary_rows(layout, dtype, rows.slice(offset, BINARY_CHUNK_ROWS))


def _binary_rows(layout: Layout, dtype: np.dtype[Any], rows: pl.DataFrame) -> bytes:
    packed = np.empty(rows.height, dtype=dtype)
    packed["fields"] = len(layout)
    for field in layout:
        field.fill(packed[field.name], rows.get_column(field.name))
    return packed.tobytes()


async def binary_stream(layout: Layout, rows: pl.DataFrame) -> AsyncIterator[bytes]:
    """The binary COPY stream, each chunk packed in a worker thread: the event loop stays free
    and the next chunk is packed while the server stores the one before."""
    yield BINARY_HEADER
    chunks = _binary_chunks(layout, rows)
    while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
        yield chunk
    yield BINARY_TRAILER


def layout_of(fields: tuple[str, ...], types: dict[str, str], rows: pl.DataFrame) -> Layout | None:
    """The binary layout of `fields`, given their column types as PostgreSQL formats them;
    None when a column is not a fixed-width number or date, or a value is null or does not
    fit it."""
    layout: Layout = []
    for field in fields:
        kind, numeric = types[field], NUMERIC_TYPE.fullmatch(types[field])
        if kind in INT_WIDTHS and not units_scale(field):
            layout.append(Int(field, INT_WIDTHS[kind]))
        elif kind == "date":
            layout.append(Date(field))
        elif numeric and int(numeric[2]) == units_scale(field):
            layout.append(Numeric(field, int(numeric[1]), int(numeric[2])))
        else:
            return None
    if all(f.fits(rows.get_column(f.name)) for f in layout):
        return layout
    return None
