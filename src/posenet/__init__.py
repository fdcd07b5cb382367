"""posenet-py: TensorFlow.js PoseNet 2.x in Python, faithful and fast.

>>> import posenet
>>> net = posenet.load()                      # MobileNetV1 0.75, stride 16, 257x257
>>> pose = net.estimate_single_pose("photo.jpg")
>>> pose.score, pose["nose"].position.x
>>> people = net.estimate("photo.jpg", "camera")   # a preset: the reference camera demo's
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .draw import draw_poses
from .errors import (
    CheckpointUnavailableError,
    ChecksumMismatchError,
    ImageTooLargeError,
    InvalidImageError,
    ModelFormatError,
    PoseNetError,
    UnsupportedOpError,
    VideoError,
)
from .families import FAMILIES, ModelFamily, PoseModel, create_detector, register_family
from .geometry import (
    BoundingBox,
    flip_pose_horizontal,
    get_adjacent_keypoints,
    get_bounding_box,
    get_bounding_box_points,
    scale_pose,
)
from .images import decode_image
from .keypoints import (
    CONNECTED_PART_INDICES,
    CONNECTED_PART_NAMES,
    NUM_KEYPOINTS,
    PART_CHANNELS,
    PART_IDS,
    PART_NAMES,
    POSE_CHAIN,
)
from .model import ModelInfo, ModelOutputs, PoseNet, PreparedImage, load
from .options import DEFAULT_PRESET, PRESETS, ModelConfig, PoseOptions, Preset, Resolution, pose_options
from .pose import Keypoint, Pose, Position
from .preprocess import Padding
from .smoothing import OneEuroFilter, PoseSmoother
from .tracking import PoseTracker, TrackedPose

try:
    __version__ = _metadata.version("posenet-py")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "load",
    "create_detector",
    "PoseModel",
    "ModelFamily",
    "FAMILIES",
    "register_family",
    "PoseNet",
    "ModelConfig",
    "ModelInfo",
    "ModelOutputs",
    "PreparedImage",
    "Padding",
    "PoseOptions",
    "Preset",
    "PRESETS",
    "DEFAULT_PRESET",
    "Resolution",
    "pose_options",
    "decode_image",
    "draw_poses",
    "PoseTracker",
    "TrackedPose",
    "PoseSmoother",
    "OneEuroFilter",
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
    "ImageTooLargeError",
    "VideoError",
    "ModelFormatError",
    "UnsupportedOpError",
    "CheckpointUnavailableError",
    "ChecksumMismatchError",
    "__version__",
]
