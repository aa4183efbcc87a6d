"""One reader per input format; each feeds a :class:`RecordSink`.

A reader takes the file, the sink and a progress callback (bytes of this file read so
far). Problems with single records are quarantined by the sink; problems with the file
itself (cut short, corrupt) become one quarantine entry and every record before the damage
is kept. :data:`READERS` names them for :func:`distillwatch.ingest.load_events`.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from distillwatch.ingest.builder import KNOWN_KEYS
from distillwatch.ingest.discover import InputFile
from distillwatch.ingest.extras import row_extras
from distillwatch.ingest.jsonblocks import parse_block
from distillwatch.ingest.lines import (
    CorruptInput,
    TruncatedInput,
    gzip_blocks,
    iter_line_chunks,
    plain_blocks,
)
from distillwatch.ingest.records import SHAPE_MARKERS, RecordSink

Progress = Callable[[int], None]
Reader = Callable[[InputFile, RecordSink, Progress], None]

_BOM: Final = b"\xef\xbb\xbf"
#: lines (or bytes) of JSON read as one block, by Arrow when the block allows it
_BLOCK_LINES: Final = 8192
_BLOCK_BYTES: Final = 16 << 20
_PARQUET_BATCH_ROWS: Final = 8192
_CSV_BLOCK_BYTES: Final = 4 << 20


def _file_problem(
    sink: RecordSink, file: InputFile, reason: str, detail: str, raw: object = "", where: str = ""
) -> None:
    sink.n_read += 1
    sink.reject(reason, detail, raw, where or str(file.path), 0)


def _bad_line(
    sink: RecordSink, line: bytes, error: orjson.JSONDecodeError, prefix: str, number: int
) -> None:
    """A line orjson rejected: blank (ignored), BOM-led first line, bad UTF-8 or bad JSON."""
    if not line.strip():
        return
    if number == 1 and line.startswith(_BOM):
        try:
            record = orjson.loads(line[len(_BOM) :])
        except orjson.JSONDecodeError as again:
            error = again
        else:
            sink.add(record, line, prefix, number)
            return
    sink.n_read += 1
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"byte 0x{line[exc.start]:02x} at offset {exc.start} is not valid UTF-8"
        sink.reject("invalid_utf8", detail, line, prefix, number)
        return
    sink.reject("invalid_json", str(error), line, prefix, number)


class _FastPathGate:
    """Whether to try the Arrow fast path on the next block of lines.

    After a block had to be read record by record, the next 1, 2, 4, ... 64 blocks skip
    the attempt, so files in other shapes do not pay for it on every block.
    """

    def __init__(self) -> None:
        self.skip = 0
        self.backoff = 0

    def should_try(self, first_line: bytes) -> bool:
        if self.skip:
            self.skip -= 1
            return False
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            return False
        return type(first) is dict and SHAPE_MARKERS.isdisjoint(first)

    def succeeded(self) -> None:
        self.backoff = 0

    def failed(self) -> None:
        self.backoff = min(max(1, self.backoff * 2), 64)
        self.skip = self.backoff


def _read_one_by_one(lines: list[bytes], numbers: list[int], sink: RecordSink, prefix: str) -> None:
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    add = sink.add
    for line, number in zip(lines, numbers, strict=True):
        try:
            record = loads(line)
        except decode_error as exc:
            _bad_line(sink, line, exc, prefix, number)
            continue
        add(record, line, prefix, number)


def _read_block(
    lines: list[bytes], numbers: list[int], sink: RecordSink, prefix: str, gate: _FastPathGate
) -> None:
    if gate.should_try(lines[0]):
        parsed = parse_block(lines)
        if parsed is not None:
            gate.succeeded()
            sink.add_block(parsed.table, parsed.extras, lambda i: (lines[i], prefix, numbers[i]))
            return
        gate.failed()
    _read_one_by_one(lines, numbers, sink, prefix)


def _read_lines(
    file: InputFile,
    chunks: Iterator[list[bytes | None]],
    sink: RecordSink,
    position: Callable[[], int],
    progress: Progress,
) -> None:
    """Feed JSON lines to *sink* in blocks; a damaged stream ends in one file-level entry
    after every complete line before the damage was read."""
    prefix = f"{file.path}:"
    gate = _FastPathGate()
    block: list[bytes] = []
    numbers: list[int] = []
    size = 0
    number = 0  # lines seen so far
    try:
        for chunk in chunks:
            if None in chunk or b"" in chunk:
                for line in chunk:
                    number += 1
                    if line is None:
                        sink.n_read += 1
                        detail = "line longer than the 256 MiB limit; skipped"
                        sink.reject("line_too_long", detail, b"", prefix, number)
                    elif line:
                        block.append(line)
                        numbers.append(number)
                        size += len(line)
            else:
                block.extend(chunk)  # type: ignore[arg-type]  # no None in it
                numbers.extend(range(number + 1, number + 1 + len(chunk)))
                number += len(chunk)
                size += sum(map(len, chunk))  # type: ignore[arg-type]
            if len(block) >= _BLOCK_LINES or size >= _BLOCK_BYTES:
                _read_block(block, numbers, sink, prefix, gate)
                block, numbers, size = [], [], 0
                progress(position())
    except TruncatedInput as cut:
        if block:
            _read_block(block, numbers, sink, prefix, gate)
        reason = "unreadable_file" if isinstance(cut, CorruptInput) else "truncated_file"
        detail = f"{cut.detail}; the {number} complete lines before it were read"
        _file_problem(sink, file, reason, detail, cut.partial, f"{prefix}{number + 1}")
        return
    if block:
        _read_block(block, numbers, sink, prefix, gate)
    if number == 0 and file.size == 0:
        sink.warnings["empty_file"] += 1


def read_jsonl(file: InputFile, sink: RecordSink, progress: Progress) -> None:
    """JSON Lines, plain or gzip; a gzip stream cut short keeps every complete line."""
    with open(file.path, "rb") as stream:
        blocks = gzip_blocks(stream) if file.gzip else plain_blocks(stream)
        _read_lines(file, iter_line_chunks(blocks), sink, stream.tell, progress)


def read_json(file: InputFile, sink: RecordSink, progress: Progress) -> None:
    """A JSON array of records, one record, or one OTLP/JSON document. A file that is not
    one JSON value is read as JSON Lines (the OTLP file exporter writes those as .json)."""
    data = file.path.read_bytes()
    if not data.strip():
        sink.warnings["empty_file"] += 1
        return
    try:
        document = orjson.loads(data.removeprefix(_BOM))
    except orjson.JSONDecodeError:
        size = len(data)
        _read_lines(file, iter_line_chunks(iter([data])), sink, lambda: size, progress)
        return
    data = b""  # free the text before reading the records
    if isinstance(document, list):
        prefix = f"{file.path}#row "
        for index in range(len(document)):
            item, document[index] = document[index], None  # free records as they are read
            sink.add(item, item, prefix, index + 1)
    else:
        sink.add(document, document, str(file.path), 0)
    progress(file.size)


def _plain_types(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps in units Python cannot hold exactly -> microseconds."""
    arrays = []
    changed = False
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.cast(pa.timestamp("us", tz=column.type.tz), safe=False)
            changed = True
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch


