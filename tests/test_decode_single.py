"""Single-pose decoding against the facts of the reference (spec §4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posenet.decode import decode_single_pose
from posenet.keypoints import NUM_KEYPOINTS, PART_NAMES


def _maps(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.zeros((height, width, NUM_KEYPOINTS), np.float32),
        np.zeros((height, width, 2 * NUM_KEYPOINTS), np.float32),
    )


def test_hand_built_maxima_and_offsets() -> None:
    scores, offsets = _maps(4, 5)
    for k in range(NUM_KEYPOINTS):
        y, x = k % 4, (2 * k) % 5
        scores[y, x, k] = 0.5 + k / 40
        offsets[y, x, k] = k - 8.5  # y block
        offsets[y, x, NUM_KEYPOINTS + k] = 0.25 * k  # x block
    pose = decode_single_pose(scores, offsets, 16)

    assert [kp.part for kp in pose.keypoints] == list(PART_NAMES)
    for k, kp in enumerate(pose.keypoints):
        y, x = k % 4, (2 * k) % 5
        assert kp.score == float(np.float32(0.5 + k / 40))
        assert kp.position.y == y * 16 + (k - 8.5)
        assert kp.position.x == x * 16 + 0.25 * k
    total = 0.0
    for kp in pose.keypoints:
        total += kp.score
    assert pose.score == total / 17


def test_argmax_ties_take_the_first_cell_in_row_major_order() -> None:
    scores, offsets = _maps(3, 3)
    scores[0, 1, 0] = scores[0, 2, 0] = scores[2, 0, 0] = 0.7  # nose: 3-way tie
    scores[1, 0, 1] = scores[0, 2, 1] = 0.4  # leftEye: (0, 2) comes first
    pose = decode_single_pose(scores, offsets, 8)
    assert (pose[0].position.y, pose[0].position.x) == (0.0, 8.0)
    assert (pose[1].position.y, pose[1].position.x) == (0.0, 16.0)
    # All-equal channels (here all zero) decode at cell (0, 0).
    assert (pose[5].position.y, pose[5].position.x) == (0.0, 0.0)


def test_positions_use_float32_arithmetic() -> None:
    scores, offsets = _maps(2, 2)
    scores[1, 1, :] = 1.0
    offsets[1, 1, :NUM_KEYPOINTS] = 0.1
    offsets[1, 1, NUM_KEYPOINTS:] = -0.3
    pose = decode_single_pose(scores, offsets, 16)
    y32 = float(np.float32(16) + np.float32(0.1))
    x32 = float(np.float32(16) + np.float32(-0.3))
    assert pose[0].position.y == y32 != 16 + float(np.float32(0.1))
    assert pose[0].position.x == x32 != 16 + float(np.float32(-0.3))


def test_pose_score_is_the_sequential_float64_sum_over_17() -> None:
    # Values whose plain left-to-right sum differs from the exactly rounded one, so a
    # compensated sum (math.fsum, numpy's pairwise sum, Python 3.12's sum) would fail.
    values = [1.0] + [2.0**-54] * 16  # each addition rounds back to 1.0
    assert math.fsum(values) / 17 != _sequential(values) / 17
    scores, offsets = _maps(1, 1)
    scores[0, 0, :] = values
    assert decode_single_pose(scores, offsets, 32).score == _sequential(values) / 17


def _sequential(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def test_float64_input_is_read_as_float32() -> None:
    scores, offsets = _maps(2, 3)
    scores64 = scores.astype(np.float64)
    scores64[1, 2, :] = 0.1
    pose = decode_single_pose(scores64, offsets.astype(np.float64), 16)
    assert pose[3].score == float(np.float32(0.1))
    assert (pose[3].position.y, pose[3].position.x) == (16.0, 32.0)


@pytest.mark.parametrize(
    ("scores_shape", "offsets_shape"),
    [((3, 3, 16), (3, 3, 34)), ((3, 3, 17), (3, 3, 17)), ((3, 3, 17), (3, 4, 34)), ((9, 17), (9, 34))],
)
def test_bad_shapes_are_rejected(scores_shape: tuple[int, ...], offsets_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="must have shape"):
        decode_single_pose(np.zeros(scores_shape), np.zeros(offsets_shape), 16)


def test_empty_grid_is_rejected() -> None:
    scores, offsets = _maps(0, 3)
    with pytest.raises(ValueError, match="empty"):
        decode_single_pose(scores, offsets, 16)


def _reference(scores: np.ndarray, offsets: np.ndarray, stride: int) -> list[tuple[float, float, float]]:
    """Literal transcription of spec §4: strict ``>`` scan, float32 position sums."""
    height, width, _ = scores.shape
    out = []
    for k in range(NUM_KEYPOINTS):
        best, by, bx = scores[0, 0, k], 0, 0
        for y in range(height):
            for x in range(width):
                if scores[y, x, k] > best:
                    best, by, bx = scores[y, x, k], y, x
        py = np.float32(np.float32(by * stride) + offsets[by, bx, k])
        px = np.float32(np.float32(bx * stride) + offsets[by, bx, k + NUM_KEYPOINTS])
        out.append((float(best), float(py), float(px)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    levels=st.integers(2, 6),
    stride=st.sampled_from([8, 16, 32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_a_literal_transcription(height: int, width: int, levels: int, stride: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Few score levels, so most channels have ties.
    scores = (rng.integers(0, levels, (height, width, NUM_KEYPOINTS)) / (levels - 1)).astype(np.float32)
    offsets = rng.normal(0, stride, (height, width, 2 * NUM_KEYPOINTS)).astype(np.float32)
    pose = decode_single_pose(scores, offsets, stride)
    assert len(pose.keypoints) == NUM_KEYPOINTS
    assert [(kp.score, kp.position.y, kp.position.x) for kp in pose.keypoints] == _reference(scores, offsets, stride)
    assert pose.score == _sequential([kp.score for kp in pose.keypoints]) / 17
