"""BlazePose's fixed numbers: keypoint names, skeleton and the pipeline constants of
pose-detection 2.1.3's ``blazepose_tfjs/constants.ts`` and ``constants.ts``."""

from __future__ import annotations

from .filters import OneEuroSettings

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
"""The 33 BlazePose keypoints in model order (``BLAZEPOSE_KEYPOINTS``)."""

SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 4), (1, 2), (2, 3), (3, 7), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (11, 23),
    (12, 14), (14, 16), (12, 24), (13, 15), (15, 17), (16, 18), (16, 20), (15, 17), (15, 19), (15, 21), (16, 22),
    (17, 19), (18, 20), (23, 25), (23, 24), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (27, 31), (28, 32),
    (29, 31), (30, 32),
)
"""``BLAZEPOSE_CONNECTED_KEYPOINTS_PAIRS`` as the reference lists them ((15, 17) appears twice there too)."""

COCO_KEYPOINT_NAMES: dict[str, int] = {
    "nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8, "left_shoulder": 11,
    "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_hip": 23,
    "right_hip": 24, "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
}
"""The 17 COCO keypoints (pose-detection's snake_case names, in COCO order) and their BlazePose index."""

COCO_INDICES: tuple[int, ...] = tuple(COCO_KEYPOINT_NAMES.values())
"""BlazePose indices of the COCO keypoints, in COCO order (``keypoints[COCO_INDICES]``)."""

NUM_KEYPOINTS = 33
NUM_AUXILIARY_KEYPOINTS = 35
NUM_LANDMARKS = 39
"""The landmark model's rows: 33 keypoints, 2 auxiliary (ROI) points, 4 unused."""

DETECTOR_INPUT = 224
LANDMARK_INPUT = 256
NUM_BOXES = 2254
NUM_COORDS = 12
DETECTION_SCALE = 224.0
MIN_DETECTION_SCORE = 0.5
SCORE_CLIPPING = 100.0
NMS_IOU_THRESHOLD = 0.3
ROI_SCALE = 1.25
POSE_PRESENCE_SCORE = 0.5
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
VISIBILITY_ALPHA = 0.1
SEGMENTATION_COMBINE_RATIO = 0.7

ANCHOR_STRIDES: tuple[int, ...] = (8, 16, 32, 32, 32)
ANCHOR_MIN_SCALE = 0.1484375
ANCHOR_MAX_SCALE = 0.75

LANDMARKS_SMOOTHING = OneEuroSettings(frequency=30, min_cut_off=0.05, beta=80, derivate_cut_off=1.0)
AUXILIARY_SMOOTHING = OneEuroSettings(frequency=30, min_cut_off=0.01, beta=10.0, derivate_cut_off=1.0)
WORLD_LANDMARKS_SMOOTHING = OneEuroSettings(frequency=30, min_cut_off=0.1, beta=40, derivate_cut_off=1.0,
                                            disable_value_scaling=True)

LANDMARK_OUTPUTS: tuple[str, ...] = ("ld_3d", "output_poseflag", "activation_heatmap", "world_3d")
SEGMENTATION_OUTPUT = "activation_segmentation"
