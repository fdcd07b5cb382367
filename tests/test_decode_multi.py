"""Multi-pose decoding against the facts of the reference (spec §5)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posenet.decode import MaxHeap
from posenet.decode.multi import (
    _round_to_index,
    build_part_with_score_queue,
    decode_multiple_poses,
    local_maximum_mask,
)
from posenet.keypoints import NUM_KEYPOINTS, PART_NAMES, POSE_CHAIN_INDICES
from posenet.pose import Pose

NUM_EDGES = len(POSE_CHAIN_INDICES)


# ---------------------------------------------------------------------------------------
# A literal transcription of the reference (max_heap.js, build_part_with_score_queue.js,
# decode_pose.js, decode_multiple_poses.js), slow and loop-based, used as an oracle.


class LiteralHeap:
    def __init__(self) -> None:
        self.queue: list[tuple[float, object]] = []
        self.n = -1

    def enqueue(self, value: float, item: object) -> None:
        self.n += 1
        self.queue[self.n : self.n + 1] = [(value, item)]
        k = self.n
        while k > 0 and self.less(k // 2, k):
            self.exchange(k, k // 2)
            k //= 2

    def dequeue(self) -> tuple[float, object]:
        top = self.queue[0]
        self.exchange(0, self.n)
        self.n -= 1
        k = 0
        while 2 * k <= self.n:
            j = 2 * k
            if j < self.n and self.less(j, j + 1):
                j += 1
            if not self.less(k, j):
                break
            self.exchange(k, j)
            k = j
        del self.queue[self.n + 1 :]
        return top

    def less(self, i: int, j: int) -> bool:
        return self.queue[i][0] < self.queue[j][0]

    def exchange(self, i: int, j: int) -> None:
        self.queue[i], self.queue[j] = self.queue[j], self.queue[i]


def js_round(v: float) -> int:
    """ECMAScript Math.round, computed exactly."""
    r = math.floor(v)
    return r + 1 if Fraction(v) - r >= Fraction(1, 2) else r


def reference_candidates(scores: np.ndarray, threshold: float) -> list[tuple[float, tuple[int, int, int]]]:
    height, width, parts = scores.shape
    out = []
    for y in range(height):
        for x in range(width):
            for k in range(parts):
                score = float(scores[y, x, k])
                if score < threshold:
                    continue
                window = scores[max(y - 1, 0) : min(y + 2, height), max(x - 1, 0) : min(x + 2, width), k]
                if not any(float(v) > score for v in window.ravel()):
                    out.append((score, (y, x, k)))
    return out


def reference_decode(scores, offsets, fwd, bwd, stride, max_detections, threshold=0.5, nms_radius=20):
    height, width, _ = scores.shape
    heap = LiteralHeap()
    for score, part in reference_candidates(scores, threshold):
        heap.enqueue(score, part)

    def snap(p):
        return (
            min(max(js_round(p[0] / stride), 0), height - 1),
            min(max(js_round(p[1] / stride), 0), width - 1),
        )

    def image_coords(y, x, k):
        return (y * stride + float(offsets[y, x, k]), x * stride + float(offsets[y, x, k + 17]))

    def within(poses, p, k):
        return any((q[k][0] - p[0]) ** 2 + (q[k][1] - p[1]) ** 2 <= nms_radius * nms_radius for q, _, _ in poses)

    def traverse(edge, source, target, disp):
        iy, ix = snap(source)
        point = (source[0] + float(disp[iy, ix, edge]), source[1] + float(disp[iy, ix, 16 + edge]))
        for _ in range(2):
            jy, jx = snap(point)
            point = image_coords(jy, jx, target)
        uy, ux = snap(point)
        return point, float(scores[uy, ux, target])

    poses: list = []
    while len(poses) < max_detections and heap.n >= 0:
        root_score, (hy, hx, k) = heap.dequeue()
        root = image_coords(hy, hx, k)
        if within(poses, root, k):
            continue
        positions: list = [None] * 17
        part_scores: list = [None] * 17
        positions[k], part_scores[k] = root, root_score
        for e in range(15, -1, -1):
            parent, child = POSE_CHAIN_INDICES[e]
            if positions[child] is not None and positions[parent] is None:
                positions[parent], part_scores[parent] = traverse(e, positions[child], parent, bwd)
        for e in range(16):
            parent, child = POSE_CHAIN_INDICES[e]
            if positions[parent] is not None and positions[child] is None:
                positions[child], part_scores[child] = traverse(e, positions[parent], child, fwd)
        total = 0.0
        for part in range(17):
            if not within(poses, positions[part], part):
                total += part_scores[part]
        poses.append((positions, part_scores, total / 17))
    return poses


def as_tuples(poses: list[Pose]) -> list:
    return [
        ([(kp.position.y, kp.position.x) for kp in p.keypoints], [kp.score for kp in p.keypoints], p.score)
        for p in poses
    ]


# ---------------------------------------------------------------------------------------
# The heap


def pop_order(values: list[float]) -> list[int]:
    heap: MaxHeap[int] = MaxHeap()
    for i, v in enumerate(values):
        heap.push(v, i)
    return [heap.pop()[1] for _ in values]


@pytest.mark.parametrize(
    ("values", "order"),
    [
        ([1, 1, 1, 1, 1], [0, 4, 3, 2, 1]),
        ([0.9, 0.9, 0.8, 0.9, 1.0, 0.9], [4, 5, 0, 3, 1, 2]),
        ([3, 1, 2], [0, 2, 1]),
    ],
)
def test_heap_pop_order_matches_the_reference(values: list[float], order: list[int]) -> None:
    assert pop_order(values) == order


def test_heap_pop_returns_key_and_item_and_empties() -> None:
    heap: MaxHeap[str] = MaxHeap()
    heap.push(0.5, "a")
    heap.push(0.7, "b")
    assert len(heap) == 2
    assert heap.pop() == (0.7, "b")
    assert heap.pop() == (0.5, "a")
    assert len(heap) == 0
    with pytest.raises(IndexError):
        heap.pop()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.none()), max_size=60))
def test_heap_matches_the_literal_heap_under_interleaved_push_and_pop(ops: list[float | None]) -> None:
    """``None`` pops (when not empty), a number pushes; ties are frequent."""
    heap: MaxHeap[int] = MaxHeap()
    literal = LiteralHeap()
    for i, op in enumerate(ops):
        if op is None:
            if len(heap):
                assert heap.pop() == literal.dequeue()
        else:
            heap.push(op, i)
            literal.enqueue(op, i)
    while len(heap):
        assert heap.pop() == literal.dequeue()
    assert literal.n == -1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1, width=32), max_size=80))
def test_heap_pops_in_non_increasing_order(values: list[float]) -> None:
    keys = [values[i] for i in pop_order(values)]
    assert keys == sorted(values, reverse=True)


# ---------------------------------------------------------------------------------------
# Snapping: clamp(Math.round(q), 0, last)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (2.5, 3),  # half rounds up (Python's round gives 2)
        (1.5, 2),
        (0.5, 1),
        (2.4999999, 2),
        (0.49999999999999994, 0),  # Math.round gives 0 where floor(q + 0.5) gives 1
        (-0.5, 0),  # Math.round gives -0
        (-2.5, 0),  # Math.round gives -2, clamped to 0
        (-0.6, 0),
        (7.5, 7),  # 8 clamped to the last index
        (1e300, 7),
        (-1e300, 0),
    ],
)
def test_round_to_index_is_clamped_js_math_round(q: float, expected: int) -> None:
    assert _round_to_index(q, 7) == expected


@settings(max_examples=300)
@given(st.floats(-50, 50))
def test_round_to_index_agrees_with_exact_math_round(q: float) -> None:
    assert _round_to_index(q, 20) == min(max(js_round(q), 0), 20)


# ---------------------------------------------------------------------------------------
# Candidates


def test_plateaus_yield_every_cell_and_borders_use_the_clipped_window() -> None:
    scores = np.zeros((4, 4, NUM_KEYPOINTS), np.float32)
    scores[0:2, 0:2, 0] = 0.8  # plateau in the corner
    scores[3, 3, 1] = 0.6  # corner cell, neighbours only inside the grid
    scores[2, 2, 1] = 0.7  # strictly greater neighbour of (3, 3)
    scores[0, 3, 2] = 0.6
    mask = local_maximum_mask(scores)
    assert mask[0:2, 0:2, 0].all() and not mask[2, 2, 0] and mask[3, 3, 0]  # zeros tie with zeros
    assert mask[2, 2, 1] and not mask[3, 3, 1]
    assert mask[0, 3, 2] and not mask[1, 2, 2]

    queue = build_part_with_score_queue(scores, 0.5)
    popped = [queue.pop() for _ in range(len(queue))]
    assert sorted(item for _, item in popped) == [(0, 0, 0), (0, 1, 0), (0, 3, 2), (1, 0, 0), (1, 1, 0), (2, 2, 1)]


def test_nan_scores_compare_false_as_in_js() -> None:
    scores = np.zeros((1, 3, NUM_KEYPOINTS), np.float32)
    scores[0, :, 0] = [0.6, np.nan, 0.7]
    # No neighbour is "greater" than NaN, and NaN is greater than nothing.
    assert local_maximum_mask(scores)[0, :, 0].tolist() == [True, True, True]
    # `NaN < threshold` is false, so the reference enqueues NaN cells too.
    assert len(build_part_with_score_queue(scores, 0.5)) == 3


def candidates(scores: np.ndarray, threshold: float) -> list[tuple[int, int, int]]:
    queue = build_part_with_score_queue(scores, threshold)
    return sorted(queue.pop()[1] for _ in range(len(queue)))


def test_threshold_keeps_equal_scores_and_compares_in_float64() -> None:
    scores = np.zeros((1, 3, NUM_KEYPOINTS), np.float32)
    scores[0, 0, 0] = 0.5
    scores[0, 2, 0] = 0.1  # float32(0.1) = 0.10000000149...
    assert candidates(scores, 0.5) == [(0, 0, 0)]
    assert candidates(scores, float(np.float32(0.1))) == [(0, 0, 0), (0, 2, 0)]
    # 0.1000000016 rounds to float32(0.1): a float32 comparison would keep (0, 2, 0).
    assert np.float32(0.1000000016) == np.float32(0.1)
    assert candidates(scores, 0.1000000016) == [(0, 0, 0)]


@settings(max_examples=80, deadline=None)
@given(
    height=st.integers(1, 7),
    width=st.integers(1, 7),
    levels=st.integers(2, 5),
    threshold=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_candidates_and_their_pop_order_match_the_reference(
    height: int, width: int, levels: int, threshold: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, levels, (height, width, NUM_KEYPOINTS)) / (levels - 1)).astype(np.float32)
    queue = build_part_with_score_queue(scores, threshold)
    literal = LiteralHeap()
    for score, part in reference_candidates(scores, threshold):
        literal.enqueue(score, part)
    popped = [queue.pop() for _ in range(len(queue))]
    assert popped == [literal.dequeue() for _ in range(literal.n + 1)]
    keys = [key for key, _ in popped]
    assert keys == sorted(keys, reverse=True)  # roots come in non-increasing score order


# ---------------------------------------------------------------------------------------
# Decoding, built by hand

# A skeleton template: part -> (row, column) in cells relative to the nose.
TEMPLATE = [
    (0, 0), (0, 1), (0, -1), (0, 2), (0, -2), (1, 1), (1, -1), (2, 2), (2, -2),
    (3, 2), (3, -2), (3, 1), (3, -1), (4, 1), (4, -1), (5, 1), (5, -1),
]  # fmt: skip
STRIDE = 16


def empty_maps(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zero scores and offsets; displacements that move by the template's cell steps
    everywhere (forward parent -> child, backward child -> parent)."""
    scores = np.zeros((height, width, NUM_KEYPOINTS), np.float32)
    offsets = np.zeros((height, width, 2 * NUM_KEYPOINTS), np.float32)
    fwd = np.zeros((height, width, 2 * NUM_EDGES), np.float32)
    for e, (parent, child) in enumerate(POSE_CHAIN_INDICES):
        fwd[..., e] = STRIDE * (TEMPLATE[child][0] - TEMPLATE[parent][0])
        fwd[..., NUM_EDGES + e] = STRIDE * (TEMPLATE[child][1] - TEMPLATE[parent][1])
    return scores, offsets, fwd, -fwd


