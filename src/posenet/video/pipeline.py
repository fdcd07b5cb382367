"""The video pipeline as a library function: read (prefetched) -> estimate -> track ->
smooth, one :class:`FrameResult` per source frame.

Drawing and writing stay with the caller, who knows where the frames go (the ``posenet
video`` command draws and encodes in a :class:`~posenet.video.Background` thread while
the next frame is estimated)::

    with VideoReader("in.mp4") as reader:
        for result in process_video(net, reader, "camera", tracker=PoseTracker()):
            print(result.index, result.time_s, len(result.poses), result.track_ids)
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..families import PoseModel
from ..options import PoseOptions, pose_options
from ..pose import Pose
from ..smoothing import PoseSmoother
from ..tracking import PoseTracker
from .reader import VideoFrame
from .threads import prefetch

DECODE_FAILED = "failed to decode"
"""The ``error`` of a :class:`FrameResult` whose frame could not be decoded."""

FRAME_MISSING = "missing from the file"
"""The ``error`` of a :class:`FrameResult` whose frame the file no longer holds (a hole,
or the file was cut short: :attr:`VideoFrame.missing <posenet.video.VideoFrame.missing>`)."""


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What was found in one source frame.

    ``index`` is the source frame number (from 0, presentation order) and ``time_s`` its
    presentation time in seconds; ``image`` the decoded uint8 ``[H, W, 3]`` RGB frame, or
    ``None`` when it could not be had (then ``poses`` is empty and ``error`` says why:
    :data:`DECODE_FAILED` or :data:`FRAME_MISSING`). ``poses`` are in the frame's pixels,
    smoothed if a smoother was given;
    ``track_ids[i]`` is the person id of ``poses[i]`` when a tracker was given, else
    ``track_ids`` is ``None``.
    """

    index: int
    time_s: float
    image: np.ndarray | None
    poses: tuple[Pose, ...]
    track_ids: tuple[int, ...] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the frame was decoded."""
        return self.error is None


def process_video(
    model: PoseModel,
    reader: Iterable[VideoFrame],
    options: PoseOptions | str,
    *,
    tracker: PoseTracker | None = None,
    smoother: PoseSmoother | None = None,
    prefetch_size: int = 4,
) -> Generator[FrameResult, None, None]:
    """Estimate poses in every frame of ``reader`` (a :class:`~posenet.video.VideoReader`
    or any iterable of :class:`~posenet.video.VideoFrame`), in order.

    ``options`` are pose options or a preset name (see :func:`posenet.options.pose_options`).
    Frames are decoded up to ``prefetch_size`` ahead in a thread (0: no thread). With a
    ``tracker`` each pose gets a stable person id; with a ``smoother`` positions are
    filtered over ``time_s`` (per track id when tracking, else per list position). A
    frame that failed to decode yields a result with ``error`` set and touches neither
    the tracker nor the smoother. Closing the returned generator stops the prefetch
    thread; close it before closing the reader.

    The model is :meth:`~posenet.families.PoseModel.reset` first (a video is a new stream)
    and each frame goes to it with its presentation time, ``timestamp_ms = time_s * 1000``
    (milliseconds of the source's clock): models that follow a stream (MoveNet's crop and
    filters) smooth over it, so the poses are those of calling ``model.estimate(image,
    options, timestamp_ms=...)`` frame by frame after a reset.
    """
    opts = pose_options(options)
    model.reset()
    frames: Iterator[VideoFrame] = prefetch(reader, prefetch_size) if prefetch_size > 0 else iter(reader)
    try:
        for frame in frames:
            if frame.image is None:
                yield FrameResult(frame.index, frame.time_s, None, (), None,
                                  FRAME_MISSING if frame.missing else DECODE_FAILED)
                continue
            poses = model.estimate(frame.image, opts, timestamp_ms=frame.time_s * 1000.0)
            ids = [t.track_id for t in tracker.update(poses)] if tracker is not None else None
            if smoother is not None:
                poses = smoother.update(frame.time_s, poses, ids)
            yield FrameResult(frame.index, frame.time_s, frame.image, tuple(poses),
                              None if ids is None else tuple(ids))
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
