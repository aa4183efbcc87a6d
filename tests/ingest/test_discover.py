from pathlib import Path

import pytest

from distillwatch.errors import IngestError
from distillwatch.ingest.discover import discover, ending


def touch(path: Path, data: bytes = b"{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_directories_are_read_recursively_in_sorted_order(tmp_path):
    for name in [
        "b.jsonl",
        "a/z.csv",
        "a/y.parquet",
        "c.ndjson.gz",
        "notes.txt",
        "a/.hidden",
        "Makefile",
        "d.JSON",
        "e.csv.gz",
    ]:
        touch(tmp_path / name)
    files, skipped = discover([tmp_path])
    names = [f.path.relative_to(tmp_path).as_posix() for f in files]
    assert names == ["a/y.parquet", "a/z.csv", "b.jsonl", "c.ndjson.gz", "d.JSON", "e.csv.gz"]
    assert [f.fmt for f in files] == ["parquet", "csv", "jsonl", "jsonl", "json", "csv"]
    assert [f.gzip for f in files] == [False, False, False, True, False, True]
    assert skipped == {"skipped_file:.txt": 1, "skipped_file:(none)": 2}  # Makefile, .hidden


def test_the_same_file_is_read_once(tmp_path):
    path = touch(tmp_path / "x.jsonl")
    files, _ = discover([path, tmp_path, path])
    assert len(files) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl", "does not exist"),
        (lambda d: touch(d / "only" / "readme.md").parent, "has no readable log files"),
        (lambda d: touch(d / "events.txt"), "unsupported file type"),
    ],
)
def test_unusable_inputs_raise_one_line_errors(tmp_path, make, message):
    with pytest.raises(IngestError, match=message) as info:
        discover([make(tmp_path)])
    assert "\n" not in str(info.value)


def test_no_input_at_all(tmp_path):
    with pytest.raises(IngestError, match="no input"):
        discover([])


def test_endings():
    assert ending(Path("x.tar.gz")) == ".tar.gz"
    assert ending(Path("x.GZ")) == ".gz"
