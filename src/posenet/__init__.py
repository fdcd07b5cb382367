"""posenet-py: TensorFlow.js PoseNet 2.x in Python, faithful and fast.

>>> import posenet
>>> net = posenet.load()                      # MobileNetV1 0.75, stride 16, 257x257
>>> pose = net.estimate_single_pose("photo.jpg")
>>> pose.score, pose["nose"].position.x
"""

from __future__ import annotations

from .errors import (
    CheckpointUnavailableError,
    ChecksumMismatchError,
    InvalidImageError,
    ModelFormatError,
    PoseNetError,
    UnsupportedOpError,
)
from .geometry import (
    BoundingBox,
    flip_pose_horizontal,
    get_adjacent_keypoints,
    get_bounding_box,
    get_bounding_box_points,
    scale_pose,
)
from .keypoints import (
    CONNECTED_PART_INDICES,
    CONNECTED_PART_NAMES,
    NUM_KEYPOINTS,
    PART_CHANNELS,
    PART_IDS,
    PART_NAMES,
    POSE_CHAIN,
)
from .model import ModelOutputs, PoseNet, load
from .pose import Keypoint, Pose, Position

__version__ = "0.1.0"

__all__ = [
    "load",
    "PoseNet",
    "ModelOutputs",
    "Pose",
    "Keypoint",
    "Position",
    "BoundingBox",
    "PART_NAMES",
    "PART_IDS",
    "NUM_KEYPOINTS",
    "POSE_CHAIN",
    "CONNECTED_PART_NAMES",
    "CONNECTED_PART_INDICES",
    "PART_CHANNELS",
    "get_adjacent_keypoints",
    "get_bounding_box",
    "get_bounding_box_points",
    "scale_pose",
    "flip_pose_horizontal",
    "PoseNetError",
    "InvalidImageError",
    "ModelFormatError",
    "UnsupportedOpError",
    "CheckpointUnavailableError",
    "ChecksumMismatchError",
    "__version__",
]
