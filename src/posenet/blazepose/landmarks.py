"""The landmark model's decoding: pose-detection 2.1.3's ``tensors_to_landmarks``,
``refine_landmarks_from_heatmap``, ``remove_landmark_letterbox``, ``calculate_landmark_projection``,
``calculate_world_landmark_projection`` and ``landmarks_to_detection``.

Landmarks are float64 arrays ``[N, 4]`` of (x, y, z, score): the model's float32 values read as
JavaScript numbers, then float64 scalar math in the reference's order.
"""

from __future__ import annotations

import math

import numpy as np

from .constants import HEATMAP_KERNEL, HEATMAP_MIN_CONFIDENCE, LANDMARK_INPUT, NUM_LANDMARKS
from .rect import Padding, Rect


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.array([1 / (1 + math.exp(-v)) for v in values.tolist()], np.float64)


def tensors_to_landmarks(raw: np.ndarray, input_size: float = LANDMARK_INPUT,
                         num_landmarks: int = NUM_LANDMARKS) -> np.ndarray:
    """``tensorsToLandmarks`` (sigmoid visibility): ``raw`` of ``num_landmarks`` rows of 3 (x, y, z)
    or 5 (x, y, z, visibility, presence) values, in input pixels; normalised by ``input_size``.
    Rows without a visibility get score NaN."""
    values = np.asarray(raw, np.float32).reshape(num_landmarks, -1).astype(np.float64)
    out = np.full((num_landmarks, 4), np.nan)
    out[:, 0] = values[:, 0] / input_size
    out[:, 1] = values[:, 1] / input_size
    out[:, 2] = values[:, 2] / input_size / 1
    if values.shape[1] > 3:
        out[:, 3] = _sigmoid(values[:, 3])
    return out


def refine_from_heatmap(landmarks: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """``refineLandmarksFromHeatmap``: move x, y to the confidence-weighted centre of the heatmap's
    ``kernel`` x ``kernel`` window around each landmark where the window's peak is high enough."""
    maps: np.ndarray = np.asarray(heatmap, np.float32).reshape(heatmap.shape[-3:]).astype(np.float64)
    hm_h, hm_w, channels = int(maps.shape[0]), int(maps.shape[1]), int(maps.shape[2])
    if len(landmarks) != channels:
        raise ValueError("Expected heatmap to have same number of channels as the number of landmarks. "
                         f"But got landmarks length: {len(landmarks)}, heatmap length: {channels}")
    out: np.ndarray = landmarks.copy()
    offset = (kernel - 1) // 2
    for i, (x, y) in enumerate(landmarks[:, :2].tolist()):
        col, row = math.trunc(x * hm_w), math.trunc(y * hm_h)
        if col < 0 or col >= hm_w or row < 0 or col >= hm_h:  # sic: the reference tests col twice
            continue
        row0, row1 = max(0, row - offset), min(hm_h, row + offset + 1)
        col0, col1 = max(0, col - offset), min(hm_w, col + offset + 1)
        window = maps[row0:row1, col0:col1, i]
        rows = np.arange(row0, row1, dtype=np.float64)
        cols = np.arange(col0, col1, dtype=np.float64)
        total = weighted_col = weighted_row = 0.0
        for r, values in zip(rows.tolist(), window.tolist(), strict=True):  # in the reference's summation order
            for c, confidence in zip(cols.tolist(), values, strict=True):
                total += confidence
                weighted_col += c * confidence
                weighted_row += r * confidence
        if float(window.max(initial=0.0)) >= min_confidence and total > 0:
            out[i, 0] = weighted_col / hm_w / total
            out[i, 1] = weighted_row / hm_h / total
    return out


def remove_landmark_letterbox(landmarks: np.ndarray, padding: Padding) -> np.ndarray:
    """``removeLandmarkLetterbox``: x, y (and z, scaled as x) from the padded input to the ROI."""
    left_right, top_bottom = padding.left + padding.right, padding.top + padding.bottom
    out: np.ndarray = landmarks.copy()
    out[:, 0] = (landmarks[:, 0] - padding.left) / (1 - left_right)
    out[:, 1] = (landmarks[:, 1] - padding.top) / (1 - top_bottom)
    out[:, 2] = landmarks[:, 2] / (1 - left_right)
    return out


def project_landmarks(landmarks: np.ndarray, rect: Rect) -> np.ndarray:
    """``calculateLandmarkProjection``: from the (rotated) ROI to the image, normalised."""
    cos, sin = math.cos(rect.rotation), math.sin(rect.rotation)
    x, y = landmarks[:, 0] - 0.5, landmarks[:, 1] - 0.5
    out: np.ndarray = landmarks.copy()
    out[:, 0] = (cos * x - sin * y) * rect.width + rect.x_center
    out[:, 1] = (sin * x + cos * y) * rect.height + rect.y_center
    out[:, 2] = landmarks[:, 2] * rect.width
    return out


def project_world_landmarks(landmarks: np.ndarray, rect: Rect) -> np.ndarray:
    """``calculateWorldLandmarkProjection``: undo the ROI's rotation (metres, hip-centred)."""
    cos, sin = math.cos(rect.rotation), math.sin(rect.rotation)
    x, y = landmarks[:, 0], landmarks[:, 1]
    out: np.ndarray = landmarks.copy()
    out[:, 0] = cos * x - sin * y
    out[:, 1] = sin * x + cos * y
    return out
