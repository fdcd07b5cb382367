"""Damaged videos for the decode-failure and lost-frame tests (needs OpenCV and PyAV)."""

from __future__ import annotations

from pathlib import Path

from posenet.video import VideoReader, VideoWriter


def mjpeg_avi(source: Path, path: Path, frames: int | None = None) -> Path:
    """An MJPEG AVI of the first ``frames`` frames (all: ``None``) of ``source`` (a
    426x240, 29.97 fps video), one JPEG chunk per frame and an ``idx1`` index at the end."""
    with VideoReader(source, end_s=None if frames is None else frames / 29.97) as reader:
        images = [f.image for f in reader][:frames]
    with VideoWriter(path, 426, 240, 29.97, "MJPG") as writer:
        for image in images:
            writer.write(image)
    return path


def jpeg_starts(data: bytes) -> list[int]:
    """Where each frame's JPEG data starts (its chunk header is the 8 bytes before)."""
    return [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]


def damaged_mjpeg(source: Path, path: Path, frames: int, broken: int) -> None:
    """:func:`mjpeg_avi` with frame ``broken``'s JPEG data wiped: FFmpeg cannot decode
    that frame, and OpenCV alone would skip it without a word."""
    mjpeg_avi(source, path, frames)
    data = bytearray(path.read_bytes())
    starts = jpeg_starts(data)
    assert len(starts) == frames
    data[starts[broken]:starts[broken] + 400] = bytes(400)
    path.write_bytes(bytes(data))


def cut_in_half(avi: Path, path: Path) -> Path:
    """The first half of the file's bytes (a download cut short: no index left)."""
    data = avi.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def with_a_hole(avi: Path, path: Path, first: int, end: int) -> Path:
    """The file without the chunks of frames ``first`` to ``end - 1`` (bytes lost in the
    middle; the index at the end still lists every frame written)."""
    data = avi.read_bytes()
    starts = jpeg_starts(data)
    path.write_bytes(data[:starts[first] - 8] + data[starts[end] - 8:])
    return path
