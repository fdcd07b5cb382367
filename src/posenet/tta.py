"""Flip test-time augmentation: the network also sees its input mirrored, and the two
answers are averaged.

The *network input tensor* is mirrored (after padding and resizing: TF1's legacy resize is
not mirror-symmetric, so mirroring the photo would not do). With an input width of
``(Wo - 1) * stride + 1``, grid column ``c`` of the mirror sees what column ``Wo - 1 - c``
of the original sees. Mapped back: heatmap channel ``k`` comes from the mirror's channel
``FLIP_PART_IDS[k]`` (left and right swap); offsets likewise, with x negated; the
displacements of edge ``e`` come from the mirror's edge ``FLIP_EDGE_IDS[e]`` (the edge
joining the mirrored parent and child, same direction), with x negated. Probabilities and
vectors are then averaged.
"""

from __future__ import annotations

import numpy as np

from .keypoints import FLIP_EDGE_IDS, FLIP_PART_IDS, NUM_KEYPOINTS

_PARTS = np.asarray(FLIP_PART_IDS)
_EDGES = np.asarray(FLIP_EDGE_IDS)
NUM_EDGES = len(FLIP_EDGE_IDS)


def mirror_input(tensor: np.ndarray) -> np.ndarray:
    """The network input ``[H, W, 3]`` mirrored left-right (a contiguous copy)."""
    return np.ascontiguousarray(tensor[:, ::-1])


def unmirror_heatmaps(scores: np.ndarray) -> np.ndarray:
    """Heatmaps ``[Ho, Wo, 17]`` of the mirrored input, in the original's frame and parts."""
    return scores[:, ::-1][:, :, _PARTS]


def unmirror_vectors(vectors: np.ndarray, channel_map: np.ndarray) -> np.ndarray:
    """Vector maps ``[Ho, Wo, 2K]`` (y block, then x block) of the mirrored input in the
    original's frame: columns reversed, channels mapped, x negated."""
    k = len(channel_map)
    flipped = vectors[:, ::-1]
    return np.concatenate([flipped[:, :, channel_map], -flipped[:, :, k + channel_map]], axis=2)


def merge_mirrored(scores: np.ndarray, offsets: np.ndarray, fwd: np.ndarray, bwd: np.ndarray,
                   m_scores: np.ndarray, m_offsets: np.ndarray, m_fwd: np.ndarray,
                   m_bwd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Average each map with its mirrored counterpart (float32)."""
    half = np.float32(0.5)
    return (
        (scores + unmirror_heatmaps(m_scores)) * half,
        (offsets + unmirror_vectors(m_offsets, _PARTS)) * half,
        (fwd + unmirror_vectors(m_fwd, _EDGES)) * half,
        (bwd + unmirror_vectors(m_bwd, _EDGES)) * half,
    )


assert len(_PARTS) == NUM_KEYPOINTS
