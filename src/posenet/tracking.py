"""Stable person ids across video frames: greedy matching on Object Keypoint Similarity.

OKS follows the COCO keypoint evaluation: ``exp(-d^2 / (2 * area * (2 * sigma)^2))``
averaged over the keypoints confident in both poses, with the COCO per-part sigmas and
``area`` the mean of the two poses' bounding-box areas (pixels^2, boxes over the
confident keypoints).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .pose import Pose

COCO_SIGMAS: np.ndarray = np.array(
    [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89]
) / 10.0
"""COCO keypoint sigmas, in part-id order (the same order as :data:`posenet.PART_NAMES`)."""


@dataclass(frozen=True, slots=True)
class TrackedPose:
    """A pose with the id of the person it belongs to (a positive integer, stable across frames)."""

    track_id: int
    pose: Pose


def _box_areas(xy: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """Bounding-box area of each pose over its confident keypoints (all of them if none is)."""
    areas = np.empty(len(xy))
    for i, (points, mask) in enumerate(zip(xy, confident, strict=True)):
        pts = points[mask] if mask.any() else points
        extent = pts.max(axis=0) - pts.min(axis=0)
        areas[i] = extent[0] * extent[1]
    return areas


def oks_matrix(a: Sequence[Pose], b: Sequence[Pose], min_keypoint_score: float = 0.1) -> np.ndarray:
    """OKS between every pose of ``a`` and every pose of ``b``: ``[len(a), len(b)]`` in [0, 1].

    Only keypoints with score >= ``min_keypoint_score`` in both poses count; a pair with
    no such keypoint scores 0.
    """
    if not a or not b:
        return np.zeros((len(a), len(b)))
    xy_a, s_a = np.stack([p.xy for p in a]), np.stack([p.scores for p in a])  # [A, 17, 2], [A, 17]
    xy_b, s_b = np.stack([p.xy for p in b]), np.stack([p.scores for p in b])
    conf_a, conf_b = s_a >= min_keypoint_score, s_b >= min_keypoint_score
    area = (_box_areas(xy_a, conf_a)[:, None] + _box_areas(xy_b, conf_b)[None, :]) / 2.0
    area = np.maximum(area, 1.0)  # a degenerate box (one keypoint) would divide by zero
    d2 = ((xy_a[:, None] - xy_b[None, :]) ** 2).sum(axis=-1)  # [A, B, 17]
    e = np.exp(-d2 / (2.0 * area[..., None] * (2.0 * COCO_SIGMAS) ** 2))
    both = conf_a[:, None] & conf_b[None, :]
    count = both.sum(axis=-1)
    return np.where(count > 0, (e * both).sum(axis=-1) / np.maximum(count, 1), 0.0)


@dataclass
class _Track:
    track_id: int
    pose: Pose
    age: int  # updates since last matched


class PoseTracker:
    """Gives each person a stable integer id across frames.

    Each :meth:`update` matches the frame's poses to the live tracks greedily, most
    similar pair first, accepting pairs with OKS >= ``oks_threshold``. Unmatched poses
    start new tracks (ids 1, 2, 3, ... never reused); a track unmatched for more than
    ``max_age`` consecutive updates is dropped. Works on any frame stream: call
    :meth:`update` once per frame, also with an empty list when nobody is seen.

    Example::

        tracker = PoseTracker()
        for frame in frames:
            for tp in tracker.update(net.estimate_multiple_poses(frame)):
                print(tp.track_id, tp.pose.score)
    """

    def __init__(self, oks_threshold: float = 0.2, max_age: int = 30, min_keypoint_score: float = 0.1) -> None:
        if not 0.0 <= oks_threshold <= 1.0:
            raise ValueError(f"oks_threshold must be in [0, 1], got {oks_threshold}")
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0 frames, got {max_age}")
        self.oks_threshold = oks_threshold
        self.max_age = max_age
        self.min_keypoint_score = min_keypoint_score
        self._tracks: list[_Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Drop every track; ids restart at 1."""
        self._tracks.clear()
        self._next_id = 1

    @property
    def track_ids(self) -> list[int]:
        """Ids of the live tracks (matched within the last ``max_age`` updates)."""
        return [t.track_id for t in self._tracks]

    def update(self, poses: Sequence[Pose]) -> list[TrackedPose]:
        """Assign ids to one frame's poses; the result is in the order of ``poses``."""
        sim = oks_matrix([t.pose for t in self._tracks], poses, self.min_keypoint_score)
        assigned: list[_Track | None] = [None] * len(poses)
        matched_tracks: set[int] = set()
        order = np.argsort(-sim, axis=None, kind="stable")
        for flat in order:
            ti, pi = divmod(int(flat), len(poses))
            if sim[ti, pi] < self.oks_threshold:
                break
            if ti in matched_tracks or assigned[pi] is not None:
                continue
            matched_tracks.add(ti)
            assigned[pi] = self._tracks[ti]
        for ti, track in enumerate(self._tracks):
            track.age = 0 if ti in matched_tracks else track.age + 1
        self._tracks = [t for t in self._tracks if t.age <= self.max_age]
        result = []
        for pose, match in zip(poses, assigned, strict=True):
            if match is None:
                match = _Track(self._next_id, pose, 0)
                self._next_id += 1
                self._tracks.append(match)
            match.pose = pose
            result.append(TrackedPose(match.track_id, pose))
        return result
