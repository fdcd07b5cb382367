"""AVI's legacy index (``idx1``): which frames an AVI file held when it was written.

AVI packets carry no timestamps: a demuxer numbers the chunks it finds, so after a
hole in the file (bytes lost in the middle) every later frame would get a smaller
number than its own. The ``idx1`` chunk at the end of the file lists every chunk
written, in order, with its size; matching the sizes of the chunks still there against
that list tells which source frame each one is (:func:`align`).
"""

from __future__ import annotations

import bisect
import struct
from collections import Counter
from pathlib import Path

ENTRY = struct.Struct("<4sIII")
"""One ``idx1`` entry: chunk id, flags, offset, size."""

MAX_INDEX_BYTES = 64 << 20
"""The most of a file's end searched for ``idx1`` (4 million entries)."""


def index_sizes(path: str | Path, frames: int = 0) -> list[int] | None:
    """Chunk sizes of the video stream, one per source frame in order, from the ``idx1``
    index of an AVI file; ``None`` if the file is not an AVI or has no readable index.

    The index is found from the end of the file (a damaged file's RIFF sizes cannot be
    trusted to lead to it), in the last bytes that ``frames`` entries (the declared
    count, 0 if unknown) and some slack need. Zero-size entries (AVI "drop frames": show the previous
    frame again) are kept; they hold no picture.
    """
    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"AVI ":
            return None
        size = f.seek(0, 2)
        reach = min(2 * ENTRY.size * frames + (1 << 20), MAX_INDEX_BYTES) if frames > 0 else MAX_INDEX_BYTES
        start = max(size - reach, 12)
        f.seek(start)
        tail = f.read()
    at = tail.rfind(b"idx1")
    while at >= 0:
        (length,) = struct.unpack_from("<I", tail, at + 4) if at + 8 <= len(tail) else (-1,)
        if length % ENTRY.size == 0 and 0 < length <= len(tail) - at - 8:
            sizes = _video_sizes(tail[at + 8:at + 8 + length])
            if sizes:
                return sizes
        at = tail.rfind(b"idx1", 0, at)
    return None


def _video_sizes(data: bytes) -> list[int] | None:
    """The sizes of the entries of the index's video stream (the stream number most used
    by ``##dc`` / ``##db`` chunks), or ``None`` if these do not look like index entries."""
    entries = [(ckid, size) for ckid, _, _, size in ENTRY.iter_unpack(data)]
    if sum(ckid[:2].isdigit() or ckid.startswith(b"ix") for ckid, _ in entries) < 0.9 * len(entries):
        return None
    video = [(ckid[:2], size) for ckid, size in entries if ckid[2:] in (b"dc", b"db") and ckid[:2].isdigit()]
    if not video:
        return None
    stream = Counter(number for number, _ in video).most_common(1)[0][0]
    return [size for number, size in video if number == stream]


def align(seen: list[int], index: list[int]) -> list[int] | None:
    """For each chunk read (``seen``: sizes in file order), its position in ``index``
    (increasing); ``None`` if they cannot be matched.

    A chunk whose size is not the next entry's starts a search further on for an entry
    of that size followed by the size of the next chunk read (a hole was skipped).
    """
    where: dict[int, list[int]] = {}
    for k, size in enumerate(index):
        where.setdefault(size, []).append(k)
    out: list[int] = []
    k = 0  # next index entry expected
    for j, size in enumerate(seen):
        if k < len(index) and index[k] == size:
            out.append(k)
            k += 1
            continue
        candidates = where.get(size, [])
        i = bisect.bisect_left(candidates, k)
        after = seen[j + 1] if j + 1 < len(seen) else None
        while i < len(candidates) and after is not None and (
                candidates[i] + 1 >= len(index) or index[candidates[i] + 1] != after):
            i += 1
        if i >= len(candidates):
            return None
        out.append(candidates[i])
        k = candidates[i] + 1
    return out
