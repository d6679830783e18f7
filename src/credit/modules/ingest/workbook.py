"""What a file must be before the Excel reader sees it: a workbook whose reading is bounded.

The reader (calamine, under fastexcel) inflates the zip's parts, and builds the first sheet
as a dense grid from its first cell to its furthest one: a few kilobytes can ask it for
gigabytes. So, in order, and refusing with `IngestError` at the first problem:

- `check_upload`: a zip (by its signature) with the parts of a workbook, whose first sheet
  is visible (the reader would read a hidden one). Cheap: only the small workbook parts are
  inflated. The web process runs it before answering 202.
- `check_workbook`: the above, then every part inflated here, counting the bytes it really
  gives (the sizes in the zip headers can be forged), against `WorkbookLimits`; the first
  sheet's declared dimension against the cell limit, and every cell and row position it holds
  inside that dimension. The job runs it before the reader opens the file.
"""

from __future__ import annotations

import copy
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING
from xml.etree import ElementTree

from credit.modules.ingest.schemas import IngestError

if TYPE_CHECKING:
    from credit.settings import Settings

ZIP_SIGNATURE = b"PK\x03\x04"
WORKBOOK_PART = "xl/workbook.xml"
REQUIRED_PARTS = ("[Content_Types].xml", WORKBOOK_PART, "xl/_rels/workbook.xml.rels")
# Parts read whole to find the first sheet: a real one is a few KB.
SMALL_PART_BYTES = 1024**2
CHUNK_BYTES = 1024**2
# Without a declared dimension, a sheet may be at most this wide (our sheets have 7 and 9).
UNDECLARED_MAX_COLUMNS = 64
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
RELS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
# Cells and rows carry their position in ` r="..."`; without it the reader counts on from
# the last one, which no scan of positions sees.
UNPOSITIONED = (b"<c>", b"<c/>", b"<row>", b"<row/>")


@dataclass(frozen=True)
class WorkbookLimits:
    """How much a workbook may make the reader hold (settings; README, Configuration)."""

    # Every part inflated, in total; and, above `ratio_above_bytes`, at most `max_ratio` times
    # the zip's size. A real book of a million loans is ~400 MB of XML at ~8:1.
    max_inflated_bytes: int = 2 * 1024**3
    max_ratio: int = 200
    ratio_above_bytes: int = 64 * 1024**2
    # The first sheet's grid (rows x columns of its dimension): ~32 bytes a cell in the reader.
    max_cells: int = 20_000_000

    @classmethod
    def of(cls, settings: Settings) -> WorkbookLimits:
        return cls(
            max_inflated_bytes=settings.max_workbook_inflated_bytes,
            max_cells=settings.max_sheet_cells,
        )


@dataclass(frozen=True)
class FirstSheet:
    name: str
    part: str  # its member in the zip, e.g. xl/worksheets/sheet1.xml


def check_upload(file: IO[bytes] | Path, label: str) -> FirstSheet:
    """The file is a workbook whose first sheet is visible (no large part is inflated)."""
    if _head(file) != ZIP_SIGNATURE:
        raise IngestError(f"The {label} is not an Excel workbook (not a zip file).")
    try:
        with zipfile.ZipFile(file) as archive:
            return _first_sheet(archive, label)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise IngestError(f"The {label} is not an Excel workbook ({exc}).") from exc


def check_workbook(path: Path, label: str, limits: WorkbookLimits) -> None:
    """`check_upload`, then the real inflated sizes and the first sheet's extent."""
    sheet = check_upload(path, label)
    budget = _Budget(label, limits, path.stat().st_size)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename == sheet.part:
                    _check_extent(_inflate(archive, info, budget), sheet, label, limits)
                else:
                    for _ in _inflate(archive, info, budget):
                        pass
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise IngestError(f"The {label} is not an Excel workbook ({exc}).") from exc


def _head(file: IO[bytes] | Path) -> bytes:
    if isinstance(file, Path):
        with file.open("rb") as opened:
            return opened.read(len(ZIP_SIGNATURE))
    file.seek(0)
    head = file.read(len(ZIP_SIGNATURE))
    file.seek(0)
    return head


def _first_sheet(archive: zipfile.ZipFile, label: str) -> FirstSheet:
    names = set(archive.namelist())
    missing = [part for part in REQUIRED_PARTS if part not in names]
    if missing:
        raise IngestError(
            f"The {label} is not an Excel workbook (no {', '.join(missing)} in the zip)."
        )
    workbook = _small_xml(archive, WORKBOOK_PART, label)
    sheets = workbook.findall(f"{MAIN_NS}sheets/{MAIN_NS}sheet")
    if not sheets:
        raise IngestError(f"The {label} has no sheets.")
    first = sheets[0]
    name = first.get("name", "")
    if first.get("state", "visible") != "visible":
        raise IngestError(
            f"The {label}'s first sheet {name!r} is hidden; make the sheet to load the first "
            "one, visible."
        )
    rels = _small_xml(archive, "xl/_rels/workbook.xml.rels", label)
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{RELS_NS}Relationship")}
    target = targets.get(first.get(REL_ID))
    part = _part_name(target) if target else None
    if part is None or part not in names:
        raise IngestError(f"The {label} is not an Excel workbook (its first sheet has no part).")
    return FirstSheet(name=name, part=part)


