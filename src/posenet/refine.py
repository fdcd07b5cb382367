"""Keypoint refinements beyond the reference (off in its presets).

- :func:`refine_by_votes`: each keypoint moves to the score-weighted mean of the offset
  votes (``cell * stride + offset``) of the 3x3 grid cells around it that land within one
  stride of it (model-input pixels). Sharper than one cell's offset.
- :func:`clamp_to_image`: keypoints clamped into the image (``0..w-1``, ``0..h-1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .keypoints import NUM_KEYPOINTS
from .pose import Pose

_NEIGHBOURS = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def refine_by_votes(poses: Sequence[Pose], heatmap_scores: np.ndarray, offsets: np.ndarray,
                    output_stride: int) -> list[Pose]:
    """Poses (model-input pixels) with every keypoint moved to its neighbourhood's vote.

    ``heatmap_scores`` ``[Ho, Wo, 17]`` probabilities, ``offsets`` ``[Ho, Wo, 34]``. A
    keypoint with no vote within one stride stays where it is. Scores are unchanged.
    """
    if not poses:
        return []
    rows, cols = heatmap_scores.shape[:2]
    xy = np.stack([p.xy for p in poses])  # [N, 17, 2] (x, y)
    cell_y = np.clip(np.rint(xy[..., 1] / output_stride), 0, rows - 1).astype(np.intp)
    cell_x = np.clip(np.rint(xy[..., 0] / output_stride), 0, cols - 1).astype(np.intp)
    ny = cell_y[..., None] + _NEIGHBOURS[:, 0]  # [N, 17, 9]
    nx = cell_x[..., None] + _NEIGHBOURS[:, 1]
    inside = (ny >= 0) & (ny < rows) & (nx >= 0) & (nx < cols)
    ny, nx = np.clip(ny, 0, rows - 1), np.clip(nx, 0, cols - 1)
    part = np.broadcast_to(np.arange(NUM_KEYPOINTS)[None, :, None], ny.shape)
    vote_y = ny * output_stride + offsets[ny, nx, part].astype(np.float64)
    vote_x = nx * output_stride + offsets[ny, nx, part + NUM_KEYPOINTS].astype(np.float64)
    near = (vote_y - xy[..., 1:2]) ** 2 + (vote_x - xy[..., 0:1]) ** 2 <= float(output_stride) ** 2
    weight = np.where(inside & near, heatmap_scores[ny, nx, part].astype(np.float64), 0.0)
    total = weight.sum(axis=-1)
    has_votes = total > 0
    safe = np.where(has_votes, total, 1.0)
    new_x = np.where(has_votes, (weight * vote_x).sum(axis=-1) / safe, xy[..., 0])
    new_y = np.where(has_votes, (weight * vote_y).sum(axis=-1) / safe, xy[..., 1])
    refined = np.stack([new_x, new_y], axis=-1)
    return [pose.with_xy(points) for pose, points in zip(poses, refined, strict=True)]


def clamp_to_image(poses: Sequence[Pose], image_size: tuple[int, int]) -> list[Pose]:
    """Poses with keypoints clamped to the image ``(height, width)`` (pixel centres)."""
    height, width = image_size
    top = np.array([max(width - 1, 0), max(height - 1, 0)], dtype=np.float64)
    return [pose.with_xy(np.clip(pose.xy, 0.0, top)) for pose in poses]
