"""Geometry helpers against the reference's util.js (spec §1.6, §3.7)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posenet.geometry import (
    BoundingBox,
    flip_pose_horizontal,
    flip_poses_horizontal,
    get_adjacent_keypoints,
    get_bounding_box,
    get_bounding_box_points,
    scale_and_flip_poses,
    scale_pose,
    scale_poses,
)
from posenet.preprocess import Padding
from posenet.keypoints import CONNECTED_PART_INDICES, NUM_KEYPOINTS, PART_NAMES
from posenet.pose import Keypoint, Pose, Position


def make_pose(points: list[tuple[float, float]], scores: list[float] | None = None, score: float = 0.5) -> Pose:
    """Pose from ``(x, y)`` points in part order."""
    scores = scores if scores is not None else [0.9] * NUM_KEYPOINTS
    return Pose(
        score=score,
        keypoints=tuple(Keypoint(PART_NAMES[k], scores[k], Position(x, y)) for k, (x, y) in enumerate(points)),
    )


POINTS = [(10.0 + 3 * k, 100.0 - 5 * k) for k in range(NUM_KEYPOINTS)]
coords = st.floats(-1e4, 1e4, allow_nan=False)
poses = st.builds(
    make_pose,
    st.lists(st.tuples(coords, coords), min_size=NUM_KEYPOINTS, max_size=NUM_KEYPOINTS),
    st.lists(st.floats(0, 1), min_size=NUM_KEYPOINTS, max_size=NUM_KEYPOINTS),
    st.floats(0, 1),
)


# ---------------------------------------------------------------------------------------
# Adjacent keypoints


def test_adjacent_keypoints_are_the_skeleton_pairs_in_order() -> None:
    pose = make_pose(POINTS)
    pairs = get_adjacent_keypoints(pose.keypoints, 0.5)
    assert [(a.part, b.part) for a, b in pairs] == [(PART_NAMES[i], PART_NAMES[j]) for i, j in CONNECTED_PART_INDICES]
    assert pairs[0][0] is pose.keypoints[11] and pairs[0][1] is pose.keypoints[5]  # (11, 5) first


def test_adjacent_keypoints_skip_pairs_with_a_score_below_the_minimum() -> None:
    scores = [0.9] * NUM_KEYPOINTS
    scores[5] = 0.49  # leftShoulder: in (11,5) (7,5) (5,6)
    scores[12] = 0.5  # rightHip at exactly the minimum: kept
    pairs = get_adjacent_keypoints(make_pose(POINTS, scores).keypoints, 0.5)
    expected = [(i, j) for i, j in CONNECTED_PART_INDICES if 5 not in (i, j)]
    assert [(PART_NAMES.index(a.part), PART_NAMES.index(b.part)) for a, b in pairs] == expected
    assert len(pairs) == 9


# ---------------------------------------------------------------------------------------
# Bounding box


def test_bounding_box_covers_every_keypoint_whatever_its_score() -> None:
    scores = [0.0] * NUM_KEYPOINTS
    box = get_bounding_box(make_pose(POINTS, scores).keypoints)
    assert box == BoundingBox(min_x=10.0, min_y=20.0, max_x=58.0, max_y=100.0)
    assert get_bounding_box_points(make_pose(POINTS).keypoints) == [
        Position(10.0, 20.0),
        Position(58.0, 20.0),
        Position(58.0, 100.0),
        Position(10.0, 100.0),
    ]


def test_bounding_box_of_nothing_is_inverted_infinity() -> None:
    assert get_bounding_box([]) == BoundingBox(math.inf, math.inf, -math.inf, -math.inf)
    assert get_bounding_box_points([])[0] == Position(math.inf, math.inf)


def test_bounding_box_propagates_nan_like_math_min_max() -> None:
    points = list(POINTS)
    points[3] = (math.nan, 50.0)
    box = get_bounding_box(make_pose(points).keypoints)
    assert math.isnan(box.min_x) and math.isnan(box.max_x)
    assert (box.min_y, box.max_y) == (20.0, 100.0)


# ---------------------------------------------------------------------------------------
# Scaling and flipping


def test_scale_pose_takes_y_before_x() -> None:
    pose = make_pose(POINTS, score=0.3)
    scaled = scale_pose(pose, 2.0, 0.5, 1.0, -4.0)
    assert scaled.score == 0.3
    for old, new in zip(pose.keypoints, scaled.keypoints):
        assert (new.part, new.score) == (old.part, old.score)
        assert new.position == Position(old.position.x * 0.5 - 4.0, old.position.y * 2.0 + 1.0)


def test_scale_poses_without_change_returns_the_same_poses() -> None:
    poses_in = [make_pose(POINTS), make_pose(POINTS[::-1])]
    out = scale_poses(poses_in, 1, 1.0, 0, 0.0)
    assert all(a is b for a, b in zip(out, poses_in)) and len(out) == 2
    assert scale_poses(poses_in, 1, 1, 0, 1)[0] is not poses_in[0]


def test_flip_mirrors_x_and_keeps_labels() -> None:
    points = list(POINTS)
    points[1] = (80.25, 12.0)
    flipped = flip_pose_horizontal(make_pose(points), 257)
    assert flipped[1].part == "leftEye"
    assert flipped[1].position == Position(175.75, 12.0)  # 257 - 1 - 80.25


def test_flip_is_skipped_for_a_non_positive_width() -> None:
    poses_in = [make_pose(POINTS)]
    assert flip_poses_horizontal(poses_in, 0)[0] is poses_in[0]
    assert flip_poses_horizontal(poses_in, -3)[0] is poses_in[0]
    assert flip_poses_horizontal(poses_in, 1)[0].keypoints[0].position.x == -10.0


@given(poses, st.integers(1, 4000))
def test_flipping_twice_is_the_identity(pose: Pose, width: int) -> None:
    # Exact up to the rounding of w - 1 - x, hence the tiny tolerance.
    twice = flip_pose_horizontal(flip_pose_horizontal(pose, width), width)
    for a, b in zip(pose.keypoints, twice.keypoints):
        assert (a.part, a.score, a.position.y) == (b.part, b.score, b.position.y)
        assert math.isclose(a.position.x, b.position.x, rel_tol=0, abs_tol=1e-9 * (abs(a.position.x) + width))


@given(poses)
def test_scaling_keeps_parts_scores_and_order(pose: Pose) -> None:
    scaled = scale_pose(pose, 1.7, 0.3, -2.0, 5.0)
    assert [(k.part, k.score) for k in scaled.keypoints] == [(k.part, k.score) for k in pose.keypoints]
    assert scaled.score == pose.score


# ---------------------------------------------------------------------------------------
# Mapping back to the image


def test_scale_and_flip_uses_padded_size_over_resolution_and_subtracts_padding() -> None:
    # A 480x641 image into 257x257: top = bottom = 81 (spec §3.3).
    pose = make_pose(POINTS)
    padding = Padding(top=81, bottom=81, left=0, right=0)
    (out,) = scale_and_flip_poses([pose], (480, 641), (257, 257), padding, False)
    scale_y, scale_x = (480 + 162) / 257, 641 / 257
    for old, new in zip(pose.keypoints, out.keypoints):
        assert new.position == Position(old.position.x * scale_x - 0, old.position.y * scale_y - 81)

    (flipped,) = scale_and_flip_poses([pose], (480, 641), (257, 257), padding, True)
    for plain, mirrored in zip(out.keypoints, flipped.keypoints):
        assert mirrored.position == Position(641 - 1 - plain.position.x, plain.position.y)
        assert mirrored.part == plain.part


def test_scale_and_flip_with_horizontal_padding_and_a_non_square_input() -> None:
    pose = make_pose(POINTS)
    padding = Padding(top=0, bottom=0, left=44, right=44)
    (out,) = scale_and_flip_poses([pose], (100, 50), (257, 353), padding, False)
    for old, new in zip(pose.keypoints, out.keypoints):
        assert new.position == Position(old.position.x * (138 / 353) - 44, old.position.y * (100 / 257))


def test_scale_and_flip_of_an_image_at_the_input_resolution_is_a_no_op() -> None:
    poses_in = [make_pose(POINTS)]
    out = scale_and_flip_poses(poses_in, (257, 257), (257, 257), Padding(0, 0, 0, 0), False)
    assert out[0] is poses_in[0]


def test_empty_image_maps_everything_to_the_origin_and_skips_the_flip() -> None:
    (out,) = scale_and_flip_poses([make_pose(POINTS)], (0, 0), (257, 257), Padding(0, 0, 0, 0), True)
    assert {(k.position.x, k.position.y) for k in out.keypoints} == {(0.0, 0.0)}


def test_padding_and_box_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Padding(1, 2, 3, 4).top = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        BoundingBox(0, 0, 1, 1).max_x = 2  # type: ignore[misc]
