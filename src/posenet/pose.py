"""Result types: a pose is a score plus 17 keypoints, each with a part, score and position."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .keypoints import PART_NAMES


@dataclass(frozen=True, slots=True)
class Position:
    """A point in pixels: ``x`` to the right, ``y`` down, origin at the top-left pixel."""

    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Keypoint:
    """One body part: its name (see :data:`posenet.PART_NAMES`), its confidence in [0, 1]
    and its position."""

    part: str
    score: float
    position: Position

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "part": self.part,
            "position": {"x": self.position.x, "y": self.position.y},
        }


@dataclass(frozen=True, slots=True)
class Pose:
    """A detected person: ``score`` in [0, 1] and the 17 keypoints in part-id order.

    Positions are in the pixel frame of the image given to the estimator (or of the
    model input for the low-level decoders), never clamped to the image.
    """

    score: float
    keypoints: tuple[Keypoint, ...]

    def __getitem__(self, part: str | int) -> Keypoint:
        """The keypoint of a part, by its name in this pose (``pose["leftWrist"]`` for PoseNet,
        ``pose["left_wrist"]`` for MoveNet and BlazePose) or by index; ``KeyError`` if none."""
        if isinstance(part, int):
            return self.keypoints[part]
        for keypoint in self.keypoints:
            if keypoint.part == part:
                return keypoint
        raise KeyError(part)

    def to_dict(self) -> dict[str, Any]:
        """The reference's JSON shape: ``{"score", "keypoints": [{"score", "part",
        "position": {"x", "y"}}]}``."""
        return {"score": self.score, "keypoints": [k.to_dict() for k in self.keypoints]}

    @property
    def xy(self) -> np.ndarray:
        """Keypoint positions as a new float64 array ``[K, 2]`` of (x, y) pixels."""
        return np.array([(k.position.x, k.position.y) for k in self.keypoints], dtype=np.float64).reshape(-1, 2)

    @property
    def scores(self) -> np.ndarray:
        """Keypoint scores as a new float64 array ``[K]``."""
        return np.array([k.score for k in self.keypoints], dtype=np.float64)

    def with_xy(self, xy: np.ndarray) -> Pose:
        """The same pose (scores, parts) with positions from ``xy`` ``[K, 2]`` (x, y)."""
        points = np.asarray(xy, dtype=np.float64)
        if points.shape != (len(self.keypoints), 2):
            raise ValueError(f"xy must have shape ({len(self.keypoints)}, 2), got {points.shape}")
        return Pose(
            score=self.score,
            keypoints=tuple(Keypoint(k.part, k.score, Position(x, y))
                            for k, (x, y) in zip(self.keypoints, points.tolist(), strict=True)),
        )

    @classmethod
    def from_arrays(cls, score: float, xy: np.ndarray, scores: np.ndarray,
                    parts: Sequence[str] = PART_NAMES) -> Pose:
        """A pose from ``xy`` ``[K, 2]`` (x, y) and ``scores`` ``[K]``, parts in ``parts`` order."""
        points = np.asarray(xy, dtype=np.float64).tolist()
        values = np.asarray(scores, dtype=np.float64).tolist()
        return cls(
            score=float(score),
            keypoints=tuple(Keypoint(name, s, Position(x, y))
                            for name, s, (x, y) in zip(parts, values, points, strict=False)),
        )

    @classmethod
    def from_parts(cls, score: float, ys: Sequence[float], xs: Sequence[float],
                   part_scores: Sequence[float]) -> Pose:
        """A pose from per-part sequences in part-id order (as the decoders produce them)."""
        return cls(
            score=score,
            keypoints=tuple(Keypoint(PART_NAMES[k], part_scores[k], Position(xs[k], ys[k]))
                            for k in range(len(PART_NAMES))),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pose:
        """Inverse of :meth:`to_dict`."""
        return cls(
            score=float(data["score"]),
            keypoints=tuple(
                Keypoint(
                    part=str(k["part"]),
                    score=float(k["score"]),
                    position=Position(float(k["position"]["x"]), float(k["position"]["y"])),
                )
                for k in data["keypoints"]
            ),
        )
