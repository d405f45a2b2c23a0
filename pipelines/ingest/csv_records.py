"""Reading a CSV extract: the whole file in one Arrow read, line by line only where it is damaged.

A clean file (the usual case) is parsed by one multithreaded Arrow read. A file with a damaged
line (the wrong number of fields, a quote left open, bytes that are not UTF-8, a NUL byte) or
with blank lines is parsed again serially, with Arrow's `invalid_row_handler` setting each bad
record aside: every other record is kept, and each damaged line comes back with its line number
and reason for the quarantine.

Records are numbered from 0 in file order, damaged ones included, so a record keeps its number
whichever path read the file. Lines are the file's lines, from 1 (the header is line 1).

However long a record, Arrow reads it: its blocks grow until the record fits in one. A value
longer than the field-size limit (`ingest.max_field_mib`) rejects its record, with the reason.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import AnyStr

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.ingest.contracts import Contract

NOT_UTF8 = "不是有效的 UTF-8 文本 / not valid UTF-8"
NUL_BYTE = "含有 NUL 字节 / contains a NUL byte"
FIELD_TOO_LONG = "字段过长 / value too long"
MAX_FIELD_BYTES = 1 << 20  # the default of `ingest.max_field_mib`
FIRST_BLOCK_BYTES = 1 << 20  # Arrow's default block size, enough for all but outsized records
MALFORMED_COLUMNS = ["row", "line", "reason", "text"]


class UnreadableExtract(ValueError):
    """The file cannot be read as the format its contract declares."""


@dataclass
class CsvRecords:
    """One CSV extract: its well-formed records as text, and the lines that are not records."""

    table: pa.Table  # the well-formed records in file order, every column text (null when empty)
    rows: np.ndarray  # each record's number in the file, from 0
    lines: np.ndarray  # the line each record starts on, from 1
    notes: np.ndarray | None  # per record, "" or "; "-terminated reasons found in its bytes
    # (not UTF-8, NUL); None when there are none
    malformed: pd.DataFrame  # MALFORMED_COLUMNS: damaged lines, each with its reason and text


def read_csv_records(path: Path, contract: Contract, max_field_bytes: int = MAX_FIELD_BYTES) -> CsvRecords:
    """Every record of a CSV extract, under the header's column names; a record with a value
    longer than `max_field_bytes` gets a note that rejects it."""
    return _note_long_fields(_read_records(path, contract), max_field_bytes)


def _read_records(path: Path, contract: Contract) -> CsvRecords:
    data = _decompressed(path)
    header_end = data.find(b"\n")
    body = len(data) if header_end < 0 else header_end + 1
    names = _header_names(data[:body], path, contract)
    # Only free text may hold a line break; one in a code, date or number means a quote left open.
    strict = {c.header for c in contract.meta.columns if c.type != "string"} & set(names)
    if b"\x00" not in data:
        try:
            table = _parse(data, body, len(data), names)
        except pa.ArrowInvalid:  # a row with the wrong number of fields, or bytes that are not UTF-8
            table = None
        if table is not None:
            clean = _line_numbers(table, data, body, strict)
            if clean is not None:
                n = table.num_rows
                return CsvRecords(table, np.arange(n), clean, None, _malformed([]))
    return _read_damaged(data, names, strict)


def _line_numbers(table: pa.Table, data: bytes, body: int, strict: set[str]) -> np.ndarray | None:
    """The line each record starts on, if the whole-file read can be trusted: no blank lines
    (which Arrow skips unseen) and no line break in a column that is not free text."""
    end = len(data)
    while end > body and data[end - 1] in b"\r\n":  # line breaks after the last record
        end -= 1
    between = data.count(b"\n", body, end)
    n = table.num_rows
    if between == max(n - 1, 0):  # one line per record, as in almost every extract
        return 2 + np.arange(n)
    breaks, runs_on = _line_breaks(table, strict)
    if runs_on.any() or between != max(n - 1, 0) + int(breaks.sum()):
        return None
    if data.count(b'"', body) % 2:  # a quote left open may have run a record on over good lines
        return None
    return 2 + np.arange(n) + np.cumsum(breaks) - breaks


def _note_long_fields(records: CsvRecords, limit: int) -> CsvRecords:
    """The records, with a note on each that holds a value longer than `limit` bytes: a field of
    megabytes is no department's data (an embedded file, a runaway export) and must not reach
    bronze, but its row is quarantined whole rather than lost with the file."""
    found: list[tuple[str, np.ndarray]] = []
    for name, column in zip(records.table.column_names, records.table.columns, strict=True):
        lengths = pc.binary_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limit:
            found.append((name, pc.fill_null(lengths, 0).to_numpy()))
    if not found:
        return records
    notes = np.full(records.table.num_rows, "", dtype=object) if records.notes is None else records.notes.copy()
    for name, sizes in found:
        for i in np.flatnonzero(sizes > limit):
            notes[i] += f"{FIELD_TOO_LONG}: {name} is {sizes[i]:,} bytes, over the {limit:,} of ingest.max_field_mib; "
    return replace(records, notes=notes)


def _decompressed(path: Path) -> bytes:
    """The file's bytes; a gzip extract (`.gz`) is checked on its decompressed text."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise UnreadableExtract(f"{path.name} is not a readable gzip file: {err}") from err


