"""Video frames in and out with OpenCV (the ``video`` extra).

:class:`VideoReader` yields every source frame in presentation order, as RGB, with its
index and timestamp; a frame that fails to decode is yielded too, with ``image=None``,
so that callers can count it and keep their output in step with the source.

Which frames the source has is read from the container (one pass over its packets, no
decoding); decoded frames are matched to them by presentation timestamp. OpenCV skips
undecodable packets silently, and this matching is what makes those losses visible.

:func:`prefetch` reads ahead in a thread; :class:`Background` runs calls (drawing,
encoding) in a thread, in order.
"""

from __future__ import annotations

import bisect
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import cv2
import numpy as np

from ..errors import VideoError

T = TypeVar("T")


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
    or ``None`` when the frame could not be decoded."""

    index: int
    time_s: float
    image: np.ndarray | None

    @property
    def ok(self) -> bool:
        """Whether the frame was decoded."""
        return self.image is not None


def _packet_times(path: str, end_s: float | None) -> list[float] | None:
    """Sorted presentation times (s) of the video packets, from a demux-only pass.

    ``None`` if the container cannot be read that way. Stops 1 s past ``end_s``
    (packets come in decode order, which lags presentation order by a few frames). A
    packet that cannot be read mid-stream has no timestamp: it gets an estimated one
    (:func:`_fill_gaps`) so that its frame is still accounted for.
    """
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    try:
        if not cap.isOpened():
            return None
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        times: list[float] = []
        bad = misses = 0  # unreadable packets followed by readable ones; current run of failures
        while True:
            if not cap.grab():
                misses += 1
                if misses > max(declared - len(times) - bad, 0):
                    break  # end of stream
                continue
            bad, misses = bad + misses, 0
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if end_s is not None and t > end_s + 1.0:
                break
            if t >= 0:  # negative: pre-roll packets an edit list hides
                times.append(t)
        times.sort()
        return _fill_gaps(times, bad) if times else None
    finally:
        cap.release()


def _fill_gaps(times: list[float], missing: int) -> list[float]:
    """``times`` plus ``missing`` estimated times: in the widest gaps (in units of the
    median frame interval), evenly spaced, then after the last frame."""
    if missing == 0:
        return times
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / 30.0
    gaps = sorted(range(len(times) - 1), key=lambda i: times[i] - times[i + 1])  # widest first
    added: list[float] = []
    for i in gaps:
        gap = times[i + 1] - times[i]
        slots = min(round(gap / step) - 1, missing - len(added))
        if slots <= 0:
            break
        added += [times[i] + gap * j / (slots + 1) for j in range(1, slots + 1)]
    added += [times[-1] + step * j for j in range(1, missing - len(added) + 1)]
    return sorted(times + added)


class VideoReader:
    """Iterate over the frames of a video file (anything OpenCV opens).

    ``start_s`` / ``end_s`` (seconds) keep the frames with ``start_s <= time_s < end_s``;
    frame indices and times stay those of the source. Use as a context manager or call
    :meth:`close`.

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
        if not Path(self.path).is_file():
            raise VideoError(f"{self.path}: no such file")
        self.start_s, self.end_s = start_s, end_s
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise VideoError(f"{self.path}: OpenCV cannot open this file as a video")
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._times = _packet_times(self.path, end_s) if self._cap.getBackendName() == "FFMPEG" else None
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        if not (math.isfinite(fps) and fps > 0):
            t = self._times
            fps = (len(t) - 1) / (t[-1] - t[0]) if t and len(t) > 1 and t[-1] > t[0] else 30.0
        count = len(self._times) if self._times and end_s is None else int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = VideoInfo(width, height, float(fps), max(count, 0))

    def frames_in_range(self) -> int | None:
        """How many frames iteration will yield (decode failures included), if known."""
        if self._times is not None:
            return sum(1 for t in self._times if self._in_range(t))
        if self.info.frame_count <= 0:
            return None
        first = math.ceil(self.start_s * self.info.fps)
        count = self.info.frame_count
        last = count if self.end_s is None else min(count, math.ceil(self.end_s * self.info.fps))
        return max(last - first, 0)

    def _in_range(self, t: float) -> bool:
        return t >= self.start_s and (self.end_s is None or t < self.end_s)

    def _past_end(self, t: float) -> bool:
        return self.end_s is not None and t >= self.end_s

    def __iter__(self) -> Iterator[VideoFrame]:
        """Every source frame in range, in order; ``image=None`` for one that failed to decode.

        With the container's timestamps, a decoded frame is placed by its timestamp and
        the source frames skipped before it are failures; without them (another OpenCV
        backend), a failed read stands for one frame while the declared count allows.
        """
        times, cap, fps = self._times, self._cap, self.info.fps
        cursor = 0  # next source frame not yet accounted for
        misses = 0  # consecutive failed reads
        while times is None or cursor < len(times):
            if not cap.grab():
                misses += 1
                if times is None and cursor < self.info.frame_count:
                    index, ok = cursor, False
                elif times is not None and misses <= len(times) - cursor:
                    continue  # a bad packet: read on, the timestamps will tell which frame it was
                else:
                    break  # end of stream
            else:
                misses, index, ok = 0, cursor, True
                if times is not None:
                    t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    j = bisect.bisect_left(times, t - 0.25 / fps, lo=cursor)
                    if j < len(times) and times[j] <= t + 0.25 / fps:
                        index = j
            for i in range(cursor, index + 1):
                time_s = times[i] if times is not None else i / fps
                if self._past_end(time_s):
                    return
                if not self._in_range(time_s):
                    continue
                image = None
                if i == index and ok:
                    got, bgr = cap.retrieve()
                    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if got and bgr is not None else None
                yield VideoFrame(i, time_s, image)
            cursor = index + 1
        for t in times[cursor:] if times is not None else ():  # lost at the end
            if self._past_end(t):
                return
            if self._in_range(t):
                yield VideoFrame(cursor, t, None)
            cursor += 1

    def close(self) -> None:
        """Release the file (stop any :func:`prefetch` over this reader first)."""
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