def place(scores, offsets, nose, part_scores, part_offsets) -> list[tuple[int, int]]:
    """Put a person on the maps; returns its part cells."""
    cells = [(nose[0] + dy, nose[1] + dx) for dy, dx in TEMPLATE]
    for k, (y, x) in enumerate(cells):
        scores[y, x, k] = part_scores[k]
        offsets[y, x, k], offsets[y, x, NUM_KEYPOINTS + k] = part_offsets[k]
    return cells


def sequential_mean(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total / 17


def test_two_people_decoded_by_hand() -> None:
    scores, offsets, fwd, bwd = empty_maps(12, 12)
    # Person A: nose root (0.95); most other parts below the threshold; leftShoulder,
    # rightShoulder and leftWrist are candidates that NMS must reject.
    scores_a = [0.95, 0.2, 0.3, 0.1, 0.1, 0.6, 0.55, 0.2, 0.2, 0.7, 0.2, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05]
    offsets_a = [((k % 3 - 1) * 1.25, ((5 * k) % 7 - 3) * 0.75) for k in range(NUM_KEYPOINTS)]
    offsets_a[9] = (8.0, 0.0)  # leftWrist: exactly half a cell down
    cells_a = place(scores, offsets, (1, 3), scores_a, offsets_a)
    # Half a cell rounds up: the wrist's second refinement reads cell (5, 5), not (4, 5).
    assert cells_a[9] == (4, 5)
    scores[5, 5, 9] = 0.3
    offsets[5, 5, 9], offsets[5, 5, NUM_KEYPOINTS + 9] = -3.0, 1.0
    # Person B: every part a candidate; leftHip (0.85) is its best, so its root.
    scores_b = [0.8, 0.7, 0.7, 0.6, 0.6, 0.75, 0.75, 0.65, 0.65, 0.6, 0.6, 0.85, 0.8, 0.7, 0.7, 0.6, 0.6]
    offsets_b = [(-(k % 4) * 1.5, (k % 5 - 2) * 2.0) for k in range(NUM_KEYPOINTS)]
    cells_b = place(scores, offsets, (5, 8), scores_b, offsets_b)

    poses = decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, max_detections=5)

    assert len(poses) == 2  # every other candidate is within 20 px of an accepted part
    a, b = poses
    expected_a = [
        (cells_a[k][0] * STRIDE + offsets_a[k][0], cells_a[k][1] * STRIDE + offsets_a[k][1]) for k in range(17)
    ]
    expected_a[9] = (5 * STRIDE - 3.0, 5 * STRIDE + 1.0)
    part_scores_a = [float(np.float32(s)) for s in scores_a]
    part_scores_a[9] = float(np.float32(0.3))
    assert [(kp.position.y, kp.position.x) for kp in a.keypoints] == expected_a
    assert [kp.score for kp in a.keypoints] == part_scores_a
    assert a.score == sequential_mean(part_scores_a)

    expected_b = [
        (cells_b[k][0] * STRIDE + offsets_b[k][0], cells_b[k][1] * STRIDE + offsets_b[k][1]) for k in range(17)
    ]
    part_scores_b = [float(np.float32(s)) for s in scores_b]
    assert [(kp.position.y, kp.position.x) for kp in b.keypoints] == expected_b
    assert [kp.score for kp in b.keypoints] == part_scores_b
    assert b.score == sequential_mean(part_scores_b)
    # Acceptance order, not pose-score order.
    assert a.score < b.score
    assert [kp.part for p in poses for kp in p.keypoints] == list(PART_NAMES) * 2

    assert as_tuples(poses) == reference_decode(scores, offsets, fwd, bwd, STRIDE, 5)
    assert decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, max_detections=1) == [a]