def _add_columnar(
    batch: pa.RecordBatch, sink: RecordSink, prefix: str, numbers: Sequence[int]
) -> None:
    """An Arrow batch (Parquet, decoded CSV) whose rows are numbered *numbers*: as columns
    when they are flat canonical events, else record by record."""
    batch = _plain_types(batch)
    names = batch.schema.names
    if not SHAPE_MARKERS.isdisjoint(names):
        for number, row in zip(numbers, batch.to_pylist(), strict=True):
            sink.add(row, row, prefix, number)
        return
    unknown = sorted(name for name in names if name not in KNOWN_KEYS)
    columns = [batch.column(name).to_pylist() for name in unknown]
    extra = batch.column("extra").to_pylist() if "extra" in names else None
    extras = row_extras(unknown, columns, extra, batch.num_rows)

    def source(row: int) -> tuple[object, str, int]:
        return batch.slice(row, 1).to_pylist()[0], prefix, numbers[row]

    sink.add_block(batch, extras, source)


def read_parquet(file: InputFile, sink: RecordSink, progress: Progress) -> None:
    """Parquet rows (``path#row N``); a damaged file keeps the rows read before the damage."""
    prefix = f"{file.path}#row "
    try:
        parquet = pq.ParquetFile(file.path)
    except (pa.ArrowException, OSError) as exc:
        _file_problem(sink, file, "unreadable_file", f"not a readable Parquet file: {exc}")
        return
    total = max(parquet.metadata.num_rows, 1)
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS, use_threads=False):
            _add_columnar(batch, sink, prefix, range(number + 1, number + 1 + batch.num_rows))
            number += batch.num_rows
            progress(file.size * number // total)
    except (pa.ArrowException, OSError) as exc:
        detail = f"Parquet data damaged after row {number}: {exc}; the rows before were read"
        _file_problem(sink, file, "unreadable_file", detail)
    finally:
        parquet.close()


def _csv_header(file: InputFile) -> list[str] | None:
    opener: Any = gzip.open if file.gzip else open
    with opener(file.path, "rt", encoding="utf-8-sig", errors="replace", newline="") as text:
        return next(csv.reader(text), None)


def _decode(batch: pa.RecordBatch) -> pa.RecordBatch | None:
    """The batch with text columns, or None if some value is not valid UTF-8."""
    try:
        arrays = [pc.cast(column, pa.string()) for column in batch.columns]
    except pa.ArrowInvalid:
        return None
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _add_binary_rows(
    batch: pa.RecordBatch, sink: RecordSink, prefix: str, numbers: Sequence[int]
) -> None:
    """Slow path for a batch with undecodable bytes: decode row by row."""
    for number, row in zip(numbers, batch.to_pylist(), strict=True):
        decoded: dict[str, Any] = {}
        for key, value in row.items():
            try:
                decoded[key] = value.decode("utf-8") if value is not None else None
            except UnicodeDecodeError:
                sink.n_read += 1
                shown = {
                    k: v.decode("utf-8", "backslashreplace") if v is not None else None
                    for k, v in row.items()
                }
                sink.reject(
                    "invalid_utf8", f"column {key!r} is not valid UTF-8", shown, prefix, number
                )
                break
        else:
            sink.add(decoded, decoded, prefix, number)


def read_csv(file: InputFile, sink: RecordSink, progress: Progress) -> None:
    """CSV with a header row (``path#row N``, N counting data rows); all values are read as
    text and coerced per field; empty cells are missing values. A row with the wrong number
    of cells is quarantined as ``invalid_csv_row`` (``path:LINE``)."""
    try:
        header = _csv_header(file)
    except (OSError, EOFError) as exc:
        _file_problem(sink, file, "unreadable_file", f"cannot read the CSV header: {exc}")
        return
    if not header:
        sink.warnings["empty_file"] += 1
        return
    invalid: list[pacsv.InvalidRow] = []
    prefix = f"{file.path}#row "
    skipped_rows: set[int] = set()  # data rows quarantined as invalid, not yet passed

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    def flush_invalid() -> None:
        for row in invalid:
            sink.n_read += 1
            detail = f"expected {row.expected_columns} cells, found {row.actual_columns}"
            if row.number is None:
                sink.reject("invalid_csv_row", detail, row.text, str(file.path), 0)
            else:  # pyarrow counts the header as row 1
                skipped_rows.add(row.number - 1)
                sink.reject("invalid_csv_row", detail, row.text, prefix, row.number - 1)
        invalid.clear()

    next_row = 1

    def numbers_for(count: int) -> Sequence[int]:
        """Data-row numbers of the next *count* valid rows (skipping invalid ones)."""
        nonlocal next_row
        if not skipped_rows:
            first, next_row = next_row, next_row + count
            return range(first, next_row)
        out: list[int] = []
        while len(out) < count:
            if next_row in skipped_rows:
                skipped_rows.discard(next_row)
            else:
                out.append(next_row)
            next_row += 1
        return out

    with pa.OSFile(str(file.path)) as raw:
        try:
            stream = pa.CompressedInputStream(raw, "gzip") if file.gzip else raw
            reader = pacsv.open_csv(
                stream,
                read_options=_csv_read_options(),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=_csv_convert_options(header),
            )
            for batch in reader:
                flush_invalid()
                numbers = numbers_for(batch.num_rows)
                decoded = _decode(batch)
                if decoded is None:
                    _add_binary_rows(batch, sink, prefix, numbers)
                else:
                    _add_columnar(decoded, sink, prefix, numbers)
                progress(raw.tell())
        except (pa.ArrowException, OSError, EOFError) as exc:
            flush_invalid()
            text = str(exc)
            cut = file.gzip and ("gzip" in text.lower() or "truncated" in text.lower())
            reason = "truncated_file" if cut else "unreadable_file"
            detail = f"CSV unreadable after row {next_row - 1}: {text}; the rows before were read"
            _file_problem(sink, file, reason, detail)
            return
    flush_invalid()


def _csv_read_options() -> pacsv.ReadOptions:
    return pacsv.ReadOptions(use_threads=False, block_size=_CSV_BLOCK_BYTES)


def _csv_convert_options(header: list[str]) -> pacsv.ConvertOptions:
    """Every column as bytes (decoded and coerced later); only empty cells are missing."""
    return pacsv.ConvertOptions(
        column_types={name: pa.binary() for name in header},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )


#: reader per format name (see discover.FORMATS)
READERS: Final[dict[str, Reader]] = {
    "jsonl": read_jsonl,
    "json": read_json,
    "parquet": read_parquet,
    "csv": read_csv,
}
