"""Video frames out: :class:`VideoWriter`, H.264 through PyAV (what browsers play) or
another codec through OpenCV, always a complete file or none.

Frames go to a hidden temporary file next to the target, renamed over it by
:meth:`VideoWriter.close`; an error (or :meth:`VideoWriter.discard`) deletes it. So an
existing file is replaced only by a finished video, and an interrupted run never leaves
a file that does not open.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Protocol

import av
import cv2
import numpy as np

from ..errors import VideoError

FOURCC_BY_SUFFIX: dict[str, str] = {
    ".mp4": "avc1",
    ".m4v": "avc1",
    ".mov": "avc1",
    ".mkv": "avc1",
    ".avi": "MJPG",
    ".webm": "VP80",
}
"""Codec chosen from the output file's extension: H.264 (``avc1``, libx264 through PyAV)
for the MPEG-4 family and Matroska, MJPG and VP8 through OpenCV."""

H264_CODES = frozenset({"avc1", "h264", "x264"})
"""fourcc values (any case) written as H.264 through PyAV; any other goes to OpenCV."""

H264_PRESETS: tuple[tuple[int, str], ...] = ((500_000, "veryfast"), (2**62, "ultrafast"))
"""libx264 speed preset by frame size (the first whose pixel count is not exceeded):
``veryfast`` up to 0.5 megapixels, where it costs a few ms a frame and makes files ~2.5x
smaller than ``ultrafast``; above, ``ultrafast`` (1080p: ~10 ms a frame against ~30 ms),
so that encoding keeps up with the model on two cores."""

H264_CRF = 23
"""libx264 constant rate factor (its default; lower = better and larger)."""


def _new_file_beside(target: Path) -> str:
    """A new, empty, hidden file next to ``target`` with its extension (which tells the
    muxer the container), made with the usual permissions (``mkstemp``'s are 0600)."""
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial{target.suffix}")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return str(temp)
        except FileExistsError:
            continue


class _Encoder(Protocol):
    def write(self, image_rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...


class _H264Encoder:
    """H.264 in yuv420p (what browsers decode), colour converted by OpenCV (4x faster
    than swscale; the same BT.601 limited-range coefficients), MP4 with ``faststart``."""

    def __init__(self, path: str, size: tuple[int, int], fps: float) -> None:
        options = {"movflags": "+faststart"} if Path(path).suffix.lower() in (".mp4", ".m4v", ".mov") else {}
        self._container = av.open(path, "w", options=options)
        try:
            rate = Fraction(fps).limit_denominator(100_000)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width, self._stream.height = size
            self._stream.pix_fmt = "yuv420p"
            self._stream.codec_context.time_base = 1 / rate
            preset = next(name for most, name in H264_PRESETS if size[0] * size[1] <= most)
            self._stream.options = {"preset": preset, "crf": str(H264_CRF)}
        except BaseException:
            self._container.close()
            raise
        self._count = 0

    def write(self, image_rgb: np.ndarray) -> None:
        yuv = np.asarray(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2YUV_I420), np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self._count
        self._count += 1
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            if self._count:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()


class _OpenCVEncoder:
    def __init__(self, path: str, size: tuple[int, int], fps: float, code: str, name: str) -> None:
        self._writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*code), fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"{name}: OpenCV cannot write {code} video to a {Path(name).suffix} file")

    def write(self, image_rgb: np.ndarray) -> None:
        self._writer.write(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()


class VideoWriter:
    """Write RGB frames of a fixed size to a video file at a constant frame rate.

    The codec comes from the extension (:data:`FOURCC_BY_SUFFIX`: H.264 for ``.mp4``)
    unless ``fourcc`` (four characters, e.g. ``"MJPG"``) is given. 4:2:0 video needs an
    even width and height: an odd one is padded by one pixel (the last column or row
    repeated), so ``size`` may be one larger than ``(width, height)``. The file appears
    when :meth:`close` returns (a video with no frames is not written); on an error
    inside ``with``, or :meth:`discard`, there is none.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: float, fourcc: str | None = None) -> None:
        self.path = str(path)
        target = Path(self.path)
        suffix = target.suffix.lower()
        code = fourcc or FOURCC_BY_SUFFIX.get(suffix)
        if code is None or len(code) != 4:
            raise VideoError(
                f"{self.path}: cannot choose a codec for '{suffix}'; use one of "
                f"{', '.join(FOURCC_BY_SUFFIX)} or give a four-character fourcc"
            )
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        self.fourcc, self.source_size = code, (width, height)
        self.size = (width + width % 2, height + height % 2)
        self._temp = _new_file_beside(target)
        try:
            self._encoder: _Encoder = (_H264Encoder(self._temp, self.size, fps) if code.lower() in H264_CODES
                                       else _OpenCVEncoder(self._temp, self.size, fps, code, self.path))
        except BaseException:
            os.unlink(self._temp)
            raise
        self.frames_written = 0
        self._done = False

    def write(self, image_rgb: np.ndarray) -> None:
        """Append one uint8 ``[height, width, 3]`` RGB frame."""
        width, height = self.source_size
        if image_rgb.shape != (height, width, 3) or image_rgb.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {(height, width, 3)}, got {image_rgb.dtype} {image_rgb.shape}")
        if self.size != self.source_size:
            pad_w, pad_h = self.size[0] - width, self.size[1] - height
            image_rgb = cv2.copyMakeBorder(image_rgb, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        self._encoder.write(image_rgb)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and put it in place (nothing if no frame was written)."""
        if self._done:
            return
        self._done = True
        try:
            self._encoder.close()
        except BaseException:
            os.unlink(self._temp)
            raise
        if self.frames_written:
            os.replace(self._temp, self.path)
        else:
            os.unlink(self._temp)

    def discard(self) -> None:
        """Abandon the video: no file is written (an existing one stays as it was)."""
        if self._done:
            return
        self._done = True
        try:
            with contextlib.suppress(Exception):
                self._encoder.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
