"""Draw poses on an image (Pillow): skeleton, keypoints, optional boxes and track ids.

Follows the reference demo: keypoints with score below ``min_part_confidence`` are not
drawn, nor is an edge with either end below it, nor a pose whose score is below
``min_pose_confidence``. Colours: aqua skeleton and keypoints, red boxes; with track ids
each person gets a colour of their own and a label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import InvalidImageError
from .geometry import get_adjacent_keypoints, get_bounding_box
from .pose import Pose

AQUA = (0, 255, 255)
RED = (255, 0, 0)
TRACK_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 255, 255),
    (255, 64, 255),
    (255, 200, 0),
    (64, 255, 64),
    (255, 96, 96),
    (96, 160, 255),
    (255, 255, 255),
    (255, 128, 0),
)
"""Colour of track ``i`` is ``TRACK_COLORS[i % len(TRACK_COLORS)]``."""


def draw_poses(
    image_rgb: np.ndarray,
    poses: Sequence[Pose],
    min_part_confidence: float = 0.5,
    min_pose_confidence: float = 0.1,
    draw_boxes: bool = False,
    track_ids: Sequence[int] | None = None,
) -> np.ndarray:
    """A copy of ``image_rgb`` (uint8 ``[H, W, 3]``, or ``[H, W]`` gray) with the poses drawn.

    Pose positions are pixels of this image. ``track_ids[i]``, if given, colours and
    labels ``poses[i]``. Line width and dot size grow with the image (2 px and 3 px
    radius up to 640 px on the long side). Returns uint8 ``[H, W, 3]`` RGB.
    """
    array = np.asarray(image_rgb)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise InvalidImageError(
            f"draw_poses needs a uint8 [H, W, 3] RGB or [H, W] gray array, got {array.dtype} {array.shape}"
        )
    if track_ids is not None and len(track_ids) != len(poses):
        raise ValueError(f"{len(poses)} poses but {len(track_ids)} track ids")
    canvas = Image.fromarray(array).convert("RGB")
    pen = ImageDraw.Draw(canvas)
    scale = max(1.0, max(canvas.size) / 640.0)
    width, radius = round(2 * scale), round(3 * scale)
    font = ImageFont.load_default(size=round(14 * scale)) if track_ids is not None else None
    for i, pose in enumerate(poses):
        if pose.score < min_pose_confidence:
            continue
        color = AQUA if track_ids is None else TRACK_COLORS[track_ids[i] % len(TRACK_COLORS)]
        kps = pose.keypoints
        for a, b in get_adjacent_keypoints(kps, min_part_confidence):
            pen.line([(a.position.x, a.position.y), (b.position.x, b.position.y)], fill=color, width=width)
        for k in kps:
            if k.score >= min_part_confidence:
                x, y = k.position.x, k.position.y
                pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=color)
        if draw_boxes:  # over all keypoints, as the reference's getBoundingBox
            box = get_bounding_box(kps)
            outline = RED if track_ids is None else color
            pen.rectangle([box.min_x, box.min_y, box.max_x, box.max_y], outline=outline, width=width)
        if track_ids is not None:
            top = min((k for k in kps if k.score >= min_part_confidence), key=lambda k: k.position.y, default=kps[0])
            label_xy = (top.position.x, top.position.y - 2 * radius)
            pen.text(label_xy, f"#{track_ids[i]}", fill=color, font=font, anchor="mb")
    return np.asarray(canvas)
