"""``MoveNetPose``: a :class:`posenet.Pose` with pose-detection's extras (box, track id) and JSON shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..pose import Pose
from ..serialize import finite
from .box import Box


@dataclass(frozen=True, slots=True)
class MoveNetPose(Pose):
    """A MoveNet pose: keypoints in image pixels (``part`` = pose-detection's snake_case name,
    e.g. ``"left_eye"``), ``box`` (multi-pose) and ``id`` (multi-pose tracking) when known."""

    box: Box | None = None
    id: int | None = None

    def with_xy(self, xy: np.ndarray) -> MoveNetPose:
        """The same pose (scores, parts, box, id) with positions from ``xy`` ``[K, 2]`` (x, y)."""
        moved = Pose.with_xy(self, xy)
        return MoveNetPose(moved.score, moved.keypoints, self.box, self.id)

    def to_json(self, track_id: int | None = None) -> dict[str, Any]:
        """pose-detection's pose shape ``{score, box?, id?, keypoints: [{x, y, score, name}]}``
        (non-finite numbers as null); ``"track_id"`` first when given, as for every pose."""
        out: dict[str, Any] = {} if track_id is None else {"track_id": int(track_id)}
        out["score"] = finite(self.score)
        if self.box is not None:
            out["box"] = self.box.to_json()
        if self.id is not None:
            out["id"] = int(self.id)
        out["keypoints"] = [{"x": finite(k.position.x), "y": finite(k.position.y), "score": finite(k.score),
                             "name": k.part} for k in self.keypoints]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Same as :meth:`to_json`."""
        return self.to_json()
