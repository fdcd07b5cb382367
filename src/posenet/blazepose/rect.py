"""Rectangles of interest: pose-detection 2.1.3's ``calculate_alignment_points_rects``,
``detection_to_rect.computeRotation``, ``transform_rect`` and ``image_utils.getRoi``/``padRoi``.

All arithmetic is float64 scalar math in the reference's order (JavaScript numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle: centre, size (normalised to the image, or pixels for a pixel ROI) and
    ``rotation`` in radians (clockwise in the image, as MediaPipe's ``NormalizedRect``)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"xCenter": self.x_center, "yCenter": self.y_center, "width": self.width, "height": self.height,
                "rotation": self.rotation}


@dataclass(frozen=True)
class Padding:
    """Letterbox padding ratios of the model input (left, top, right, bottom)."""

    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0


def normalize_radians(angle: float) -> float:
    """``angle`` in [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def compute_rotation(points: np.ndarray, image_size: tuple[int, int], start: int, end: int,
                     target_degrees: float = 90) -> float:
    """The rotation that turns the start→end vector of ``points`` ``[N, >=2]`` (normalised) to the target angle."""
    height, width = image_size
    target = math.pi * target_degrees / 180
    x0, y0 = float(points[start, 0]) * width, float(points[start, 1]) * height
    x1, y1 = float(points[end, 0]) * width, float(points[end, 1]) * height
    return normalize_radians(target - math.atan2(-(y1 - y0), x1 - x0))


def alignment_points_rect(points: np.ndarray, image_size: tuple[int, int], start: int, end: int) -> Rect:
    """``calculateAlignmentPointsRects``: centre at point ``start``, size twice its distance to point ``end``."""
    height, width = image_size
    x_center, y_center = float(points[start, 0]) * width, float(points[start, 1]) * height
    x_scale, y_scale = float(points[end, 0]) * width, float(points[end, 1]) * height
    box = math.sqrt((x_scale - x_center) * (x_scale - x_center) + (y_scale - y_center) * (y_scale - y_center)) * 2
    rotation = compute_rotation(points, image_size, start, end)
    return Rect(x_center / width, y_center / height, box / width, box / height, rotation)


def transform_normalized_rect(rect: Rect, image_size: tuple[int, int], scale: float) -> Rect:
    """``transformNormalizedRect`` with no shift, ``squareLong`` and ``scale`` on both axes."""
    height, width = image_size
    long_side = max(rect.width * width, rect.height * height)
    return replace(rect, width=long_side / width * scale, height=long_side / height * scale)


def get_roi(image_size: tuple[int, int], rect: Rect | None) -> Rect:
    """``getRoi``: ``rect`` in pixels, or the whole image."""
    height, width = image_size
    if rect is None:
        return Rect(0.5 * width, 0.5 * height, width, height, 0)
    return Rect(rect.x_center * width, rect.y_center * height, rect.width * width, rect.height * height, rect.rotation)


def pad_roi(roi: Rect, target: tuple[int, int]) -> tuple[Rect, Padding]:
    """``padRoi`` with ``keepAspectRatio``: the ROI grown to the target's aspect, and the padding ratios."""
    target_h, target_w = target
    if target_w == 0 or target_h == 0 or roi.width == 0 or roi.height == 0:
        raise ValueError("targetSize and roi width and height cannot be 0.")
    tensor_aspect = target_h / target_w
    roi_aspect = roi.height / roi.width
    if tensor_aspect > roi_aspect:
        vertical = (1 - roi_aspect / tensor_aspect) / 2
        return replace(roi, height=roi.width * tensor_aspect), Padding(0.0, vertical, 0.0, vertical)
    horizontal = (1 - tensor_aspect / roi_aspect) / 2
    return replace(roi, width=roi.height / tensor_aspect), Padding(horizontal, 0.0, horizontal, 0.0)
