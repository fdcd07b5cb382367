"""Video for posenet (the ``video`` extra: OpenCV): frames in and out, and the pipeline.

- :mod:`posenet.video.io`: :class:`VideoReader` (every source frame, decode failures
  included), :class:`VideoWriter`, :func:`prefetch`, :class:`Background`;
- :mod:`posenet.video.pipeline`: :func:`process_video` (read -> estimate -> track ->
  smooth), one :class:`FrameResult` per source frame.

Importing this package needs OpenCV (``pip install 'posenet-py[video]'``).
"""

from __future__ import annotations

from ..errors import VideoError
from .io import FOURCC_BY_SUFFIX, Background, VideoFrame, VideoInfo, VideoReader, VideoWriter, prefetch
from .pipeline import DECODE_FAILED, FrameResult, process_video

__all__ = [
    "DECODE_FAILED",
    "FOURCC_BY_SUFFIX",
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
