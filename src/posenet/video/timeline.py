"""Which frames a video file holds, found before decoding any.

One demux pass over the packets (OpenCV, the library that decodes them later, so that
timestamps compare exactly) is compared with what the container declares (PyAV): its
frame count (MP4, MOV, AVI), else, for Matroska and WebM, its duration. Frames the
container declares that no packet holds are *lost*: a hole in the file or a file cut
short. They are placed where they belong in time: in the widest gaps between the
timestamps, then after the last frame; in AVI, whose packets have no timestamps, by
the file's index (:mod:`.avi`). So every frame keeps the number of its source time.

What cannot be told apart: in a container that stores neither a frame count nor an
index (Matroska, WebM, MPEG-TS), a gap inside the stream is either lost frames or a
pause in a variable-frame-rate video; such gaps are not reported as lost.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import av
import cv2
import numpy as np

from . import avi

MAX_MISSES = 16
"""Failed reads in a row after which the demux pass stops (the end of the stream)."""

MAX_REORDER = 16
"""The most frames a decoder reorders (H.264's limit): how far before a cut frames can be lost."""

DURATION_FORMATS = ("matroska", "webm")
"""Containers whose declared duration is stored, not estimated, and that store no frame count."""


@dataclass(frozen=True)
class Declared:
    """What the container says: ``format`` (FFmpeg's name), ``frames`` (0: not stored)
    and ``duration_s`` (``None`` unless stored by a :data:`DURATION_FORMATS` container)."""

    format: str
    frames: int
    duration_s: float | None

    @property
    def still(self) -> bool:
        """Whether the file is a still image (FFmpeg's image demuxers)."""
        return self.format == "image2" or self.format.endswith("_pipe")


def declared(path: str) -> Declared:
    """The container's own account of its video stream (nothing if PyAV cannot open it)."""
    try:
        with av.open(path, options={"probesize": "32", "analyzeduration": "0"}) as container:  # headers only
            stream = container.streams.video[0]
            name = container.format.name
            stored = any(f in name for f in DURATION_FORMATS) and container.duration
            return Declared(name, max(int(stream.frames), 0), container.duration / 1e6 if stored else None)
    except (av.FFmpegError, IndexError, OSError, ValueError):
        return Declared("", 0, None)


@dataclass(frozen=True)
class Timeline:
    """Every source frame's presentation time (s, sorted), lost frames included.

    ``lost``: positions in ``times`` of the frames no packet holds. ``remap``: for AVI,
    the source time of each packet by the number the decoder gives it
    (``round(its time x fps)``). ``complete``: the pass reached the end of the stream.
    """

    times: tuple[float, ...]
    lost: frozenset[int]
    remap: dict[int, float] | None
    complete: bool


@dataclass
class _Packets:
    """The demux pass: ``(time, size)`` per packet in file order; ``preroll``: packets
    before the stream start (edit lists); ``unreadable``: failed reads followed by
    good ones; ``complete``: the end of the stream was reached."""

    items: list[tuple[float, int]]
    preroll: int
    unreadable: int
    complete: bool


def _demux(path: str, end_s: float | None, sizes: bool) -> _Packets | None:
    """Read every packet without decoding (stops 1 s past ``end_s``: packets come in
    decode order, which lags presentation order by a few frames)."""
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    try:
        if not cap.isOpened():
            return None
        out = _Packets([], 0, 0, True)
        misses = 0
        while True:
            if not cap.grab():
                misses += 1
                if misses > MAX_MISSES:
                    return out
                continue
            out.unreadable, misses = out.unreadable + misses, 0
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if end_s is not None and t > end_s + 1.0:
                out.complete = False
                return out
            if t < 0:  # pre-roll that an edit list hides
                out.preroll += 1
                continue
            raw = cap.retrieve()[1] if sizes else None
            out.items.append((t, 0 if raw is None else int(raw.size)))
    finally:
        cap.release()


def fill_gaps(times: list[float], missing: int) -> list[float]:
    """Times for ``missing`` frames not in ``times`` (sorted): in the widest gaps (in
    units of the median frame interval), evenly spaced, then after the last frame."""
    if missing <= 0:
        return []
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / 30.0
    gaps = sorted(range(len(times) - 1), key=lambda i: times[i] - times[i + 1])  # widest first
    added: list[float] = []
    for i in gaps:
        gap = times[i + 1] - times[i]
        slots = min(round(gap / step) - 1, missing - len(added))
        if slots <= 0:
            break
        added += [times[i] + gap * j / (slots + 1) for j in range(1, slots + 1)]
    return added + [times[-1] + step * j for j in range(1, missing - len(added) + 1)]


def _lost_at_end(times: list[float], duration_s: float, fps: float) -> list[float]:
    """Frames between the last one and the declared duration, at the stream's frame rate
    (not the median interval: Matroska rounds timestamps to milliseconds). A file cut
    short also loses the reordered frames (B-frames) just before the cut: gaps among its
    last :data:`MAX_REORDER` frames are then lost frames too."""
    step = 1.0 / fps
    count = round((duration_s - times[-1]) / step) - 1
    if count <= 0:
        return []
    tail = times[-MAX_REORDER:]
    inside = fill_gaps(tail, sum(max(round((b - a) / step) - 1, 0) for a, b in itertools.pairwise(tail)))
    return inside + [times[-1] + step * j for j in range(1, count + 1)]


def _by_timestamps(packets: _Packets, info: Declared, fps: float) -> Timeline | None:
    seen = sorted(t for t, _ in packets.items)
    if any(b <= a for a, b in itertools.pairwise(seen)):
        return None  # no usable timestamps: frames are counted instead
    missing = packets.unreadable
    if packets.complete and info.frames > 0:
        missing = max(missing, info.frames - len(seen) - packets.preroll)
    added = fill_gaps(seen, missing)
    if packets.complete and info.frames == 0 and info.duration_s is not None:
        added += _lost_at_end(sorted(seen + added), info.duration_s, fps)
    times = sorted(seen + added)
    extra = set(added)
    return Timeline(tuple(times), frozenset(i for i, t in enumerate(times) if t in extra), None, packets.complete)


def _by_avi_index(packets: _Packets, index: list[int], fps: float) -> Timeline | None:
    positions = avi.align([size for _, size in packets.items], index)
    if positions is None or not positions:
        return None
    slots = [k for k, size in enumerate(index) if size > 0 and (packets.complete or k <= positions[-1])]
    seen = set(positions)
    remap = {round(t * fps): k / fps for (t, _), k in zip(packets.items, positions, strict=True)}
    lost = frozenset(i for i, k in enumerate(slots) if k not in seen)
    return Timeline(tuple(k / fps for k in slots), lost, remap, packets.complete)


def scan(path: str, end_s: float | None, fps: float, info: Declared) -> Timeline | None:
    """The source frames of ``path`` up to ``end_s`` (``None``: all); ``None`` if the
    container cannot be read packet by packet or has no usable timestamps."""
    index = avi.index_sizes(path, info.frames) if info.format == "avi" else None
    packets = _demux(path, end_s, sizes=index is not None)
    if packets is None or not packets.items:
        return None
    timeline = _by_avi_index(packets, index, fps) if index is not None else None
    return timeline or _by_timestamps(packets, info, fps)
