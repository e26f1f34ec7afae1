"""Read a CSV file the way spreadsheets export them. Pure Python, no Django.

Excel's "CSV UTF-8" starts with a byte-order mark, European locales separate
cells with semicolons, some tools with tabs, and an old export may be in
Windows-1252. The first three just work. For the last, each cell holding a
byte that is not UTF-8 is reported with the physical line of that byte, so a
person can open the file and find it; the other rows still import.

Line numbers are the file's physical lines, the header being line 1: a quoted
cell may span lines, so a row starts on the line after the previous one ended.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

# In order of preference when two split the header equally (a one-column file).
DELIMITERS = (",", ";", "\t")
# Decoding with surrogateescape turns each byte that is not UTF-8 into one of these code points.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Enough to hold any header; sniffing never needs the whole file.
_SNIFF_CHARACTERS = 64 * 1024


@dataclass(frozen=True)
class CellProblem:
    line: int
    column: str
    message: str


@dataclass(frozen=True)
class CsvRow:
    line: int
    cells: tuple[str, ...]
    problems: tuple[CellProblem, ...] = ()


@dataclass
class CsvTable:
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    rows: list[CsvRow] = field(default_factory=list)
    # What stopped the reading (a line the csv module cannot parse), or a header cell that is not UTF-8.
    problems: list[CellProblem] = field(default_factory=list)


def column_key(name: str) -> str:
    """`First Name`, `first-name` and `first_name` are one column."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _decode(data: bytes) -> str:
    # Excel writes a byte-order mark at the start of "CSV UTF-8" files; it is not part of the first column's name.
    data = data.removeprefix(codecs.BOM_UTF8)
    return data.decode("utf-8", errors="surrogateescape")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most cells (a comma when none splits it)."""
    best, most = DELIMITERS[0], 1
    for delimiter in DELIMITERS:
        try:
            header = next(csv.reader(io.StringIO(text[:_SNIFF_CHARACTERS], newline=""), delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(header) > most:
            best, most = delimiter, len(header)
    return best


def _column_name(header: list[str], index: int) -> str:
    return header[index] if index < len(header) and header[index] else f"column {index + 1}"


def _undecodable_cells(line: int, header: list[str], cells: list[str]) -> list[CellProblem]:
    """One problem per cell holding a byte that is not UTF-8, on the physical line of its first such byte."""
    problems = []
    for index, cell in enumerate(cells):
        # Only a quoted cell holds line breaks, so counting them cell by cell follows the physical lines.
        match = _UNDECODABLE.search(cell)
        if match:
            byte = ord(match.group()) - 0xDC00
            problems.append(
                CellProblem(
                    line + len(_LINE_BREAK.findall(cell, 0, match.start())),
                    _column_name(header, index),
                    f"byte 0x{byte:02X} is not UTF-8: save the file as CSV UTF-8",
                )
            )
        line += len(_LINE_BREAK.findall(cell))
    return problems


def csv_table_read(data: bytes) -> CsvTable:
    """Split a CSV file into its header and rows, each row with its line number and the problems of its cells."""
    text = _decode(data)
    table = CsvTable(delimiter=_sniff_delimiter(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return table
    except csv.Error as error:
        table.problems.append(CellProblem(1, "", f"cannot read the header: {error}"))
        return table
    table.header = [cell.strip() for cell in header]
    table.problems.extend(_undecodable_cells(1, table.header, header))
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The csv module cannot resynchronise after this: the rest of the file is not read.
            table.problems.append(CellProblem(last_line + 1, "", f"cannot read this line: {error}"))
            break
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        problems = _undecodable_cells(line, table.header, cells)
        if len(cells) > len(table.header):
            problems.append(CellProblem(line, "", f"{len(cells)} cells but the header has {len(table.header)}"))
        table.rows.append(CsvRow(line, tuple(cells), tuple(problems)))
    return table
