"""``BlazePosePose``: a :class:`posenet.Pose` with BlazePose's extras (per-keypoint depth, 3D
keypoints in metres, segmentation mask) and pose-detection's JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..pose import Keypoint, Pose, Position
from ..serialize import finite


@dataclass(frozen=True, slots=True)
class BlazePoseKeypoint(Keypoint):
    """A keypoint in image pixels with ``z``: depth relative to the hips, in the same pixel scale as x
    (smaller is nearer the camera). As in pose-detection 2.1.3, a smoothed frame (a video frame
    with ``timestamp_ms``, smoothing on) has ``z`` multiplied by the image width once more: divide
    it by the width for the still-image scale. :attr:`BlazePosePose.keypoints3d` has no such quirk."""

    z: float = float("nan")


@dataclass(frozen=True, slots=True)
class Keypoint3D:
    """A world keypoint: metres, origin at the centre of the hips."""

    x: float
    y: float
    z: float
    score: float
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"x": finite(self.x), "y": finite(self.y), "z": finite(self.z), "score": finite(self.score),
                "name": self.name}


@dataclass(frozen=True, slots=True)
class BlazePosePose(Pose):
    """A BlazePose pose: 33 :class:`BlazePoseKeypoint` (``part`` = pose-detection's name, e.g.
    ``"left_heel"``), 33 ``keypoints3d`` and ``segmentation`` (``None``, or float32 ``[H, W]``
    person probabilities in the image's pixels)."""

    keypoints3d: tuple[Keypoint3D, ...] = ()
    segmentation: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def z(self) -> np.ndarray:
        """Keypoint depths as a new float64 array ``[33]``."""
        return np.array([getattr(k, "z", np.nan) for k in self.keypoints], np.float64)

    def with_xy(self, xy: np.ndarray) -> BlazePosePose:
        """The same pose (scores, parts, z, 3D keypoints, mask) with positions from ``xy`` ``[K, 2]``."""
        moved = Pose.with_xy(self, xy)
        keypoints = tuple(BlazePoseKeypoint(k.part, k.score, m.position, getattr(k, "z", np.nan))
                          for k, m in zip(self.keypoints, moved.keypoints, strict=True))
        return BlazePosePose(self.score, keypoints, self.keypoints3d, self.segmentation)

    def to_json(self, track_id: int | None = None) -> dict[str, Any]:
        """pose-detection's pose shape ``{score, keypoints: [{x, y, z, score, name}], keypoints3D: [...]}``
        (non-finite numbers as null; the mask is left out); ``"track_id"`` first when given."""
        out: dict[str, Any] = {} if track_id is None else {"track_id": int(track_id)}
        out["score"] = finite(self.score)
        out["keypoints"] = [{"x": finite(k.position.x), "y": finite(k.position.y), "z": finite(getattr(k, "z", np.nan)),
                             "score": finite(k.score), "name": k.part} for k in self.keypoints]
        out["keypoints3D"] = [k.to_json() for k in self.keypoints3d]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Same as :meth:`to_json`."""
        return self.to_json()


def make_pose(score: float, points: np.ndarray, world: np.ndarray, names: tuple[str, ...],
              segmentation: np.ndarray | None) -> BlazePosePose:
    """A pose from pixel keypoints ``[N, 4]`` and world keypoints ``[N, 4]`` (x, y, z, score)."""
    keypoints = tuple(BlazePoseKeypoint(name, s, Position(x, y), z)
                      for name, (x, y, z, s) in zip(names, points.tolist(), strict=True))
    world3d = tuple(Keypoint3D(x, y, z, s, name) for name, (x, y, z, s) in zip(names, world.tolist(), strict=True))
    return BlazePosePose(float(score), keypoints, world3d, segmentation)
