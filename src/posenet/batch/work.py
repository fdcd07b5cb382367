"""What every engine's workers do: decode the items of a task, estimate, make records.

Nothing here knows about processes or Ray: the local engine calls it in pool workers,
the Ray engine in tasks (decoding) and actors (estimating).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import PoseNetError
from ..families import PoseModel, create_detector
from ..images import decode_image
from ..options import PoseOptions
from ..pose import Pose
from .records import make_record
from .sources import ImageTask, Item, VideoTask, frame_item, image_item


@dataclass(frozen=True, slots=True)
class Decoded:
    """One item ready to estimate: its RGB ``image``, or the ``error`` that stopped it."""

    item: Item
    image: np.ndarray | None
    error: str | None = None
    time_s: float | None = None


def error_text(exc: BaseException) -> str:
    """One line saying why an item failed (the type named unless it is an expected error)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (PoseNetError, OSError)) else f"{type(exc).__name__}: {text}"


def decode_images(task: ImageTask) -> list[Decoded]:
    """Each image of the task decoded (EXIF orientation applied), or why not."""
    out = []
    for item in task.items:
        try:
            out.append(Decoded(item, decode_image(item.source)))
        except Exception as exc:  # noqa: BLE001 - a bad file is recorded, never fatal
            out.append(Decoded(item, None, error_text(exc)))
    return out


def iter_video(task: VideoTask) -> Iterator[Decoded]:
    """The wanted frames of the task's video, in order; a frame that failed to decode (or
    is missing) comes with an error; a video that cannot be opened is one failed item."""
    from ..video import DECODE_FAILED, VideoReader

    try:
        reader = VideoReader(task.source)
    except Exception as exc:  # noqa: BLE001 - recorded as the video's one item
        yield Decoded(image_item(task.source), None, error_text(exc))
        return
    last, seen = task.last(), set()
    try:
        for frame in reader:
            if last is not None and frame.index > last:
                break
            if task.wants(frame.index):
                seen.add(frame.index)
                error = None if frame.image is not None else DECODE_FAILED
                yield Decoded(frame_item(task.source, frame.index), frame.image, error, frame.time_s)
    except Exception as exc:  # noqa: BLE001 - the frames not read yet fail with the reason
        missing = error_text(exc)
    else:
        missing = "frame not found in the video"
    finally:
        reader.close()
    for index in sorted((task.frames or frozenset()) - seen):
        yield Decoded(frame_item(task.source, index), None, missing)


class Estimator:
    """A model loaded once, turning decoded items into records."""

    def __init__(self, model: str, config: Any, options: PoseOptions) -> None:
        self.model: PoseModel = create_detector(model, config)
        self.options = options

    def _poses(self, images: list[np.ndarray]) -> list[list[Pose] | str]:
        """Poses per image (one batch), or per image with its error if the batch fails."""
        try:
            return list(self.model.estimate_batch(images, self.options))
        except Exception:  # noqa: BLE001 - find which image fails, keep the others
            found: list[list[Pose] | str] = []
            for image in images:
                try:
                    found.append(self.model.estimate_batch([image], self.options)[0])
                except Exception as exc:  # noqa: BLE001 - recorded for that item
                    found.append(error_text(exc))
            return found

    def records(self, decoded: Sequence[Decoded]) -> list[dict[str, Any]]:
        """One record per item, in order (estimate_batch over the decoded images)."""
        ready = [d for d in decoded if d.image is not None and d.error is None]
        poses = self._poses([d.image for d in ready if d.image is not None])
        results = dict(zip((id(d) for d in ready), poses, strict=True))
        out = []
        for d in decoded:
            found = results.get(id(d), d.error or "no image")
            size = None if d.image is None else (int(d.image.shape[1]), int(d.image.shape[0]))
            if isinstance(found, str):
                out.append(make_record(d.item, d.time_s, size, [], found))
            else:
                out.append(make_record(d.item, d.time_s, size, found, None))
        return out