def test_nms_rejects_a_root_at_exactly_the_radius() -> None:
    scores, offsets, fwd, bwd = empty_maps(4, 8)
    fwd[:] = bwd[:] = 0.0
    scores[1, 1, 0] = 0.9  # root at (16, 16)
    scores[1, 3, 0] = 0.8  # root at (16, 48): exactly 32 px away
    assert len(decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, 5, nms_radius=32)) == 1
    poses = decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, 5, nms_radius=31.999)
    assert [(p[0].position.y, p[0].position.x) for p in poses] == [(16.0, 16.0), (16.0, 48.0)]


def test_instance_score_counts_only_unsuppressed_parts_and_divides_by_17() -> None:
    scores, offsets, fwd, bwd = empty_maps(9, 10)
    place(scores, offsets, (1, 3), [0.95] + [0.4] * 16, [(0.0, 0.0)] * 17)
    # Person C two cells (32 px) to the right; with radius 26, x offsets of -6 put a part
    # at exactly 26 px from A's (suppressed, <=), -5 at 27 px (kept).
    scores_c = [0.9, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39, 0.41, 0.42, 0.43, 0.44, 0.45, 0.46, 0.47]
    shifts = {1: -6.0, 5: -6.0, 14: -6.0, 2: -5.0}
    place(scores, offsets, (1, 5), scores_c, [(0.0, shifts.get(k, 0.0)) for k in range(17)])

    a, c = decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, 2, nms_radius=26)

    assert [kp.position.x - a.keypoints[k].position.x for k, kp in enumerate(c.keypoints)] == [
        32.0 + shifts.get(k, 0.0) for k in range(17)
    ]
    kept = [float(np.float32(s)) for k, s in enumerate(scores_c) if k not in (1, 5, 14)]
    total = 0.0
    for s in kept:
        total += s
    assert c.score == total / 17
    assert a.score == sequential_mean([float(np.float32(s)) for s in [0.95] + [0.4] * 16])


