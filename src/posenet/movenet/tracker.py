"""Multi-pose tracking (``calculators/tracker.ts``, ``bounding_box_tracker.ts``,
``keypoint_tracker.ts``): each pose gets the id of the most similar recent track.

Timestamps are microseconds (``nan``: JavaScript's ``undefined``, which drops every old
track, so still images get fresh ids each call, as in the reference). Boxes and keypoints
are normalised to the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import TrackerConfig
from .raw import RawPose


@dataclass
class Track:
    """A track: its id, when it was last seen (microseconds), the pose it was last linked to."""

    id: int
    last_timestamp: float
    pose: RawPose


class Tracker:
    """Greedy assignment of poses (in order) to tracks by a similarity in [0, 1]."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self.max_age = config.max_age * 1000  # milliseconds to microseconds
        self.next_id = 1

    def similarity(self, pose: RawPose, track: Track) -> float:
        raise NotImplementedError

    def apply(self, poses: list[RawPose], timestamp: float) -> list[RawPose]:
        """Set ``pose.id`` on every pose (in place); returns ``poses``."""
        self.tracks = [t for t in self.tracks if timestamp - t.last_timestamp <= self.max_age]
        unmatched = list(range(len(self.tracks)))
        new_poses: list[int] = []
        for index, pose in enumerate(poses):
            best, best_sim = -1, -1.0
            for track_index in unmatched:
                sim = self.similarity(pose, self.tracks[track_index])
                if sim >= self.config.min_similarity and sim > best_sim:
                    best, best_sim = track_index, sim
            if best >= 0:
                track = self.tracks[best]
                track.last_timestamp, track.pose = timestamp, _copy(pose)
                pose.id = track.id
                unmatched.remove(best)
            else:
                new_poses.append(index)
        for index in new_poses:
            track = Track(self.next_id, timestamp, _copy(poses[index]))
            self.next_id += 1
            self.tracks.append(track)
            poses[index].id = track.id
        if not any(math.isnan(t.last_timestamp) for t in self.tracks):
            self.tracks.sort(key=lambda t: -t.last_timestamp)  # stable, newest first
        self.tracks = self.tracks[: self.config.max_tracks]
        return poses

    def track_ids(self) -> set[int]:
        return {t.id for t in self.tracks}

    def reset(self) -> None:
        self.tracks = []


def _copy(pose: RawPose) -> RawPose:
    box = pose.box
    return RawPose(list(pose.ys), list(pose.xs), list(pose.scores), pose.score, box, pose.id)


class BoundingBoxTracker(Tracker):
    """Similarity: the IoU of the pose's and the track's boxes."""

    def similarity(self, pose: RawPose, track: Track) -> float:
        a, b = pose.box, track.pose.box
        if a is None or b is None:
            return 0.0
        x_min, y_min = max(a.x_min, b.x_min), max(a.y_min, b.y_min)
        x_max, y_max = min(a.x_max, b.x_max), min(a.y_max, b.y_max)
        if x_min >= x_max or y_min >= y_max:
            return 0.0
        intersection = (x_max - x_min) * (y_max - y_min)
        return intersection / (a.width * a.height + b.width * b.height - intersection)


class KeypointTracker(Tracker):
    """Similarity: OKS over the keypoints both poses are confident of (0 below
    ``min_number_of_keypoints``), the track's keypoint box as the area."""

    def similarity(self, pose: RawPose, track: Track) -> float:
        cfg = self.config
        area = _area(track.pose, cfg.keypoint_confidence_threshold) + 1e-6
        total, valid = 0.0, 0
        old = track.pose
        for i in range(len(pose.scores)):
            if pose.scores[i] < cfg.keypoint_confidence_threshold or old.scores[i] < cfg.keypoint_confidence_threshold:
                continue
            valid += 1
            d_squared = (pose.xs[i] - old.xs[i]) ** 2 + (pose.ys[i] - old.ys[i]) ** 2
            x = 2 * cfg.keypoint_falloff[i]
            total += math.exp(-1 * d_squared / (2 * area * x ** 2))
        return 0.0 if valid < cfg.min_number_of_keypoints else total / valid


def _area(pose: RawPose, threshold: float) -> float:
    keep = [i for i, s in enumerate(pose.scores) if s > threshold]
    xs, ys = [pose.xs[i] for i in keep], [pose.ys[i] for i in keep]
    return (max([0.0, *xs]) - min([1.0, *xs])) * (max([0.0, *ys]) - min([1.0, *ys]))


def create_tracker(kind: str, config: TrackerConfig) -> Tracker:
    """A ``"boundingBox"`` or ``"keypoint"`` tracker."""
    return KeypointTracker(config) if kind == "keypoint" else BoundingBoxTracker(config)
