"""Pose geometry, as the utilities of PoseNet 2.2.2 (``util.js``): skeleton pairs,
bounding boxes, scaling, horizontal flips and the mapping from model-input pixels back
to image pixels. All arithmetic is float64, like the reference's JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .jsmath import js_max, js_min
from .keypoints import CONNECTED_PART_INDICES
from .pose import Keypoint, Pose, Position
from .preprocess import Padding


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Axis-aligned box in the keypoints' pixel frame; inclusive bounds."""

    min_x: float
    min_y: float
    max_x: float
    max_y: float


def get_adjacent_keypoints(
    keypoints: Sequence[Keypoint], min_confidence: float
) -> list[tuple[Keypoint, Keypoint]]:
    """Skeleton segments to draw: the pairs of :data:`CONNECTED_PART_INDICES`, in that
    order, skipping a pair when either score is below ``min_confidence`` (equal passes).

    ``keypoints`` are indexed by part id (``pose.keypoints``).
    """
    return [
        (keypoints[a], keypoints[b])
        for a, b in CONNECTED_PART_INDICES
        if not (keypoints[a].score < min_confidence or keypoints[b].score < min_confidence)
    ]


def get_bounding_box(keypoints: Sequence[Keypoint]) -> BoundingBox:
    """Smallest box holding every keypoint, whatever its score. No keypoints gives
    ``min = +inf`` and ``max = -inf``, as the reference."""
    min_x = min_y = math.inf
    max_x = max_y = -math.inf
    for keypoint in keypoints:
        x, y = keypoint.position.x, keypoint.position.y
        min_x, min_y = js_min(min_x, x), js_min(min_y, y)
        max_x, max_y = js_max(max_x, x), js_max(max_y, y)
    return BoundingBox(min_x=min_x, min_y=min_y, max_x=max_x, max_y=max_y)


def get_bounding_box_points(keypoints: Sequence[Keypoint]) -> list[Position]:
    """Corners of :func:`get_bounding_box`: top-left, top-right, bottom-right,
    bottom-left (y down)."""
    box = get_bounding_box(keypoints)
    return [
        Position(box.min_x, box.min_y),
        Position(box.max_x, box.min_y),
        Position(box.max_x, box.max_y),
        Position(box.min_x, box.max_y),
    ]


def _map_pose(pose: Pose, scale_y: float, scale_x: float, offset_y: float, offset_x: float,
              mirror_width: float | None) -> Pose:
    """``x' = x * scale_x + offset_x``, ``y' = y * scale_y + offset_y``, then, with a
    ``mirror_width``, ``x'' = mirror_width - 1 - x'``: the one pass every mapping uses."""
    keypoints = []
    for k in pose.keypoints:
        x = k.position.x * scale_x + offset_x
        if mirror_width is not None:
            x = mirror_width - 1 - x
        keypoints.append(Keypoint(k.part, k.score, Position(x, k.position.y * scale_y + offset_y)))
    return Pose(score=pose.score, keypoints=tuple(keypoints))


def scale_pose(
    pose: Pose, scale_y: float, scale_x: float, offset_y: float = 0.0, offset_x: float = 0.0
) -> Pose:
    """New pose with ``x' = x * scale_x + offset_x`` and ``y' = y * scale_y + offset_y``;
    scores and parts kept. Note Y before X, as the reference."""
    return _map_pose(pose, scale_y, scale_x, offset_y, offset_x, None)


def scale_poses(
    poses: Sequence[Pose], scale_y: float, scale_x: float, offset_y: float = 0.0, offset_x: float = 0.0
) -> list[Pose]:
    """:func:`scale_pose` on each pose; the same pose objects when the scales are 1 and
    the offsets 0."""
    if scale_x == 1 and scale_y == 1 and offset_y == 0 and offset_x == 0:
        return list(poses)
    return [scale_pose(pose, scale_y, scale_x, offset_y, offset_x) for pose in poses]


def flip_pose_horizontal(pose: Pose, image_width: float) -> Pose:
    """Mirror image: ``x' = image_width - 1 - x``, y unchanged. Part labels are not
    swapped (``leftEye`` stays ``leftEye``)."""
    return _map_pose(pose, 1.0, 1.0, 0.0, 0.0, image_width)


def flip_poses_horizontal(poses: Sequence[Pose], image_width: float) -> list[Pose]:
    """:func:`flip_pose_horizontal` on each pose; the same pose objects when
    ``image_width <= 0``."""
    if image_width <= 0:
        return list(poses)
    return [flip_pose_horizontal(pose, image_width) for pose in poses]


def scale_and_flip_poses(
    poses: Sequence[Pose],
    image_size: tuple[int, int],
    input_resolution: tuple[int, int],
    padding: Padding,
    flip_horizontal: bool,
) -> list[Pose]:
    """Map poses from model-input pixels to image pixels.

    Args:
        poses: poses in model-input pixels, as decoded.
        image_size: ``(h, w)`` of the original image.
        input_resolution: ``(H, W)`` of the model input.
        padding: the padding added to the image before it was resized to ``(H, W)``.
        flip_horizontal: mirror the result (``x = w - 1 - x``, original width).

    Uses ``y = y * (h + top + bottom) / H - top`` and ``x = x * (w + left + right) / W -
    left``; positions are not clamped to the image.
    """
    height, width = image_size
    input_height, input_width = input_resolution
    scale_y = (height + padding.top + padding.bottom) / input_height
    scale_x = (width + padding.left + padding.right) / input_width
    mirror = width if flip_horizontal and width > 0 else None
    if mirror is None and scale_x == 1 and scale_y == 1 and padding.top == 0 and padding.left == 0:
        return list(poses)
    return [_map_pose(pose, scale_y, scale_x, -padding.top, -padding.left, mirror) for pose in poses]