FOURCC_BY_SUFFIX: dict[str, str] = {
    ".mp4": "mp4v",
    ".m4v": "mp4v",
    ".mov": "mp4v",
    ".mkv": "mp4v",
    ".avi": "MJPG",
    ".webm": "VP80",
}
"""Codec chosen from the output file's extension (OpenCV's pip wheels cannot write H.264)."""


class VideoWriter:
    """Write RGB frames of a fixed size to a video file at a constant frame rate.

    The codec comes from the extension (:data:`FOURCC_BY_SUFFIX`) unless ``fourcc`` (four
    characters, e.g. ``"MJPG"``) is given.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: float, fourcc: str | None = None) -> None:
        self.path = str(path)
        suffix = Path(self.path).suffix.lower()
        code = fourcc or FOURCC_BY_SUFFIX.get(suffix)
        if code is None or len(code) != 4:
            raise VideoError(
                f"{self.path}: cannot choose a codec for '{suffix}'; use one of "
                f"{', '.join(FOURCC_BY_SUFFIX)} or give a four-character fourcc"
            )
        self.size = (width, height)
        self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter.fourcc(*code), fps, self.size)
        if not self._writer.isOpened():
            raise VideoError(f"{self.path}: OpenCV cannot write {code} video to this file")
        self.frames_written = 0

    def write(self, image_rgb: np.ndarray) -> None:
        """Append one uint8 ``[height, width, 3]`` RGB frame."""
        if image_rgb.shape != (self.size[1], self.size[0], 3) or image_rgb.dtype != np.uint8:
            expected = (self.size[1], self.size[0], 3)
            raise ValueError(f"frame must be uint8 {expected}, got {image_rgb.dtype} {image_rgb.shape}")
        self._writer.write(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], size: int = 4) -> Iterator[T]:
    """Iterate over ``items`` in a background thread, up to ``size`` ahead, so that
    decoding overlaps the caller's work. Exceptions are re-raised in the caller; closing
    the returned generator stops and joins the thread.
    """
    slots: queue.Queue[Any] = queue.Queue(maxsize=size)
    stop = threading.Event()
    end = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Raised(exc))

    thread = threading.Thread(target=run, name="posenet-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is end:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class Background:
    """Run calls one after another in a background thread (e.g. draw + encode frames).

    An exception in a call is re-raised by the next :meth:`submit` or by :meth:`close`;
    later calls are skipped.
    """

    def __init__(self, size: int = 4) -> None:
        self._calls: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(maxsize=size)
        self._error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._run, name="posenet-background", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            if self._error is None:
                try:
                    call[0](*call[1])
                except BaseException as exc:  # noqa: BLE001 - re-raised by the next submit or close
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None and not self._reported:
            self._reported = True
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue ``fn(*args)`` (blocks while ``size`` calls are waiting); re-raises an
        earlier call's exception."""
        self._raise()
        self._calls.put((fn, args))

    def close(self) -> None:
        """Wait for the queued calls to finish; re-raise the first error."""
        if self._thread.is_alive():
            self._calls.put(None)
            self._thread.join()
        self._raise()
