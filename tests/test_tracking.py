"""OKS and PoseTracker: synthetic motion, then real poses from a photo moved across frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import posenet
from posenet import PART_NAMES, Keypoint, Pose, Position
from posenet.tracking import COCO_SIGMAS, PoseTracker, TrackedPose, oks_matrix


def person(x: float, y: float, size: float = 100.0, score: float = 0.9) -> Pose:
    """A stick figure of 17 keypoints spread over a size x 2*size box at (x, y)."""
    rng = np.random.default_rng(0)
    offsets = rng.uniform(0, 1, (17, 2)) * [size, 2 * size]
    return Pose(
        score=score,
        keypoints=tuple(
            Keypoint(part, score, Position(x + dx, y + dy)) for part, (dx, dy) in zip(PART_NAMES, offsets)
        ),
    )


def moved(pose: Pose, dx: float, dy: float = 0.0) -> Pose:
    return Pose(
        pose.score,
        tuple(Keypoint(k.part, k.score, Position(k.position.x + dx, k.position.y + dy)) for k in pose.keypoints),
    )


def test_oks_identical_far_and_between():
    a, b = person(0, 0), person(1000, 0)
    m = oks_matrix([a, b], [a, moved(a, 5), b])
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1.0)
    assert 0.0 < m[0, 1] < 1.0
    assert m[0, 2] == pytest.approx(0.0, abs=1e-12)
    assert m[1, 2] == pytest.approx(1.0)
    assert np.allclose(oks_matrix([a], [moved(a, 5)]), oks_matrix([moved(a, 5)], [a]))


def test_oks_follows_the_coco_formula():
    a = person(0, 0, size=100)
    b = moved(a, 3.0, 4.0)  # every keypoint 5 px away
    xy = np.array([(k.position.x, k.position.y) for k in a.keypoints])
    area = np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])
    expected = np.mean(np.exp(-25.0 / (2 * area * (2 * COCO_SIGMAS) ** 2)))
    assert oks_matrix([a], [b])[0, 0] == pytest.approx(expected)


def test_oks_ignores_unconfident_keypoints():
    a = person(0, 0)
    kps = list(a.keypoints)
    kps[0] = Keypoint("nose", 0.01, Position(5000, 5000))  # wild but unconfident
    assert oks_matrix([a], [Pose(a.score, tuple(kps))], min_keypoint_score=0.1)[0, 0] == pytest.approx(1.0)
    nobody = Pose(0.0, tuple(Keypoint(k.part, 0.0, k.position) for k in a.keypoints))
    assert oks_matrix([a], [nobody])[0, 0] == 0.0


def test_ids_follow_people_whatever_the_order():
    tracker = PoseTracker()
    a, b = person(0, 0), person(400, 0)
    first = tracker.update([a, b])
    assert [t.track_id for t in first] == [1, 2]
    for step in range(1, 20):
        pa, pb = moved(a, 4 * step), moved(b, -3 * step, 2 * step)
        frame = [pb, pa] if step % 2 else [pa, pb]
        ids = {t.pose: t.track_id for t in tracker.update(frame)}
        assert ids[pa] == 1 and ids[pb] == 2


def test_lost_tracks_come_back_within_max_age_and_ids_are_never_reused():
    tracker = PoseTracker(max_age=3)
    a, b = person(0, 0), person(500, 0)
    tracker.update([a, b])
    for _ in range(3):
        assert [t.track_id for t in tracker.update([a])] == [1]
    assert tracker.track_ids == [1, 2]
    assert [t.track_id for t in tracker.update([a, b])] == [1, 2]  # back after 3 missed frames
    for _ in range(4):
        tracker.update([a])
    assert tracker.track_ids == [1]
    assert [t.track_id for t in tracker.update([a, b])] == [1, 3]  # too late: a new id
    assert [t.track_id for t in tracker.update([a, b, person(1000, 0)])] == [1, 3, 4]
    tracker.reset()
    assert [t.track_id for t in tracker.update([b])] == [1]


def test_empty_frames_and_threshold():
    tracker = PoseTracker(oks_threshold=0.9)
    assert tracker.update([]) == []
    a = person(0, 0, size=50)
    tracker.update([a])
    assert tracker.update([moved(a, 30)])[0].track_id == 2  # too dissimilar for 0.9
    with pytest.raises(ValueError):
        PoseTracker(oks_threshold=1.5)


def test_tracked_pose_is_frozen():
    tp = TrackedPose(1, person(0, 0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        tp.track_id = 2  # type: ignore[misc]


def test_real_poses_keep_their_ids(models_dir, photos_dir):
    net = posenet.load()
    poses = [p for p in net.estimate_multiple_poses(photos_dir / "ultralytics__zidane.jpg", score_threshold=0.1,
                                                    nms_radius=30) if p.score >= 0.15]
    assert len(poses) >= 2
    tracker = PoseTracker()
    ids = [t.track_id for t in tracker.update(poses)]
    assert ids == list(range(1, len(poses) + 1))
    for step in range(1, 10):
        frame = [moved(p, 6 * step, -2 * step) for p in poses][::-1]
        assert [t.track_id for t in tracker.update(frame)] == ids[::-1]
