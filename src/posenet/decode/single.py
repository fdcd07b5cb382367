"""Single-person decoding, as ``decodeSinglePose`` of PoseNet 2.2.2.

Each part is placed at its best heatmap cell, moved by that cell's offset vector.
Grid cells ``(hy, hx)`` index the ``[Ho, Wo]`` output grid; positions are model-input
pixels (``cell * output_stride + offset``), before any mapping back to the image.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..keypoints import NUM_KEYPOINTS
from ..pose import Pose
from ._grid import float32_grid

_PARTS = np.arange(NUM_KEYPOINTS)


def decode_single_pose(heatmap_scores: ArrayLike, offsets: ArrayLike, output_stride: int) -> Pose:
    """Decode one pose from a single image's network outputs.

    Args:
        heatmap_scores: ``[Ho, Wo, 17]`` part probabilities (sigmoid already applied).
        offsets: ``[Ho, Wo, 34]`` offset vectors in model-input pixels, y block
            (channels 0-16) then x block (17-33).
        output_stride: model-input pixels per grid cell (8, 16 or 32).

    Returns:
        A pose in model-input pixels. Part ``k`` sits at the first (row-major) cell with
        the highest score; its position is ``float32(float32(cell * stride) + offset)``
        as in the reference's float32 tensor arithmetic, its score the float32 heatmap
        value there. The pose score is the float64 running sum of the 17 scores / 17.
    """
    scores = float32_grid(heatmap_scores, "heatmap_scores", NUM_KEYPOINTS)
    height, width = scores.shape[:2]
    offs = float32_grid(offsets, "offsets", 2 * NUM_KEYPOINTS, (height, width))
    if height * width == 0:
        raise ValueError("heatmap_scores has an empty grid")

    flat_scores = scores.reshape(height * width, NUM_KEYPOINTS)
    flat_offsets = offs.reshape(height * width, 2 * NUM_KEYPOINTS)
    cells = flat_scores.argmax(axis=0)  # first occurrence of the maximum, like tf.argMax
    hy, hx = np.divmod(cells, width)
    part_scores = flat_scores[cells, _PARTS].tolist()
    ys = ((hy * output_stride).astype(np.float32) + flat_offsets[cells, _PARTS]).tolist()
    xs = ((hx * output_stride).astype(np.float32) + flat_offsets[cells, _PARTS + NUM_KEYPOINTS]).tolist()

    total = 0.0
    for score in part_scores:  # sequential, like JS; sum() would compensate rounding
        total += score
    return Pose.from_parts(total / NUM_KEYPOINTS, ys, xs, part_scores)
