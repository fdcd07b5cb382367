"""Single-pose crop regions (``movenet/crop_utils.ts``): where the next frame is cropped.

A crop region is ``(y_min, x_min, y_max, x_max)`` normalised to the image (it may reach
outside [0, 1]: the crop is then padded with black). Keypoints here are normalised too.
"""

from __future__ import annotations

from .box import Box
from .raw import KEYPOINT_INDEX, KEYPOINT_NAMES, RawPose

MIN_CROP_KEYPOINT_SCORE = 0.2
TORSO_JOINTS = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


def init_crop_region(first_frame: bool, width: int, height: int) -> Box:
    """The first frame's crop (the centred square inside the image), else the whole image
    padded to a square (pixels of the image: ``width`` x ``height``)."""
    landscape = width > height
    if first_frame == landscape:  # first frame of a landscape image, or a later portrait one
        box_height, box_width, y_min, x_min = 1.0, height / width, 0.0, (width / 2 - height / 2) / width
    else:
        box_height, box_width, y_min, x_min = width / height, 1.0, (height / 2 - width / 2) / height, 0.0
    return Box(y_min, x_min, y_min + box_height, x_min + box_width)


def torso_visible(pose: RawPose) -> bool:
    """Whether a hip and a shoulder score above :data:`MIN_CROP_KEYPOINT_SCORE`."""
    s = pose.scores
    hips = (s[KEYPOINT_INDEX["left_hip"]] > MIN_CROP_KEYPOINT_SCORE
            or s[KEYPOINT_INDEX["right_hip"]] > MIN_CROP_KEYPOINT_SCORE)
    shoulders = (s[KEYPOINT_INDEX["left_shoulder"]] > MIN_CROP_KEYPOINT_SCORE
                 or s[KEYPOINT_INDEX["right_shoulder"]] > MIN_CROP_KEYPOINT_SCORE)
    return hips and shoulders


def torso_and_body_range(pose: RawPose, points: list[tuple[float, float]], center_y: float,
                         center_x: float) -> tuple[float, float, float, float]:
    """Largest |dy|, |dx| (pixels) from the hip centre to the torso joints, then to every
    keypoint scoring at least :data:`MIN_CROP_KEYPOINT_SCORE`."""
    torso_y = torso_x = body_y = body_x = 0.0
    for name in TORSO_JOINTS:
        y, x = points[KEYPOINT_INDEX[name]]
        torso_y, torso_x = max(torso_y, abs(center_y - y)), max(torso_x, abs(center_x - x))
    for i, (y, x) in enumerate(points):
        if pose.scores[i] < MIN_CROP_KEYPOINT_SCORE:
            continue
        body_y, body_x = max(body_y, abs(center_y - y)), max(body_x, abs(center_x - x))
    return torso_y, torso_x, body_y, body_x


def next_crop_region(current: Box | None, pose: RawPose, width: int, height: int) -> Box:
    """The square crop around the person's hips that holds the torso and body with a margin;
    the padded full image when the torso is hidden or the square would exceed the image."""
    if not torso_visible(pose):
        return init_crop_region(current is None, width, height)
    points = [(y * height, x * width) for y, x in zip(pose.ys, pose.xs, strict=True)]
    lh, rh = points[KEYPOINT_INDEX["left_hip"]], points[KEYPOINT_INDEX["right_hip"]]
    center_y, center_x = (lh[0] + rh[0]) / 2, (lh[1] + rh[1]) / 2
    torso_y, torso_x, body_y, body_x = torso_and_body_range(pose, points, center_y, center_x)
    half = max(torso_x * 1.9, torso_y * 1.9, body_y * 1.2, body_x * 1.2)
    half = min(half, max(center_x, width - center_x, center_y, height - center_y))
    corner_y, corner_x = center_y - half, center_x - half
    if half > max(width, height) / 2:
        return init_crop_region(current is None, width, height)
    length = half * 2
    return Box(corner_y / height, corner_x / width, (corner_y + length) / height, (corner_x + length) / width)


__all__ = ["KEYPOINT_NAMES", "init_crop_region", "next_crop_region", "torso_visible"]
