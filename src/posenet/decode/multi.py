"""Multi-person decoding ("fast greedy decoding" of PersonLab), as ``decodeMultiplePoses``
of PoseNet 2.2.2, replicated step for step so that results match the reference exactly.

Grid cells ``(hy, hx)`` index the ``[Ho, Wo]`` output grid; positions are model-input
pixels (``cell * output_stride + offset``). As in the reference's JavaScript, all position
arithmetic is float64 on float32 map values, and the NMS radius is in model-input pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..jsmath import js_round
from ..keypoints import NUM_KEYPOINTS, POSE_CHAIN_INDICES
from ..pose import Pose
from ._grid import float32_grid
from .max_heap import MaxHeap

OFFSET_REFINE_STEPS = 2
"""Times a traversed keypoint is re-snapped to the grid and moved by its offset."""

NUM_EDGES = len(POSE_CHAIN_INDICES)

# (edge, source part, target part): the backward sweep walks child -> parent from the
# last edge down, the forward sweep parent -> child from the first edge up.
_BACKWARD_STEPS = tuple((e, child, parent) for e, (parent, child) in enumerate(POSE_CHAIN_INDICES))[::-1]
_FORWARD_STEPS = tuple((e, parent, child) for e, (parent, child) in enumerate(POSE_CHAIN_INDICES))


def local_maximum_mask(scores: np.ndarray) -> np.ndarray:
    """``[Ho, Wo, C]`` bool: no cell of the 3x3 window, clipped to the grid, in the same
    channel has a strictly greater score (so plateaus keep every cell, and NaNs compare
    false as in JS)."""
    window = scores.copy()  # max over the clipped y-neighbourhood, then x
    np.fmax(window[1:], scores[:-1], out=window[1:])
    np.fmax(window[:-1], scores[1:], out=window[:-1])
    rows = window.copy()
    np.fmax(window[:, 1:], rows[:, :-1], out=window[:, 1:])
    np.fmax(window[:, :-1], rows[:, 1:], out=window[:, :-1])
    mask: np.ndarray = ~(window > scores)
    return mask


def build_part_with_score_queue(
    scores: np.ndarray, score_threshold: float
) -> MaxHeap[tuple[int, int, int]]:
    """Root candidates ``(hy, hx, part)`` keyed by score: cells with ``score >=
    score_threshold`` (compared in float64) that are local maxima, enqueued in the
    reference's scan order (y, then x, then part)."""
    above = ~(scores < np.float64(score_threshold))
    ys, xs, parts = np.nonzero(above & local_maximum_mask(scores))
    queue: MaxHeap[tuple[int, int, int]] = MaxHeap()
    cells = zip(ys.tolist(), xs.tolist(), parts.tolist(), strict=True)
    for score, cell in zip(scores[ys, xs, parts].tolist(), cells, strict=True):
        queue.push(score, cell)
    return queue


class _Maps(NamedTuple):
    """Flat float32 views of the network outputs (indexing yields Python floats)."""

    scores: memoryview
    offsets: memoryview
    displacements_fwd: memoryview
    displacements_bwd: memoryview
    width: int
    last_y: int
    last_x: int
    stride: int

    @classmethod
    def of(cls, scores: np.ndarray, offsets: np.ndarray, fwd: np.ndarray, bwd: np.ndarray, stride: int) -> _Maps:
        """The maps of ``[Ho, Wo, C]`` float32 arrays."""
        rows, cols = scores.shape[:2]
        return cls(scores.reshape(-1).data, offsets.reshape(-1).data, fwd.reshape(-1).data, bwd.reshape(-1).data,
                   width=cols, last_y=rows - 1, last_x=cols - 1, stride=stride)


def _round_to_index(q: float, last: int) -> int:
    """``clamp(Math.round(q), 0, last)``, the grid index nearest to ``q`` cells
    (``getStridedIndexNearPoint``); JS rounding sends halves towards +inf."""
    i = js_round(q)
    return 0 if i < 0 else last if i > last else i


def _traverse(
    edge: int, source_y: float, source_x: float, target: int, displacements: memoryview, m: _Maps
) -> tuple[float, float, float]:
    """``(y, x, score)`` of part ``target``, reached from a source keypoint along
    ``edge``: add the displacement at the source's nearest cell, then twice snap to the
    nearest cell and take the target's offset there; the score is read at the final
    position's nearest cell. Positions are never clamped, only the cell indices."""
    scores, offsets, _, _, width, last_y, last_x, stride = m
    iy = _round_to_index(source_y / stride, last_y)
    ix = _round_to_index(source_x / stride, last_x)
    base = (iy * width + ix) * (2 * NUM_EDGES)
    y = source_y + displacements[base + edge]
    x = source_x + displacements[base + NUM_EDGES + edge]
    for _ in range(OFFSET_REFINE_STEPS):
        iy = _round_to_index(y / stride, last_y)
        ix = _round_to_index(x / stride, last_x)
        base = (iy * width + ix) * (2 * NUM_KEYPOINTS)
        y = iy * stride + offsets[base + target]
        x = ix * stride + offsets[base + NUM_KEYPOINTS + target]
    iy = _round_to_index(y / stride, last_y)
    ix = _round_to_index(x / stride, last_x)
    return y, x, scores[(iy * width + ix) * NUM_KEYPOINTS + target]


def _root_position(hy: int, hx: int, part: int, m: _Maps) -> tuple[float, float]:
    """Model-input position of a candidate: its cell times the stride plus its offset."""
    base = (hy * m.width + hx) * (2 * NUM_KEYPOINTS)
    return hy * m.stride + m.offsets[base + part], hx * m.stride + m.offsets[base + NUM_KEYPOINTS + part]