def _part_name(target: str) -> str:
    """A relationship target as a zip member name (relative to xl/, or absolute)."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in PurePosixPath("xl", target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _small_xml(archive: zipfile.ZipFile, part: str, label: str) -> ElementTree.Element:
    with archive.open(_unbounded(archive.getinfo(part))) as stream:
        content = stream.read(SMALL_PART_BYTES + 1)
    if len(content) > SMALL_PART_BYTES:
        raise IngestError(f"The {label} is not an Excel workbook ({part} is too large).")
    try:
        # Bounded input; expat (2.4+) also refuses entity expansion attacks.
        return ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise IngestError(f"The {label} is not an Excel workbook ({part}: {exc}).") from exc


def _unbounded(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The member with no trust in its declared size: zipfile stops inflating at the size the
    header declares, where another reader goes on to the end of the compressed data. With the
    declared size lifted, what comes out is what every reader gets."""
    lifted = copy.copy(info)
    lifted.file_size = 2**63 - 1
    return lifted


class _Budget:
    def __init__(self, label: str, limits: WorkbookLimits, packed: int) -> None:
        self.label, self.limits, self.packed = label, limits, max(packed, 1)
        self.inflated = 0

    def spend(self, size: int) -> None:
        self.inflated += size
        limits = self.limits
        over_ratio = (
            self.inflated > limits.ratio_above_bytes
            and self.inflated > limits.max_ratio * self.packed
        )
        if self.inflated > limits.max_inflated_bytes or over_ratio:
            raise IngestError(
                f"The {self.label} inflates to more than {self.inflated / 1024**2:,.0f} MB "
                f"(over {self.inflated / self.packed:,.0f}x its size); refused before parsing."
            )


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget) -> Iterator[bytes]:
    with archive.open(_unbounded(info)) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            budget.spend(len(chunk))
            yield chunk


def _check_extent(
    chunks: Iterator[bytes], sheet: FirstSheet, label: str, limits: WorkbookLimits
) -> None:
    """The declared dimension within the cell limit, and no position outside it."""
    where = f"Sheet {sheet.name!r} of the {label}"
    outside: re.Pattern[bytes] | None = None
    carried = b""
    for chunk in chunks:
        text = carried + chunk
        cut = text.rfind(b"<")
        body, carried = (text[:cut], text[cut:]) if cut > 0 else (b"", text)
        if outside is None:
            in_head = b"<sheetData" not in body and b"<dimension" not in body
            if in_head and len(text) <= SMALL_PART_BYTES:
                carried = text  # still in the sheet's head
                continue
            columns, rows = _declared(body, limits)
            if columns * rows > limits.max_cells:
                raise IngestError(
                    f"{where} declares {rows:,} rows x {columns:,} columns, over the "
                    f"{limits.max_cells:,} cells allowed; refused before parsing."
                )
            outside = _outside(columns, rows)
        _check_body(body, outside, where)
    if outside is not None:
        _check_body(carried, outside, where)


def _check_body(body: bytes, outside: re.Pattern[bytes], where: str) -> None:
    # The body holds whole tags only (it ends where a tag begins), so the counts match up.
    elements = body.count(b"<c ") + body.count(b"<row ")
    if any(tag in body for tag in UNPOSITIONED) or body.count(b' r="') < elements:
        raise IngestError(
            f"{where} has a cell or row without its position; refused before parsing."
        )
    if found := outside.search(body):
        position = found.group(1).decode()
        what = f"row {position}" if position.isdigit() else f"a cell at {position}"
        raise IngestError(
            f"{where} has {what}, outside its declared dimension; refused before parsing."
        )


def _declared(head: bytes, limits: WorkbookLimits) -> tuple[int, int]:
    """(columns, rows) of the declared dimension; without one, the widest sheet we accept."""
    found = DIMENSION.search(head)
    if found is None:
        return UNDECLARED_MAX_COLUMNS, max(limits.max_cells // UNDECLARED_MAX_COLUMNS, 1)
    first_col, first_row, last_col, last_row = found.groups()
    col = (last_col or first_col or b"A").decode()
    row = int(last_row or first_row or b"1")
    return _column_number(col), row


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _outside(columns: int, rows: int) -> re.Pattern[bytes]:
    """Matches a position (` r="B7"`, or a row's ` r="7"`) beyond column `columns` or row
    `rows`. Built as text so the scan runs in the regex engine at its literal-prefix speed."""
    letters = _greater(_column_letters(columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    digits = _greater(str(rows), "0123456789")
    return re.compile(
        rf' r="((?:{letters})[0-9]*|[A-Z]*(?:{digits}))"'.encode(),
    )


def _greater(value: str, alphabet: str) -> str:
    """A regex for the strings of `alphabet` (no leading zero) that sort after `value` as a
    number in that base: longer ones, or as long and larger at the first difference."""
    first = "1-9" if alphabet[0] == "0" else f"{alphabet[0]}-{alphabet[-1]}"
    every = f"{alphabet[0]}-{alphabet[-1]}"
    options = [f"[{first}][{every}]{{{len(value)},}}"]
    for index, char in enumerate(value):
        position = alphabet.index(char)
        if position + 1 < len(alphabet):
            higher = f"{alphabet[position + 1]}-{alphabet[-1]}"
            options.append(f"{value[:index]}[{higher}][{every}]{{{len(value) - index - 1}}}")
    return "|".join(options)
