"""A scan's :class:`~distillwatch.results.ScanResult` as a file: lossless, machine-readable.

``distillwatch scan --out DIR`` writes ``DIR/result.json.gz``; the console and
``distillwatch calibrate`` read it back with :func:`read_result`. The file is gzip'd JSON::

    {"format": "distillwatch-scan-result", "version": 1, "scan_id": "...", "result": {...}}

``result`` holds every field of every dataclass in :mod:`distillwatch.results`, named as in
Python; ``scan_id`` is the first 16 hex digits of the sha256 of ``result``'s canonical JSON
(:func:`distillwatch.hashchain.canonical`) with floats rounded to 12 significant digits, so
the same result, and a re-scan of the same input, has the same id; a file whose content no
longer matches its id is refused.

Typed fields are written as plain JSON (datetimes as ISO 8601 text, naive or with their
offset as they were, and a zone's name in brackets as RFC 9557 does; tuples and Counters as
lists and objects, rebuilt from the field's type). Free-form values (``SignalHit.evidence``)
keep their Python types through tags: a tuple is ``{"$tuple": [...]}``, a datetime
``{"$datetime": "..."}``, a non-finite float ``{"$float": "nan"}``, a dict whose keys are not
all plain strings (or start with ``$``) ``{"$dict": [[k, v], ...]}``. A field missing from the
file takes its default (files written before it was added); unknown fields are ignored.

>>> from datetime import UTC, datetime
>>> from distillwatch.results import AccountVerdict, IngestSummary, ScanResult, SignalHit
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> hit = SignalHit("volume", 0.9, 1.2, {"ids": ("r1", "r2"), "peak": t})
>>> result = ScanResult([AccountVerdict("a1", 0.9, True, 5, t, t, hits=[hit])], [],
...                     IngestSummary(), t, None, 0.5, 5)
>>> text = result_to_json(result)
>>> text.startswith('{"format":"distillwatch-scan-result","version":1,"scan_id":"')
True
>>> back = result_from_json(text)
>>> back == result, back.accounts[0].hits[0].evidence["ids"], back.window_end
(True, ('r1', 'r2'), None)
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import math
import numbers
import types
import typing
import zlib
from collections import Counter
from contextlib import suppress
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from distillwatch.errors import UsageError
from distillwatch.hashchain import canonical
from distillwatch.outputs.files import write_bytes
from distillwatch.results import ScanResult

__all__ = [
    "FORMAT",
    "RESULT_FILE",
    "VERSION",
    "read_result",
    "result_from_json",
    "result_to_json",
    "write_result",
]

#: the file name inside a scan directory
RESULT_FILE = "result.json.gz"
FORMAT = "distillwatch-scan-result"
VERSION = 1
_ID_CHARS = 16
#: gzip level (demo scan, 2.05 MB of JSON: 424 kB at 1, 313 kB at 6 in 48 ms, 297 kB at 9 in 59 ms)
_LEVEL = 6
_TAGS = ("$tuple", "$datetime", "$date", "$float", "$dict")


class _Corrupt(ValueError):
    """The JSON holds something a scan result cannot (the path says where)."""


# ---------------------------------------------------------------- encoding


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"$float": repr(value)}


def _free(value: Any, where: str) -> Any:
    """A free-form (``Any``) value as JSON, tagging what JSON cannot tell apart."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, list):
        return [_free(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_free(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _free(v, f"{where}.{k}") for k, v in value.items()}
        return {"$dict": [[_free(k, where), _free(v, f"{where}.{k}")] for k, v in value.items()]}
    if isinstance(value, datetime):
        return {"$datetime": _datetime_text(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, numbers.Integral):  # numpy integers
        return int(value)
    if isinstance(value, numbers.Real):  # numpy floats
        return _float(float(value))
    raise TypeError(
        f"{where} is a {type(value).__name__}, which a scan result cannot hold; evidence "
        "must be JSON-ready (str, numbers, bools, None, lists, tuples, dicts, datetimes)"
    )


def _datetime_text(value: datetime) -> str:
    """ISO 8601, plus the zone's name in brackets (RFC 9557) when it has one.

    >>> _datetime_text(datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    '2026-01-01T00:00:00+00:00[UTC]'
    """
    text = value.isoformat()
    return f"{text}[{value.tzinfo.key}]" if isinstance(value.tzinfo, ZoneInfo) else text


def _parse_datetime(text: str) -> datetime:
    """The datetime of :func:`_datetime_text` (the named zone when it is known here)."""
    base, _, zone = text.partition("[")
    value = datetime.fromisoformat(base)
    if zone and value.tzinfo is not None:
        with suppress(ZoneInfoNotFoundError, ValueError):
            return value.astimezone(ZoneInfo(zone.removesuffix("]")))
    return value


def _encode(value: Any, tp: Any, where: str) -> Any:
    """*value* of declared type *tp* as JSON."""
    if tp is Any:
        return _free(value, where)
    if value is None:
        return None
    if _is_dataclass_type(tp):
        return {
            f.name: _encode(getattr(value, f.name), t, f"{where}.{f.name}") for f, t in _fields(tp)
        }
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _encode(value, inner, where)
    if origin in (list, tuple):
        item = args[0]
        return [_encode(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Counter):
        item = args[-1] if origin is dict else int
        return {str(k): _encode(v, item, f"{where}.{k}") for k, v in value.items()}
    if tp is datetime:
        return _datetime_text(value)
    if tp is float and isinstance(value, float):
        return _float(value)
    return _free(value, where)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


@cache
def _fields(cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def _stable(value: Any) -> Any:
    """*value* with every float rounded to 12 significant digits: two scans of one input
    differ in the last bits of some risks (DuckDB's summation order) and must get one id."""
    if isinstance(value, float):
        return float(f"{value:.12g}") if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _scan_id(encoded: Any) -> str:
    text = canonical(_stable(encoded))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:_ID_CHARS]


def result_to_json(result: ScanResult) -> str:
    """The JSON text of *result*, wrapped with its format, version and scan id.

    Raises ``TypeError`` if an evidence value is not JSON-ready (a bug in a signal).
    """
    encoded = _encode(result, ScanResult, "result")
    body = canonical(encoded)
    return (
        f'{{"format":"{FORMAT}","version":{VERSION},"scan_id":"{_scan_id(encoded)}",'
        f'"result":{body}}}'
    )


# ---------------------------------------------------------------- decoding


def _unfree(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_unfree(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in _TAGS:
            return _untag(tag, inner, where)
    return {k: _unfree(v, f"{where}.{k}") for k, v in value.items()}


def _untag(tag: str, inner: Any, where: str) -> Any:
    try:
        if tag == "$tuple":
            return tuple(_unfree(v, f"{where}[{i}]") for i, v in enumerate(inner))
        if tag == "$datetime":
            return _parse_datetime(inner)
        if tag == "$date":
            return date.fromisoformat(inner)
        if tag == "$float":
            return float(inner)
        return {_unfree(k, where): _unfree(v, f"{where}.{k}") for k, v in inner}
    except (TypeError, ValueError) as exc:
        raise _Corrupt(f"{where}: bad {tag} value") from exc


def _scalar(value: Any, tp: type, where: str) -> Any:
    if tp is float:
        if isinstance(value, dict):
            return _untag("$float", value.get("$float"), where)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
    if not ok:
        raise _Corrupt(f"{where}: expected {tp.__name__}, found {type(value).__name__}")
    return value


def _decode(value: Any, tp: Any, where: str) -> Any:
    """The Python value of declared type *tp* from its JSON *value*."""
    if tp is Any:
        return _unfree(value, where)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(value, inner, where)
    if _is_dataclass_type(tp):
        if not isinstance(value, dict):
            raise _Corrupt(f"{where}: expected an object")
        kwargs = {}
        for f, t in _fields(tp):
            if f.name in value:
                kwargs[f.name] = _decode(value[f.name], t, f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _Corrupt(f"{where}: {f.name} is missing")
        return tp(**kwargs)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise _Corrupt(f"{where}: expected a list")
        items = [_decode(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin in (dict, Counter):
        if not isinstance(value, dict):
            raise _Corrupt(f"{where}: expected an object")
        item = args[-1] if origin is dict else int
        decoded = {k: _decode(v, item, f"{where}.{k}") for k, v in value.items()}
        return decoded if origin is dict else Counter(decoded)
    if tp is datetime:
        try:
            return _parse_datetime(_scalar(value, str, where))
        except ValueError as exc:
            raise _Corrupt(f"{where}: not an ISO 8601 datetime") from exc
    if tp in (str, int, float, bool):
        return _scalar(value, tp, where)
    raise TypeError(f"{where}: results_io cannot decode fields of type {tp!r}")


def _parse(text: str, origin: str) -> tuple[str, ScanResult]:
    hint = f"rerun `distillwatch scan ... --out DIR` to write {RESULT_FILE} again"
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{origin} is not valid JSON ({exc}); {hint}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{origin} is not a distillwatch scan result (no format {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise UsageError(
            f"{origin} is scan result format version {doc.get('version')!r}, this distillwatch "
            f"reads version {VERSION}: rescan with this version (or use the matching version)"
        )
    scan_id = doc.get("scan_id")
    try:
        result = _decode(doc.get("result"), ScanResult, "result")
    except (_Corrupt, TypeError) as exc:
        raise UsageError(f"{origin} holds an unusable scan result ({exc}); {hint}") from exc
    if scan_id != _scan_id(doc["result"]):
        raise UsageError(
            f"{origin} was altered after it was written: its scan_id {scan_id!r} does not match "
            f"its content; {hint}"
        )
    return scan_id, result


def result_from_json(text: str) -> ScanResult:
    """The :class:`~distillwatch.results.ScanResult` of :func:`result_to_json`'s *text*.

    Raises :class:`~distillwatch.errors.UsageError` for text that is not a scan result of
    this format version, or whose content does not match its scan id.
    """
    return _parse(text, "the text")[1]


# ---------------------------------------------------------------- files


def _file(path: Path) -> Path:
    return path / RESULT_FILE if path.is_dir() else path


def write_result(result: ScanResult, path: Path) -> Path:
    """Write *result* gzip'd to *path* (a directory means ``path/result.json.gz``), atomically.

    The same result always gives the same bytes. Returns the file's path; raises
    :class:`~distillwatch.errors.OutputError` if it cannot be written.
    """
    target = _file(Path(path))
    data = gzip.compress(
        result_to_json(result).encode("utf-8", "surrogatepass"), compresslevel=_LEVEL, mtime=0
    )
    return write_bytes(target, data)


def read_result(path: Path) -> tuple[str, ScanResult]:
    """``(scan_id, result)`` from a ``result.json.gz`` file or a scan directory holding one.

    Raises :class:`~distillwatch.errors.UsageError` (one line saying what to do) when the
    file is missing, unreadable, not gzip'd JSON, or of another format or version.
    """
    path = Path(path)
    target = _file(path)
    if not target.is_file():
        where = f"in {path}" if path.is_dir() else f"at {path}"
        # a missing path that does not name the file itself was meant as a scan directory
        scan_dir = path.parent if path.name == RESULT_FILE else path
        raise UsageError(
            f"no {RESULT_FILE} {where}: run `distillwatch scan ... --out {scan_dir}` "
            "with this version first"
        )
    try:
        with gzip.open(target, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise UsageError(
            f"cannot read {target} as gzip ({reason}); rerun `distillwatch scan ... --out DIR` "
            f"to write {RESULT_FILE} again"
        ) from exc
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{target} is not UTF-8 text ({exc.reason}); rescan to rewrite it"
        ) from exc
    return _parse(text, str(target))