def _header_names(header: bytes, path: Path, contract: Contract) -> list[str]:
    """The column names on the header line; a file whose first line is not a CSV header with at
    least one of the contract's columns (or two columns of any name) cannot be read at all."""
    if b"\x00" in header:
        raise UnreadableExtract(f"{path.name} contains binary data (NUL bytes) in its header line")
    try:
        line = header.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise UnreadableExtract(f"{path.name}: its header line is not UTF-8 text ({err})") from err
    try:
        names = next(csv.reader([line]), [])
    except csv.Error as err:  # e.g. a file with old Mac line endings (CR alone): one "line"
        raise UnreadableExtract(f"{path.name}: its header line is not a CSV header ({err})") from err
    if not set(names) & set(contract.headers) and len(names) <= 1:
        raise UnreadableExtract(
            f"{path.name} is not a CSV file with the contract's headers (found columns {names[:5]})"
        )
    return names


InvalidRowHandler = Callable[[pacsv.InvalidRow], str]


def _parse(
    data: bytes, start: int, end: int, names: list[str], on_invalid: InvalidRowHandler | None = None
) -> pa.Table:
    """Arrow's parse of data[start:end], every column as text. Without `on_invalid` a bad row
    raises and the read is multithreaded; with it, serial, so that rows are numbered.

    Arrow reads in blocks, and with line breaks allowed in values it cannot split a record that
    spans more than about two of them ("straddling object straddles two block boundaries"): one
    value of 2 MB made a whole file unreadable. Then it reads again in blocks four times larger,
    up to one block for the whole range. `on_invalid` sees the same records, with the same
    numbers, again."""
    if start >= end:
        return pa.schema([(n, pa.string()) for n in names]).empty_table()
    block = FIRST_BLOCK_BYTES
    while True:
        try:
            return _parse_in_blocks(data, start, end, names, on_invalid, block)
        except pa.ArrowInvalid as err:
            if "straddl" not in str(err) or block >= end - start:
                raise
            block *= 4


def _parse_in_blocks(
    data: bytes, start: int, end: int, names: list[str], on_invalid: InvalidRowHandler | None, block: int
) -> pa.Table:
    return pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(data).slice(start, end - start)),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=on_invalid is None, block_size=block),
        # Complaint texts may hold line breaks inside quotes, as 12315 exports do.
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        # Every column as text: the contract, not the CSV reader, decides types.
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=True,
        ),
    )