def test_root_uses_the_heatmap_score_and_positions_are_not_clamped() -> None:
    scores, offsets, fwd, bwd = empty_maps(3, 3)
    fwd[:] = bwd[:] = 0.0
    scores[0, 0, 16] = 0.6  # rightAnkle root in the corner
    offsets[0, 0, 16], offsets[0, 0, 33] = -40.0, -7.5
    offsets[0, 0, :16] = -1.0
    (pose,) = decode_multiple_poses(scores, offsets, fwd, bwd, 8, 5)
    assert (pose[16].position.y, pose[16].position.x, pose[16].score) == (-40.0, -7.5, float(np.float32(0.6)))
    # The other parts snap to the clamped cell (0, 0) and keep their negative offsets.
    assert (pose[0].position.y, pose[0].position.x, pose[0].score) == (-1.0, 0.0, 0.0)


@pytest.mark.parametrize(("max_detections", "count"), [(0, 0), (-1, 0), (math.nan, 0), (2, 2), (2.5, 3)])
def test_max_detections_bounds_the_loop_like_the_reference(max_detections: float, count: int) -> None:
    scores, offsets, fwd, bwd = empty_maps(1, 9)
    fwd[:] = bwd[:] = 0.0
    scores[0, ::2, 0] = [0.9, 0.8, 0.7, 0.6, 0.55]
    poses = decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, max_detections, nms_radius=10)
    assert len(poses) == count


