"""Video for posenet (the ``video`` extra: OpenCV and PyAV): frames in and out, and the pipeline.

- :mod:`posenet.video.reader`: :class:`VideoReader`, every source frame, those that fail
  to decode and those lost from the file included (:mod:`~posenet.video.timeline` finds
  which frames the source has);
- :mod:`posenet.video.writer`: :class:`VideoWriter`, H.264 ``.mp4`` (PyAV) or another
  codec (OpenCV), a complete file or none;
- :mod:`posenet.video.threads`: :func:`prefetch`, :class:`Background`;
- :mod:`posenet.video.pipeline`: :func:`process_video` (read -> estimate -> track ->
  smooth), one :class:`FrameResult` per source frame.

Importing this package needs OpenCV and PyAV (``pip install 'posenet-py[video]'``).
"""

from __future__ import annotations

from ..errors import VideoError
from .pipeline import DECODE_FAILED, FRAME_MISSING, FrameResult, process_video
from .reader import VideoFrame, VideoInfo, VideoReader
from .threads import Background, prefetch
from .writer import FOURCC_BY_SUFFIX, VideoWriter

__all__ = [
    "DECODE_FAILED",
    "FOURCC_BY_SUFFIX",
    "FRAME_MISSING",
    "Background",
    "FrameResult",
    "VideoError",
    "VideoFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "prefetch",
    "process_video",
]
