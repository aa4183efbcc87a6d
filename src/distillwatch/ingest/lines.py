"""Lines of a plain or gzip file, read in bounded blocks, with damage reported at the end.

:func:`iter_lines` yields every complete line (without the newline) and ``None`` in place
of a line longer than ``max_line_bytes`` (which is skipped, not held in memory). When a
gzip stream ends early it raises :class:`TruncatedInput` *after* yielding every complete
line before the cut; corrupt compressed data raises :class:`CorruptInput` the same way.

>>> import gzip, io
>>> blob = gzip.compress(b'{"a": 1}\\n{"b": 2}\\n{"c"')
>>> out = []
>>> try:
...     for line in iter_lines(gzip_blocks(io.BytesIO(blob[:-8]))):
...         out.append(line)
... except TruncatedInput as cut:
...     print(out, cut.partial)
[b'{"a": 1}', b'{"b": 2}'] b'{"c"'
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO, Final

BLOCK_BYTES: Final = 1 << 18
#: most decompressed bytes produced from one block step (bounds memory on zip bombs)
_MAX_INFLATE: Final = 16 << 20
#: a line longer than this is skipped and reported as ``line_too_long``
MAX_LINE_BYTES: Final = 256 << 20
#: wbits for zlib: a gzip header is required
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS


class TruncatedInput(Exception):
    """The compressed stream ended before its end marker; ``partial`` is the incomplete
    last line (possibly empty)."""

    def __init__(self, detail: str, partial: bytes = b"") -> None:
        super().__init__(detail)
        self.detail = detail
        self.partial = partial


class CorruptInput(TruncatedInput):
    """The compressed data is damaged; nothing after the damage can be read."""


def plain_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Blocks of an uncompressed stream.

    >>> import io; list(plain_blocks(io.BytesIO(b"abc"), 2))
    [b'ab', b'c']
    """
    while block := stream.read(block_bytes):
        yield block


def gzip_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Decompressed blocks of a gzip stream (several members are read one after another).

    Raises TruncatedInput if the stream ends inside a member and CorruptInput on bad data.
    """
    inflater = zlib.decompressobj(_GZIP_WBITS)
    started = False
    while chunk := stream.read(block_bytes):
        pending = chunk
        more_out = False
        while pending or more_out:
            if inflater.eof:  # next member, or trailing zero padding
                if not pending.strip(b"\x00"):
                    break
                inflater = zlib.decompressobj(_GZIP_WBITS)
            started = True
            try:
                data = inflater.decompress(pending, _MAX_INFLATE)
            except zlib.error as exc:
                raise CorruptInput(f"corrupt gzip data: {exc}") from None
            # a full output buffer may leave output inside zlib even with no input left
            more_out = len(data) == _MAX_INFLATE
            pending = inflater.unconsumed_tail or inflater.unused_data
            if data:
                yield data
    if started and not inflater.eof:
        raise TruncatedInput("the gzip stream ends before its end marker (file cut short?)")


def iter_line_chunks(
    blocks: Iterator[bytes], max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[list[bytes | None]]:
    """Complete lines of *blocks*, a list at a time (one list per block that ends a line);
    ``None`` stands for a skipped over-long line.

    A final line without a newline is yielded too, unless the blocks end in an error.

    >>> list(iter_line_chunks(iter([b"a\\nb", b"c\\n\\nd"])))
    [[b'a'], [b'bc', b''], [b'd']]
    """
    parts: list[bytes] = []
    held = 0
    skipping = False
    try:
        for block in blocks:
            pieces: list[bytes | None] = list(block.split(b"\n"))
            tail = pieces.pop()
            if pieces:
                if skipping:
                    skipping = False
                    pieces[0] = None
                elif parts:
                    parts.append(pieces[0] or b"")
                    pieces[0] = b"".join(parts)
                parts = []
                held = 0
                yield pieces
            if tail and not skipping:
                parts.append(tail)
                held += len(tail)
                if held > max_line_bytes:
                    parts = []
                    held = 0
                    skipping = True
    except TruncatedInput as exc:
        raise type(exc)(exc.detail, b"" if skipping else b"".join(parts)) from None
    if skipping:
        yield [None]
    elif parts:
        yield [b"".join(parts)]


def iter_lines(
    blocks: Iterator[bytes], max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[bytes | None]:
    """:func:`iter_line_chunks` one line at a time.

    >>> list(iter_lines(iter([b"a\\nb", b"c\\n\\nd"])))
    [b'a', b'bc', b'', b'd']
    """
    for chunk in iter_line_chunks(blocks, max_line_bytes):
        yield from chunk
