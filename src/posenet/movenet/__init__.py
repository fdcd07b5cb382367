"""MoveNet (SinglePose Lightning / Thunder, MultiPose Lightning), faithful to
``@tensorflow-models/pose-detection@2.1.3``.

>>> import posenet
>>> detector = posenet.create_detector("movenet-lightning")   # doctest: +SKIP
>>> detector.estimate("photo.jpg", timestamp_ms=0)           # doctest: +SKIP
"""

from __future__ import annotations

from .box import Box
from .config import (
    FAMILY_CONFIGS,
    MODEL_TYPES,
    LightningConfig,
    MoveNetConfig,
    MultiPoseConfig,
    ThunderConfig,
    TrackerConfig,
)
from .detector import MoveNet, multipose_input_size
from .pose import MoveNetPose
from .raw import KEYPOINT_NAMES, SKELETON

__all__ = ["FAMILY_CONFIGS", "KEYPOINT_NAMES", "MODEL_TYPES", "SKELETON", "Box", "LightningConfig", "MoveNet",
           "MoveNetConfig", "MoveNetPose", "MultiPoseConfig", "ThunderConfig", "TrackerConfig", "multipose_input_size"]
