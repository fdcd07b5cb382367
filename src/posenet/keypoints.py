"""The 17 COCO keypoints PoseNet predicts, and the graphs that connect them.

Names, ids and edge orders are those of ``@tensorflow-models/posenet`` 2.2.2: the edge
index of :data:`POSE_CHAIN` selects a displacement channel, so its order matters.
"""

from __future__ import annotations

PART_NAMES: tuple[str, ...] = (
    "nose",
    "leftEye",
    "rightEye",
    "leftEar",
    "rightEar",
    "leftShoulder",
    "rightShoulder",
    "leftElbow",
    "rightElbow",
    "leftWrist",
    "rightWrist",
    "leftHip",
    "rightHip",
    "leftKnee",
    "rightKnee",
    "leftAnkle",
    "rightAnkle",
)
"""Part names in part-id order ("left" is the person's left)."""

NUM_KEYPOINTS: int = len(PART_NAMES)

PART_IDS: dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}
"""Part name -> part id."""

CONNECTED_PART_NAMES: tuple[tuple[str, str], ...] = (
    ("leftHip", "leftShoulder"),
    ("leftElbow", "leftShoulder"),
    ("leftElbow", "leftWrist"),
    ("leftHip", "leftKnee"),
    ("leftKnee", "leftAnkle"),
    ("rightHip", "rightShoulder"),
    ("rightElbow", "rightShoulder"),
    ("rightElbow", "rightWrist"),
    ("rightHip", "rightKnee"),
    ("rightKnee", "rightAnkle"),
    ("leftShoulder", "rightShoulder"),
    ("leftHip", "rightHip"),
)
"""Skeleton edges used for drawing, in the reference's order."""

CONNECTED_PART_INDICES: tuple[tuple[int, int], ...] = tuple(
    (PART_IDS[a], PART_IDS[b]) for a, b in CONNECTED_PART_NAMES
)

POSE_CHAIN: tuple[tuple[str, str], ...] = (
    ("nose", "leftEye"),
    ("leftEye", "leftEar"),
    ("nose", "rightEye"),
    ("rightEye", "rightEar"),
    ("nose", "leftShoulder"),
    ("leftShoulder", "leftElbow"),
    ("leftElbow", "leftWrist"),
    ("leftShoulder", "leftHip"),
    ("leftHip", "leftKnee"),
    ("leftKnee", "leftAnkle"),
    ("nose", "rightShoulder"),
    ("rightShoulder", "rightElbow"),
    ("rightElbow", "rightWrist"),
    ("rightShoulder", "rightHip"),
    ("rightHip", "rightKnee"),
    ("rightKnee", "rightAnkle"),
)
"""Parent -> child edges of the tree that multi-pose decoding walks; edge ``e`` reads
displacement channels ``e`` (y) and ``16 + e`` (x)."""

POSE_CHAIN_INDICES: tuple[tuple[int, int], ...] = tuple(
    (PART_IDS[a], PART_IDS[b]) for a, b in POSE_CHAIN
)

def _mirror_name(name: str) -> str:
    for a, b in (("left", "right"), ("right", "left")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


FLIP_PART_IDS: tuple[int, ...] = tuple(PART_IDS[_mirror_name(n)] for n in PART_NAMES)
"""Part id -> the id of its mirror image (left <-> right; the nose stays)."""

FLIP_EDGE_IDS: tuple[int, ...] = tuple(
    POSE_CHAIN_INDICES.index((FLIP_PART_IDS[a], FLIP_PART_IDS[b])) for a, b in POSE_CHAIN_INDICES
)
"""Edge id of :data:`POSE_CHAIN` -> the edge joining the mirrored parent and child, in the
same direction."""

PART_CHANNELS: tuple[str, ...] = (
    "left_face",
    "right_face",
    "right_upper_leg_front",
    "right_lower_leg_back",
    "right_upper_leg_back",
    "left_lower_leg_front",
    "left_upper_leg_front",
    "left_upper_leg_back",
    "left_lower_leg_back",
    "right_feet",
    "right_lower_leg_front",
    "left_feet",
    "torso_front",
    "torso_back",
    "right_upper_arm_front",
    "right_upper_arm_back",
    "right_lower_arm_back",
    "left_lower_arm_front",
    "left_upper_arm_front",
    "left_upper_arm_back",
    "left_lower_arm_back",
    "right_hand",
    "right_lower_arm_front",
    "left_hand",
)
"""BodyPix body-part channel names, exported by the reference for completeness; PoseNet
does not use them."""
