"""BlazePose (lite / full / heavy, ``runtime: 'tfjs'``), faithful to ``@tensorflow-models/pose-detection@2.1.3``:
33 keypoints with depth, 33 world keypoints in metres, an optional person mask.

>>> import posenet
>>> detector = posenet.create_detector("blazepose-full")   # doctest: +SKIP
>>> detector.estimate("photo.jpg", timestamp_ms=0)         # doctest: +SKIP
"""

from __future__ import annotations

from .config import FAMILY_CONFIGS, MODEL_TYPES, BlazePoseConfig, FullConfig, HeavyConfig, LiteConfig
from .constants import COCO_INDICES, COCO_KEYPOINT_NAMES, KEYPOINT_NAMES, SKELETON
from .detector import BlazePose
from .pose import BlazePoseKeypoint, BlazePosePose, Keypoint3D
from .rect import Rect

__all__ = ["COCO_INDICES", "COCO_KEYPOINT_NAMES", "FAMILY_CONFIGS", "KEYPOINT_NAMES", "MODEL_TYPES", "SKELETON",
           "BlazePose", "BlazePoseConfig", "BlazePoseKeypoint", "BlazePosePose", "FullConfig", "HeavyConfig",
           "Keypoint3D", "LiteConfig", "Rect"]
