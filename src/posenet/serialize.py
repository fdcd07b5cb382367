"""Results as JSON: poses, per-image and per-frame records, COCO results.

Every writer of the package (the CLI, the server, evaluation, batch jobs) goes through
these functions, so a pose has one JSON shape everywhere. Non-finite numbers (NaN, inf)
become ``null``: the output is always valid JSON.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .pose import Pose

PERSON_CATEGORY_ID = 1
"""COCO's category id of a person."""

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)
"""COCO's 17 person keypoints, in COCO order."""


def _name_key(name: str) -> str:
    """``leftEye``, ``left_eye`` and ``LEFT_EYE`` name the same keypoint."""
    return name.replace("_", "").lower()


_COCO_KEYS = tuple(_name_key(n) for n in COCO_KEYPOINT_NAMES)


@functools.lru_cache(maxsize=32)
def coco_keypoint_indices(names: tuple[str, ...]) -> tuple[int, ...]:
    """Where COCO's 17 keypoints are among a model's keypoint ``names`` (in COCO order):
    ``range(17)`` for PoseNet and MoveNet, a subset of the 33 for BlazePose. ``ValueError``
    names the COCO keypoints a model lacks."""
    where = {_name_key(n): i for i, n in enumerate(names)}
    missing = [n for n, k in zip(COCO_KEYPOINT_NAMES, _COCO_KEYS, strict=True) if k not in where]
    if missing:
        raise ValueError(f"the model's keypoints lack COCO's {', '.join(missing)}: it cannot be scored on COCO")
    return tuple(where[k] for k in _COCO_KEYS)


def finite(value: float) -> float | None:
    """``value`` as a float, or ``None`` when it is NaN or infinite."""
    v = float(value)
    return v if math.isfinite(v) else None


def jsonable(value: Any) -> Any:
    """``value`` with every float made finite-or-null, numpy scalars made Python ones,
    tuples made lists and other objects made text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    return str(value)


def pose_to_json(pose: Pose, track_id: int | None = None) -> dict[str, Any]:
    """The reference's pose shape ``{"score", "keypoints": [{"score", "part", "position":
    {"x", "y"}}]}``, non-finite numbers as null; ``"track_id"`` first when given. A pose type
    with its own shape (``MoveNetPose``) provides ``to_json(track_id)``, used instead."""
    hook = getattr(pose, "to_json", None)
    if callable(hook):
        result: dict[str, Any] = hook(track_id)
        return result
    out: dict[str, Any] = {} if track_id is None else {"track_id": int(track_id)}
    out["score"] = finite(pose.score)
    out["keypoints"] = [
        {"score": finite(k.score), "part": k.part, "position": {"x": finite(k.position.x), "y": finite(k.position.y)}}
        for k in pose.keypoints
    ]
    return out


def poses_to_json(poses: Sequence[Pose], track_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """:func:`pose_to_json` of each pose (with ``track_ids[i]`` for ``poses[i]`` if given)."""
    if track_ids is None:
        return [pose_to_json(p) for p in poses]
    if len(track_ids) != len(poses):
        raise ValueError(f"{len(poses)} poses but {len(track_ids)} track ids")
    return [pose_to_json(p, t) for p, t in zip(poses, track_ids, strict=True)]


def image_record(width: int, height: int, poses: Sequence[Pose]) -> dict[str, Any]:
    """One image's result: ``{"width", "height", "poses"}`` (pixels of the image)."""
    return {"width": int(width), "height": int(height), "poses": poses_to_json(poses)}


def error_record(message: str) -> dict[str, Any]:
    """An item that failed: ``{"error": message}``."""
    return {"error": message}


def frame_record(index: int, time_s: float, poses: Sequence[Pose], track_ids: Sequence[int] | None = None,
                 error: str | None = None) -> dict[str, Any]:
    """One video frame's result: ``{"frame", "time_s", "poses"}`` (+ ``"error"`` when the
    frame could not be decoded); ``time_s`` rounded to microseconds."""
    record: dict[str, Any] = {"frame": int(index), "time_s": round(float(time_s), 6),
                              "poses": poses_to_json(poses, track_ids)}
    if error is not None:
        record["error"] = error
    return record


def coco_results(image_id: int, poses: Sequence[Pose]) -> list[dict[str, Any]]:
    """COCO results-format entries for the poses found in one image: ``keypoints`` a flat
    ``[x1, y1, v1, ...]`` of COCO's 17 keypoints (picked by name from the pose's, see
    :func:`coco_keypoint_indices`) in image pixels, with the keypoint score as ``v``."""
    entries = []
    for pose in poses:
        names = tuple(k.part for k in pose.keypoints)
        picked = [pose.keypoints[i] for i in coco_keypoint_indices(names)]
        entries.append({
            "image_id": int(image_id),
            "category_id": PERSON_CATEGORY_ID,
            "keypoints": [float(v) for k in picked for v in (k.position.x, k.position.y, k.score)],
            "score": float(pose.score),
        })
    return entries


def dumps(obj: Any) -> str:
    """Compact JSON text; raises ``ValueError`` on NaN or inf (pass data through
    :func:`jsonable` or the record functions first)."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))
