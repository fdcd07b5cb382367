"""The working form of a MoveNet pose between the model and the result type."""

from __future__ import annotations

from dataclasses import dataclass, field

from .box import Box

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
"""pose-detection's ``COCO_KEYPOINTS``, in model order."""

KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (5, 11), (6, 8), (6, 12), (7, 9), (8, 10), (11, 12), (11, 13),
    (12, 14), (13, 15), (14, 16),
)
"""pose-detection's ``COCO_CONNECTED_KEYPOINTS_PAIRS``."""


@dataclass
class RawPose:
    """Keypoints as parallel lists (``ys``, ``xs`` in whatever frame the step works in), a
    score, and for multi-pose a box and a track id."""

    ys: list[float]
    xs: list[float]
    scores: list[float]
    score: float
    box: Box | None = None
    id: int | None = None
    extra: dict[str, float] = field(default_factory=dict)