def _line_breaks(table: pa.Table, strict: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the line breaks inside its values, and whether a column in `strict` has one."""
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    runs_on = np.zeros(table.num_rows, dtype=bool)
    for name, column in zip(table.column_names, table.columns, strict=True):
        counts = pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy()
        breaks += counts
        if name in strict:
            runs_on |= counts > 0
    return breaks, runs_on


def _read_damaged(data: bytes, names: list[str], strict: set[str]) -> CsvRecords:
    """The line-by-line read: bytes that are not UTF-8 are written as `\\xNN`, each damaged line is
    set aside, and the reasons found in a line's bytes go to the record on that line."""
    data, notes = _escape(data)
    lines = _Lines(data)
    found = _Found([], [], [], [])
    if lines.count >= 2:
        _records(data, lines, 2, lines.count, names, strict, found)
    good = np.concatenate([np.zeros(0, dtype=np.int64), *found.lines])
    bad = pd.DataFrame(found.malformed, columns=["line", "reason", "text"])
    # Records are numbered in file order, which the lines they start on give.
    starts = np.concatenate([good, bad["line"].to_numpy(dtype=np.int64)])
    spans = np.concatenate([np.zeros(0, dtype=np.int64), *found.spans, np.ones(len(bad), dtype=np.int64)])
    order = np.argsort(starts, kind="stable")
    number = np.empty(len(starts), dtype=np.int64)
    number[order] = np.arange(len(starts))
    noted = np.full(len(starts), "", dtype=object)
    first_lines, ends = starts[order], starts[order] + spans[order]
    for line, why in notes.items():
        at = int(np.searchsorted(first_lines, line, side="right")) - 1
        if at >= 0 and line < ends[at]:
            noted[order[at]] += why
    table = pa.concat_tables(found.tables) if found.tables else _parse(data, 0, 0, names)
    keep = np.argsort(good, kind="stable")
    if (keep != np.arange(len(keep))).any():  # lines read again after a damaged one
        table = table.take(pa.array(keep))
    bad["row"] = number[len(good) :]
    bad["reason"] = bad["reason"] + noted[len(good) :]
    return CsvRecords(
        table=table,
        rows=number[: len(good)][keep],
        lines=good[keep],
        notes=noted[: len(good)][keep] if notes else None,
        malformed=_malformed(bad.sort_values("row")),
    )


@dataclass
class _Found:
    """What the line-by-line read has found so far, piece by piece."""

    tables: list[pa.Table]  # well-formed records
    lines: list[np.ndarray]  # the first line of each, in the order of `tables`
    spans: list[np.ndarray]  # and how many lines it covers
    malformed: list[tuple[int, str, str]]  # line, "; "-terminated reason, text


def _records(
    data: bytes, lines: _Lines, first: int, last: int, names: list[str], strict: set[str], found: _Found
) -> None:
    """Parse lines first..last. A record Arrow cannot take (the wrong number of fields), or one
    that runs on over a line break outside free text, is set aside by its first line only and the
    lines after it are read again: a quote left open must not take the next good line with it."""
    invalid: dict[int, tuple[int, str]] = {}  # record number from 0 -> its fields and text

    def set_aside(row: pacsv.InvalidRow) -> str:
        invalid[row.number - 1] = (row.actual_columns, row.text)
        return "skip"

    table = _parse(data, lines.start(first), lines.end(last), names, set_aside)
    is_invalid = np.zeros(table.num_rows + len(invalid), dtype=bool)
    is_invalid[list(invalid)] = True
    if len(is_invalid) == lines.nonblank(first, last):  # then every record is on one line
        breaks, runs_on = np.zeros(table.num_rows, dtype=np.int64), np.zeros(table.num_rows, dtype=bool)
    else:
        breaks, runs_on = _line_breaks(table, strict)
    spans = np.ones(len(is_invalid), dtype=np.int64)
    spans[~is_invalid] += breaks
    for k, (_, text) in invalid.items():
        spans[k] = text.count("\n") + (0 if text.endswith("\n") else 1)
    starts = lines.starts_of(first, last, spans)
    good_at = np.flatnonzero(~is_invalid)  # the record number of each row of `table`
    # Quotes come in pairs in a well-formed record; a record over several lines with an odd
    # number of them was run on by a quote left open (into the next good lines, even to the end).
    for i in np.flatnonzero((breaks > 0) & ~runs_on):
        k = good_at[i]
        runs_on[i] = data.count(b'"', lines.start(starts[k]), lines.end(starts[k] + spans[k] - 1)) % 2 == 1
    damaged = {int(k): "" for k in good_at[runs_on]}
    damaged.update({k: f"expected {len(names)} fields, got {n}" for k, (n, _) in invalid.items()})
    for k, fields in sorted(damaged.items()):
        line, span = int(starts[k]), int(spans[k])
        if span == 1:
            reason = f"字段数不符 / {fields}; "
        else:
            reason = f"引号未闭合 / a quote left open runs on into the next line{f' ({fields})' if fields else ''}; "
        found.malformed.append((line, reason, lines.text(data, line)))
        if span > 1:
            _records(data, lines, line + 1, min(line + span - 1, lines.count), names, strict, found)
    found.tables.append(table.filter(pa.array(~runs_on)))
    found.lines.append(starts[good_at[~runs_on]])
    found.spans.append(spans[good_at[~runs_on]])


class _Lines:
    """Where each line of the data starts and ends, and which lines are blank."""

    def __init__(self, data: bytes) -> None:
        view = np.frombuffer(data, dtype=np.uint8)
        step = 1 << 26  # in blocks, so that the comparison needs no full-size temporary
        breaks = [np.flatnonzero(view[i : i + step] == 10) + i for i in range(0, len(view), step)]
        ends = np.concatenate([*breaks, [len(data)]]).astype(np.int64)
        if data.endswith(b"\n"):
            ends = ends[:-1]  # nothing after the last line break
        self._starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        self._ends = ends
        length = ends - self._starts
        self._blank = length == 0
        one = np.flatnonzero(length == 1)
        self._blank[one] = view[self._starts[one]] == ord("\r")
        self.count = len(ends)

    def nonblank(self, first: int, last: int) -> int:
        return int((~self._blank[first - 1 : last]).sum())

    def start(self, line: int) -> int:
        return int(self._starts[line - 1])

    def end(self, line: int) -> int:
        return int(self._ends[line - 1])

    def text(self, data: bytes, line: int) -> str:
        if line > self.count:  # a file whose lines end in a lone carriage return
            return ""
        return data[self.start(line) : self.end(line)].decode("utf-8").rstrip("\r")

    def starts_of(self, first: int, last: int, spans: np.ndarray) -> np.ndarray:
        """The first line of each of these consecutive records, the first at or after `first`:
        CSV readers skip blank lines between records (not inside a quoted value)."""
        if not self._blank[first - 1 : last].any():
            return first + np.cumsum(spans) - spans
        starts, line = np.empty(len(spans), dtype=np.int64), first
        for k, span in enumerate(spans.tolist()):
            while line <= last and self._blank[line - 1]:
                line += 1
            starts[k] = line
            line += span
        return starts


_NOT_UTF8 = re.compile("[\udc80-\udcff]+")  # bytes that `surrogateescape` could not decode
_NUL = re.compile(rb"\x00+")


def _escape(data: bytes) -> tuple[bytes, dict[int, str]]:
    """The data with bytes that are not UTF-8 written as `\\xNN` text (a GBK line stays readable
    and nothing is lost), and per line the reasons found in its bytes."""
    notes: dict[int, str] = {}
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape")
        for line in _lines_matching(text, _NOT_UTF8):
            notes[line] = NOT_UTF8 + "; "
        data = _NOT_UTF8.sub(_as_escapes, text).encode("utf-8")
    if b"\x00" in data:
        for line in _lines_matching(data, _NUL):
            notes[line] = notes.get(line, "") + NUL_BYTE + "; "
    return data, notes


def _as_escapes(match: re.Match[str]) -> str:
    return "".join(f"\\x{b:02x}" for b in match.group().encode("utf-8", errors="surrogateescape"))


def _lines_matching(text: AnyStr, pattern: re.Pattern[AnyStr]) -> list[int]:
    """The lines (from 1) on which `pattern` matches, counting line breaks once over the text."""
    newline = "\n" if isinstance(text, str) else b"\n"
    found: list[int] = []
    line, at = 1, 0
    for match in pattern.finditer(text):
        line += text.count(newline, at, match.start())
        at = match.start()
        if not found or found[-1] != line:
            found.append(line)
    return found


def _malformed(rows: pd.DataFrame | list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=MALFORMED_COLUMNS) if isinstance(rows, list) else rows[MALFORMED_COLUMNS]
    return frame.astype({"row": "int64", "line": "int64", "reason": object, "text": object}).reset_index(drop=True)
