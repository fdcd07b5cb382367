"""The person detector's decoding: pose-detection 2.1.3's ``create_ssd_anchors``,
``tensors_to_detections``, ``non_max_suppression`` and ``remove_detection_letterbox``.

Box decoding runs as the reference's float32 tensor ops (anchors are float32 tensors); the
selected boxes and keypoints are then JavaScript numbers (float64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .constants import (
    ANCHOR_MAX_SCALE,
    ANCHOR_MIN_SCALE,
    ANCHOR_STRIDES,
    DETECTION_SCALE,
    DETECTOR_INPUT,
    MIN_DETECTION_SCORE,
    NUM_BOXES,
    NUM_COORDS,
    SCORE_CLIPPING,
)
from .rect import Padding

NUM_DETECTION_KEYPOINTS = 4


@dataclass(frozen=True)
class Detection:
    """One person detection: score, box ``(y_min, x_min, y_max, x_max)`` and 4 keypoints ``[4, 2]``
    (x, y), all normalised to the image (after the letterbox is removed)."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    index: int


def _scale(stride_index: int, num_strides: int) -> float:
    if num_strides == 1:
        return (ANCHOR_MIN_SCALE + ANCHOR_MAX_SCALE) * 0.5
    return ANCHOR_MIN_SCALE + (ANCHOR_MAX_SCALE - ANCHOR_MIN_SCALE) * stride_index / (num_strides - 1)


def create_ssd_anchors(strides: tuple[int, ...] = ANCHOR_STRIDES, input_size: int = DETECTOR_INPUT) -> np.ndarray:
    """``createSsdAnchors`` of BlazePose's detector (fixed anchor size, aspect ratio 1 plus the
    interpolated one): float64 ``[N, 4]`` of (x_center, y_center, width, height)."""
    anchors: list[tuple[float, float, float, float]] = []
    layer = 0
    while layer < len(strides):
        count = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            count += 2  # aspect ratio 1.0 and the interpolated scale
            last += 1
        side = math.ceil(input_size / strides[layer])
        for y in range(side):
            for x in range(side):
                anchors.extend([((x + 0.5) / side, (y + 0.5) / side, 1.0, 1.0)] * count)
        layer = last
    return np.array(anchors, np.float64)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``decodeBoxes`` (reversed output order, no exponential) in float32: ``[N, 12]`` of
    (y_min, x_min, y_max, x_max, then x, y of each keypoint)."""
    raw = raw.astype(np.float32)
    ax, ay, aw, ah = (anchors[:, i].astype(np.float32) for i in range(4))
    scale = np.float32(DETECTION_SCALE)
    two = np.float32(2)
    x_center = raw[:, 0] / scale * aw + ax
    y_center = raw[:, 1] / scale * ah + ay
    w = raw[:, 2] / scale * ah  # the reference scales the width by the anchor height too
    h = raw[:, 3] / scale * ah
    columns = [y_center - h / two, x_center - w / two, y_center + h / two, x_center + w / two]
    for k in range(NUM_DETECTION_KEYPOINTS):
        offset = 4 + k * 2
        columns.append(raw[:, offset] / scale * aw + ax)
        columns.append(raw[:, offset + 1] / scale * ah + ay)
    return np.stack(columns, axis=1)


def sigmoid_scores(logits: np.ndarray) -> np.ndarray:
    """Clip to +-100, then the float32 sigmoid."""
    clipped = np.clip(logits.astype(np.float32), np.float32(-SCORE_CLIPPING), np.float32(SCORE_CLIPPING))
    return (1 / (1 + np.exp(-clipped.astype(np.float64)))).astype(np.float32)


def tensors_to_detections(output: np.ndarray, anchors: np.ndarray) -> list[Detection]:
    """``tensorsToDetections`` of the detector's ``[1, 2254, 13]`` output (logit, then 12 box values)."""
    if output.shape[-2:] != (NUM_BOXES, NUM_COORDS + 1):
        raise ValueError(f"Unexpected detector output shape: [{','.join(map(str, output.shape))}]")
    values = output.reshape(NUM_BOXES, NUM_COORDS + 1)
    boxes = decode_boxes(values[:, 1:], anchors).astype(np.float64)
    scores = sigmoid_scores(values[:, 0]).astype(np.float64)
    found = []
    for i in np.flatnonzero(scores >= MIN_DETECTION_SCORE).tolist():
        y_min, x_min, y_max, x_max = boxes[i, :4].tolist()
        if x_max - x_min < 0 or y_max - y_min < 0:
            continue
        found.append(Detection(float(scores[i]), (y_min, x_min, y_max, x_max), boxes[i, 4:].reshape(-1, 2), i))
    return found


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter_h = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    inter_w = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = inter_h * inter_w
    return inter / (area_a + area_b - inter)


def non_max_suppression(detections: list[Detection], max_detections: int, iou_threshold: float) -> list[Detection]:
    """``nonMaxSuppression``: sort by score (stable), greedy IoU suppression, keep the sorted order."""
    ordered = sorted(detections, key=lambda d: -d.score)
    kept: list[Detection] = []
    for candidate in ordered:
        if len(kept) >= max_detections:
            break
        if all(_iou(candidate.box, k.box) <= iou_threshold for k in kept):
            kept.append(candidate)
    return kept


def remove_detection_letterbox(detections: list[Detection], padding: Padding) -> list[Detection]:
    """``removeDetectionLetterbox``: boxes and keypoints from the padded input to the image."""
    left, top = padding.left, padding.top
    left_right, top_bottom = padding.left + padding.right, padding.top + padding.bottom
    out = []
    for d in detections:
        y_min, x_min, y_max, x_max = d.box
        new_x = (x_min - left) / (1 - left_right)
        new_y = (y_min - top) / (1 - top_bottom)
        width = (x_max - x_min) / (1 - left_right)
        height = (y_max - y_min) / (1 - top_bottom)
        keypoints = d.keypoints.copy()
        keypoints[:, 0] = (keypoints[:, 0] - left) / (1 - left_right)
        keypoints[:, 1] = (keypoints[:, 1] - top) / (1 - top_bottom)
        out.append(Detection(d.score, (new_y, new_x, new_y + height, new_x + width), keypoints, d.index))
    return out