def test_no_candidates_gives_no_poses() -> None:
    scores, offsets, fwd, bwd = empty_maps(5, 5)
    assert decode_multiple_poses(scores, offsets, fwd, bwd, STRIDE, 5, score_threshold=0.5) == []


def test_bad_shapes_are_rejected() -> None:
    scores, offsets, fwd, bwd = empty_maps(3, 4)
    with pytest.raises(ValueError, match="displacements_bwd must have shape \\[3, 4, 32\\]"):
        decode_multiple_poses(scores, offsets, fwd, bwd[:2], STRIDE, 5)
    with pytest.raises(ValueError, match="offsets"):
        decode_multiple_poses(scores, offsets[..., :17], fwd, bwd, STRIDE, 5)


# ---------------------------------------------------------------------------------------
# Decoding, against the literal transcription


@settings(max_examples=120, deadline=None)
@given(
    height=st.integers(1, 8),
    width=st.integers(1, 8),
    stride=st.sampled_from([8, 16, 32]),
    levels=st.integers(2, 8),
    half_cells=st.booleans(),
    max_detections=st.integers(1, 12),
    threshold=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    nms_radius=st.sampled_from([0.5, 8.0, 20.0, 32.0, 40.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_the_literal_transcription(
    height: int,
    width: int,
    stride: int,
    levels: int,
    half_cells: bool,
    max_detections: int,
    threshold: float,
    nms_radius: float,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, levels, (height, width, NUM_KEYPOINTS)) / (levels - 1)).astype(np.float32)
    offsets = rng.normal(0, stride, (height, width, 2 * NUM_KEYPOINTS))
    fwd = rng.normal(0, 2 * stride, (height, width, 2 * NUM_EDGES))
    bwd = rng.normal(0, 2 * stride, (height, width, 2 * NUM_EDGES))
    if half_cells:  # land on exact half cells, where rounding matters
        offsets, fwd, bwd = (np.round(m / stride * 2) * stride / 2 for m in (offsets, fwd, bwd))
    offsets, fwd, bwd = (m.astype(np.float32) for m in (offsets, fwd, bwd))

    poses = decode_multiple_poses(scores, offsets, fwd, bwd, stride, max_detections, threshold, nms_radius)

    assert as_tuples(poses) == reference_decode(
        scores, offsets, fwd, bwd, stride, max_detections, threshold, nms_radius
    )
    assert len(poses) <= max_detections
    for pose in poses:
        assert [kp.part for kp in pose.keypoints] == list(PART_NAMES)
        assert 0.0 <= pose.score <= 1.0