def _decode_pose(
    root_score: float, root_y: float, root_x: float, root_part: int, m: _Maps
) -> tuple[list[float], list[float], list[float]]:
    """``(ys, xs, scores)`` of all 17 parts, walked from the root: one backward sweep
    over the edges (child -> parent, last edge first), then one forward sweep."""
    ys: list[float | None] = [None] * NUM_KEYPOINTS
    xs: list[float] = [0.0] * NUM_KEYPOINTS
    scores: list[float] = [0.0] * NUM_KEYPOINTS
    ys[root_part], xs[root_part], scores[root_part] = root_y, root_x, root_score
    for steps, displacements in ((_BACKWARD_STEPS, m.displacements_bwd), (_FORWARD_STEPS, m.displacements_fwd)):
        for edge, source, target in steps:
            source_y = ys[source]
            if source_y is not None and ys[target] is None:
                ys[target], xs[target], scores[target] = _traverse(
                    edge, source_y, xs[source], target, displacements, m
                )
    return ys, xs, scores  # type: ignore[return-value]  # every part is filled


def _within_nms_radius(
    poses: list[tuple[list[float], list[float]]], squared_radius: float, y: float, x: float, part: int
) -> bool:
    """Whether ``(y, x)`` is within the radius (``<=``, squared) of part ``part`` of any
    accepted pose."""
    for pose_ys, pose_xs in poses:
        dy = pose_ys[part] - y
        dx = pose_xs[part] - x
        if dy * dy + dx * dx <= squared_radius:
            return True
    return False


def _instance_score(
    poses: list[tuple[list[float], list[float]]],
    squared_radius: float,
    ys: list[float],
    xs: list[float],
    scores: list[float],
    top_k: int = 0,
) -> float:
    """Sum of the scores of the parts not within the NMS radius of the same part of an
    earlier pose, divided by 17 (always 17, however many parts are suppressed); with
    ``top_k`` > 0, the sum of the ``top_k`` highest of those scores divided by ``top_k``."""
    if top_k > 0:
        kept = sorted((scores[part] for part in range(NUM_KEYPOINTS)
                       if not _within_nms_radius(poses, squared_radius, ys[part], xs[part], part)), reverse=True)
        return sum(kept[:top_k]) / top_k
    total = 0.0
    for part in range(NUM_KEYPOINTS):
        if not _within_nms_radius(poses, squared_radius, ys[part], xs[part], part):
            total += scores[part]
    return total / NUM_KEYPOINTS


def decode_multiple_poses(
    heatmap_scores: ArrayLike,
    offsets: ArrayLike,
    displacements_fwd: ArrayLike,
    displacements_bwd: ArrayLike,
    output_stride: int,
    max_detections: int,
    score_threshold: float = 0.5,
    nms_radius: float = 20,
    pose_score_top_k: int = 0,
) -> list[Pose]:
    """Decode up to ``max_detections`` poses from a single image's network outputs.

    Args (maps are float32 and in model-input pixels):
        heatmap_scores: ``[Ho, Wo, 17]`` part probabilities (sigmoid already applied).
        offsets: ``[Ho, Wo, 34]`` offsets, y block then x block.
        displacements_fwd, displacements_bwd: ``[Ho, Wo, 32]`` parent -> child (child ->
            parent) vectors per edge of :data:`~posenet.keypoints.POSE_CHAIN`, y block then x.
        output_stride: model-input pixels per grid cell.
        max_detections: the most poses returned.
        score_threshold: lowest heatmap score of a root candidate (``>=`` keeps it);
            it filters roots only, not the other keypoints or the poses.
        nms_radius: a root within this many model-input pixels (``<=``) of the same part
            of an accepted pose is skipped.
        pose_score_top_k: 0 for the reference's pose score; K > 0 scores a pose by the
            mean of its K highest non-suppressed keypoint scores (not the reference).

    Returns poses in model-input pixels, in acceptance order (root score descending, ties
    in the reference heap's order), never clamped. A pose's score is the sum of its part
    scores not within ``nms_radius`` of the same part of an earlier pose, divided by 17.
    """
    scores = float32_grid(heatmap_scores, "heatmap_scores", NUM_KEYPOINTS)
    grid = scores.shape[:2]
    offs = float32_grid(offsets, "offsets", 2 * NUM_KEYPOINTS, grid)
    fwd = float32_grid(displacements_fwd, "displacements_fwd", 2 * NUM_EDGES, grid)
    bwd = float32_grid(displacements_bwd, "displacements_bwd", 2 * NUM_EDGES, grid)
    if not max_detections > 0:  # the reference's loop would not run (also for NaN)
        return []

    queue = build_part_with_score_queue(scores, score_threshold)
    maps = _Maps.of(scores, offs, fwd, bwd, output_stride)
    squared_radius = nms_radius * nms_radius
    accepted: list[tuple[list[float], list[float]]] = []
    results: list[tuple[float, list[float], list[float], list[float]]] = []
    while len(accepted) < max_detections and len(queue):
        root_score, (hy, hx, part) = queue.pop()
        root_y, root_x = _root_position(hy, hx, part, maps)
        if _within_nms_radius(accepted, squared_radius, root_y, root_x, part):
            continue
        ys, xs, part_scores = _decode_pose(root_score, root_y, root_x, part, maps)
        score = _instance_score(accepted, squared_radius, ys, xs, part_scores, pose_score_top_k)
        results.append((score, ys, xs, part_scores))
        accepted.append((ys, xs))
    return [Pose.from_parts(*result) for result in results]
