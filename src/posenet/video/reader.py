"""Video frames in with OpenCV: :class:`VideoReader` yields every source frame in
presentation order, as RGB, with its number and timestamp.

A frame that cannot be had is yielded too, with ``image=None``, so that callers count
it and keep their output in step with the source: one that fails to decode, or one
the container declares but that no longer is in the file (``missing``, see
:mod:`.timeline`). OpenCV skips both without a word; matching the decoded frames
against the source's timeline by timestamp is what makes those losses visible.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from ..errors import VideoError
from .timeline import Declared, Timeline, declared, scan

MAX_FAILED_READS = 16
"""Failed reads in a row taken as the end of the stream."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Size in pixels, frame rate in frames per second, number of frames (0 if unknown)."""

    width: int
    height: int
    fps: float
    frame_count: int


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One source frame: ``index`` from 0 in presentation order, ``time_s`` its
    presentation time in seconds from the stream start, ``image`` uint8 ``[H, W, 3]`` RGB,
    or ``None`` when the frame could not be had: ``missing`` if the file no longer holds
    it (a hole, or the file was cut short), else it failed to decode."""

    index: int
    time_s: float
    image: np.ndarray | None
    missing: bool = False

    @property
    def ok(self) -> bool:
        """Whether the frame was decoded."""
        return self.image is not None


def _open(path: str) -> tuple[cv2.VideoCapture, Declared]:
    """The capture, checked: a video with a frame size (not a still image, not a folder)."""
    if Path(path).is_dir():
        raise VideoError(f"{path} is a folder, not a video file")
    if not Path(path).is_file():
        raise VideoError(f"{path}: no such file")
    cap = cv2.VideoCapture(path)
    if not cap.isOpened() or cap.get(cv2.CAP_PROP_FRAME_WIDTH) <= 0 or cap.get(cv2.CAP_PROP_FRAME_HEIGHT) <= 0:
        cap.release()
        raise VideoError(f"{path}: not a video file OpenCV can read (no video stream with a frame size)")
    info = declared(path)
    if info.still:
        cap.release()
        raise VideoError(f"{path} is a still image, not a video (posenet.images.decode_image reads it)")
    return cap, info


class VideoReader:
    """Iterate over the frames of a video file (anything OpenCV opens).

    ``start_s`` / ``end_s`` (seconds) keep the frames with ``start_s <= time_s < end_s``;
    frame indices and times stay those of the source. Use as a context manager or call
    :meth:`close`. ``lost`` counts the frames in range that the file no longer holds.

    Example::

        with VideoReader("in.mp4", end_s=5) as reader:
            for frame in reader:
                if frame.ok:
                    poses = net.estimate(frame.image, "camera")
    """

    def __init__(self, path: str | Path, start_s: float = 0.0, end_s: float | None = None) -> None:
        if end_s is not None and end_s <= start_s:
            raise ValueError(f"end ({end_s} s) must be after start ({start_s} s)")
        self.path = str(path)
        self.start_s, self.end_s = start_s, end_s
        self._cap, self.declared = _open(self.path)
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        raw_fps = self._cap.get(cv2.CAP_PROP_FPS)
        fps = float(raw_fps) if math.isfinite(raw_fps) and raw_fps > 0 else 0.0
        self._timeline: Timeline | None = None
        if self._cap.getBackendName() == "FFMPEG":
            self._timeline = scan(self.path, end_s, fps or 30.0, self.declared)
        t = self._timeline
        if not fps:
            fps = (len(t.times) - 1) / (t.times[-1] - t.times[0]) if t and t.times[-1] > t.times[0] else 30.0
        count = len(t.times) if t is not None and t.complete else int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = VideoInfo(width, height, fps, max(count, 0))

    @property
    def lost(self) -> int:
        """Frames in range that the container declares but the file no longer holds."""
        t = self._timeline
        return 0 if t is None else sum(1 for i in t.lost if self._in_range(t.times[i]))

    def frames_in_range(self) -> int | None:
        """How many frames iteration will yield (failures included), if known."""
        if self._timeline is not None:
            return sum(1 for t in self._timeline.times if self._in_range(t))
        if self.info.frame_count <= 0:
            return None
        first = math.ceil(self.start_s * self.info.fps)
        count = self.info.frame_count
        last = count if self.end_s is None else min(count, math.ceil(self.end_s * self.info.fps))
        return max(last - first, 0)

    @property
    def duration_s(self) -> float | None:
        """Seconds from the first frame to the end of the last, if known."""
        t = self._timeline
        if t is not None and t.complete:
            return t.times[-1] + 1.0 / self.info.fps
        return self.info.frame_count / self.info.fps if self.info.frame_count > 0 else None

    def _in_range(self, t: float) -> bool:
        return t >= self.start_s and (self.end_s is None or t < self.end_s)

    def _past_end(self, t: float) -> bool:
        return self.end_s is not None and t >= self.end_s

    def __iter__(self) -> Iterator[VideoFrame]:
        """Every source frame in range, in order; ``image=None`` for one not had."""
        if self._timeline is None:
            return self._counted()
        return self._timed(self._timeline)

    def _frame(self, index: int, time_s: float, decoded: bool, missing: bool = False) -> VideoFrame:
        image = None
        if decoded:
            got, bgr = self._cap.retrieve()
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if got and bgr is not None else None
        return VideoFrame(index, time_s, image, missing)

    def _timed(self, timeline: Timeline) -> Iterator[VideoFrame]:
        """A decoded frame is placed by its timestamp; the source frames before it not yet
        yielded are failures (lost, or failed to decode)."""
        times, fps, cap = timeline.times, self.info.fps, self._cap
        cursor = misses = 0  # next source frame not yet yielded; failed reads in a row
        while cursor < len(times) and misses <= min(len(times) - cursor, MAX_FAILED_READS):
            if not cap.grab():
                misses += 1  # a bad packet, or the end: the timestamps tell which frames came
                continue
            misses = 0
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if timeline.remap is not None:
                t = timeline.remap.get(round(t * fps), t)
            j = bisect.bisect_left(times, t - 0.25 / fps, lo=cursor)
            index = j if j < len(times) and times[j] <= t + 0.25 / fps else cursor
            for i in range(cursor, index + 1):
                if self._past_end(times[i]):
                    return
                if self._in_range(times[i]):
                    yield self._frame(i, times[i], i == index, i in timeline.lost)
            cursor = index + 1
        for i in range(cursor, len(times)):  # not had, at the end
            if self._past_end(times[i]):
                return
            if self._in_range(times[i]):
                yield VideoFrame(i, times[i], None, i in timeline.lost)

    def _counted(self) -> Iterator[VideoFrame]:
        """Without timestamps (another OpenCV backend): a failed read stands for one frame
        while the declared count allows."""
        fps, index = self.info.fps, 0
        while True:
            decoded = self._cap.grab()
            if not decoded and index >= self.info.frame_count:
                return
            time_s = index / fps
            if self._past_end(time_s):
                return
            if self._in_range(time_s):
                yield self._frame(index, time_s, decoded)
            index += 1

    def close(self) -> None:
        """Release the file (stop any :func:`~posenet.video.prefetch` over this reader first)."""
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
