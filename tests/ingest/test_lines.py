import gzip
import io
import zlib

import pytest

from distillwatch.ingest.lines import (
    CorruptInput,
    TruncatedInput,
    gzip_blocks,
    iter_line_chunks,
    iter_lines,
    plain_blocks,
)

LINES = [b'{"n": %d, "pad": "%s"}' % (i, b"x" * (i % 97)) for i in range(3000)]
TEXT = b"\n".join(LINES) + b"\n"


def read_all(data: bytes, block_bytes: int = 4096) -> list[bytes | None]:
    return list(iter_lines(gzip_blocks(io.BytesIO(data), block_bytes)))


def test_plain_lines_whatever_the_block_size():
    for size in (1, 7, 4096, 1 << 20):
        assert list(iter_lines(plain_blocks(io.BytesIO(TEXT), size))) == LINES


def test_gzip_lines_and_several_members():
    blob = gzip.compress(TEXT)
    assert read_all(blob) == LINES
    assert read_all(blob + blob) == LINES + LINES
    assert read_all(blob + b"\x00" * 64) == LINES  # zero padding after the last member


def test_cut_gzip_keeps_every_complete_line_before_the_cut():
    blob = gzip.compress(TEXT)
    for cut in (len(blob) // 3, len(blob) - 8, len(blob) - 1):
        got: list[bytes | None] = []
        with pytest.raises(TruncatedInput) as info:
            for line in iter_lines(gzip_blocks(io.BytesIO(blob[:cut]), 512)):
                got.append(line)
        assert got == LINES[: len(got)]
        # what was decompressed is exactly the complete lines plus the partial one
        assert b"\n".join(got) + b"\n" + info.value.partial == zlib.decompressobj(31).decompress(
            blob[:cut]
        )


def test_corrupt_gzip_is_reported_after_the_good_lines():
    blob = bytearray(gzip.compress(TEXT, compresslevel=1))
    blob[len(blob) // 2] ^= 0xFF
    got = []
    with pytest.raises(CorruptInput):
        for line in iter_lines(gzip_blocks(io.BytesIO(bytes(blob)), 256)):
            got.append(line)
    # deflate has no per-block check: lines before the damage are intact, what follows
    # it may be garbage (it then fails JSON parsing) until zlib notices
    intact = next(i for i, (a, b) in enumerate(zip(got, LINES, strict=False)) if a != b)
    assert intact > 100


def test_huge_decompressed_output_is_produced_in_bounded_steps():
    data = b"a" * (40 << 20) + b"\n"  # 40 MiB of one byte compresses to almost nothing
    blocks = list(gzip_blocks(io.BytesIO(gzip.compress(data))))
    assert max(map(len, blocks)) <= 16 << 20
    assert sum(map(len, blocks)) == len(data)


def test_over_long_lines_are_skipped_as_none():
    data = b"short\n" + b"y" * 50 + b"\nafter\n" + b"z" * 50
    chunks = list(iter_line_chunks(plain_blocks(io.BytesIO(data), 8), max_line_bytes=20))
    assert [line for chunk in chunks for line in chunk] == [b"short", None, b"after", None]


def test_last_line_without_newline_and_blank_lines():
    assert list(iter_lines(iter([b"a\n\nb"]))) == [b"a", b"", b"b"]
    assert list(iter_lines(iter([b""]))) == []
