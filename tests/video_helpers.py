"""A damaged video for the decode-failure tests (needs OpenCV)."""

from __future__ import annotations

from pathlib import Path

from posenet.video import VideoReader, VideoWriter


def damaged_mjpeg(source: Path, path: Path, frames: int, broken: int) -> None:
    """An MJPEG AVI of the first ``frames`` frames of ``source`` (a 426x240, 29.97 fps
    video) with frame ``broken``'s JPEG data wiped: FFmpeg cannot decode that frame, and
    OpenCV alone would skip it without a word."""
    with VideoReader(source, end_s=frames / 29.97) as reader:
        images = [f.image for f in reader][:frames]
    with VideoWriter(path, 426, 240, 29.97, "MJPG") as writer:
        for image in images:
            writer.write(image)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]
    assert len(starts) == frames
    data[starts[broken]:starts[broken] + 400] = bytes(400)
    path.write_bytes(bytes(data))
