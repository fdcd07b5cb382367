"""``MoveNet``: pose-detection 2.1.3's ``MoveNetDetector`` on :mod:`posenet.runtime`.

Single pose: crop the image (the first frame's centred square, then a square that follows
the torso, smoothed by a low-pass filter), run Lightning (192x192) or Thunder (256x256),
map the keypoints back, One-Euro-smooth them when a timestamp is given. Multi pose: resize
the longer side to ``multi_pose_max_dimension``, pad to multiples of 32, run, drop poses
under the minimum score, track ids and smooth per track. ``estimate`` is stateful (frames of
one stream); :meth:`MoveNet.reset` starts a new stream. Keypoints come out in image pixels
(x right, y down, origin at the top-left corner of the image, pose-detection's frame).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..families import StreamModel
from ..images import ImageInput, to_rgb_array
from ..model import ModelInfo
from ..options import PoseOptions, pose_options
from ..pose import Keypoint, Pose, Position
from ..runtime import load_graph_model
from .box import Box
from .config import INPUT_RESOLUTION, MoveNetConfig
from .crop import MIN_CROP_KEYPOINT_SCORE, init_crop_region, next_crop_region
from .filters import KeypointsOneEuroFilter, LowPassFilter
from .imageops import crop_and_resize, resize_bilinear, to_int32
from .pose import MoveNetPose
from .raw import KEYPOINT_NAMES, SKELETON, RawPose
from .tracker import create_tracker

CROP_FILTER_ALPHA = 0.9
NUM_KEYPOINTS = 17
INSTANCE_SIZE = 56


class MoveNet(StreamModel):
    """A loaded MoveNet (:class:`posenet.families.PoseModel`). Not safe to share between
    threads that feed different streams: the crop, filters and tracker are per stream."""

    family = "movenet"

    def __init__(self, config: MoveNetConfig) -> None:
        self.config = config
        self.model_path = config.model_path()
        self.graph = load_graph_model(self.model_path, num_threads=config.num_threads)
        self._lock = threading.RLock()
        self.reset()

    @classmethod
    def from_config(cls, config: MoveNetConfig) -> MoveNet:
        return cls(config)

    def __repr__(self) -> str:
        return f"MoveNet({self.config.model_type}, smoothing={self.config.enable_smoothing})"

    def info(self) -> ModelInfo:
        """What is loaded; ``input_size`` is the default model input (height, width)."""
        side = INPUT_RESOLUTION.get(self.config.model_type, self.config.max_dimension)
        return ModelInfo(
            family=self.family, name=f"movenet-{self.config.model_type}", keypoint_names=KEYPOINT_NAMES,
            skeleton=SKELETON, input_size=(side, side), engine="onnxruntime",
            model_file=Path(self.model_path).name,
            details={"model_type": self.config.reference_model_type, "enable_smoothing": self.config.enable_smoothing,
                     "min_pose_score": self.config.pose_score_floor, "enable_tracking": self.config.tracking,
                     "tracker_type": self.config.tracker_type if self.config.tracking else None},
        )

    @property
    def crop_region(self) -> tuple[float, float, float, float] | None:
        """Where the next single-pose call crops: ``(y_min, x_min, y_max, x_max)`` normalised to
        the image (may reach outside [0, 1]); ``None`` before the first frame or after a reset."""
        crop = self._crop
        return None if crop is None else (crop.y_min, crop.x_min, crop.y_max, crop.x_max)

    def reset(self) -> None:
        """Forget the stream: crop region, filters and tracks (as the reference's ``reset()``,
        plus the multi-pose tracker, so a new stream starts with id 1)."""
        with self._lock:
            self._crop: Box | None = None
            self._crop_filters = [LowPassFilter(CROP_FILTER_ALPHA) for _ in range(4)]
            self._keypoint_filter = KeypointsOneEuroFilter()
            self._tracker = create_tracker(self.config.tracker_type, self.config.tracker)
            self._track_filters: dict[int, KeypointsOneEuroFilter] = {}

    # -- estimation ----------------------------------------------------------------------------

    def estimate(self, image: ImageInput, options: PoseOptions | str | None = None, *,
                 timestamp_ms: float | None = None, **overrides: Any) -> list[Pose]:
        """The poses (:class:`MoveNetPose`) in the next frame of the stream (``timestamp_ms``: its time in
        milliseconds; without it nothing is smoothed, as in the reference for still images).

        Of :class:`~posenet.options.PoseOptions` only ``min_pose_score`` (an extra filter
        after the model configuration's) applies; ``flip_horizontal`` is accepted and, as in
        pose-detection 2.1.3's MoveNet, ignored; the rest are PoseNet's and ignored.
        """
        opts = pose_options(options, **overrides)
        rgb = to_rgb_array(image)
        stamp = math.nan if timestamp_ms is None else timestamp_ms * 1000
        with self._lock:
            raws = self._multi(rgb, stamp) if self.config.multi_pose else self._single(rgb, stamp)
        height, width = rgb.shape[:2]
        poses: list[Pose] = [_to_pose(raw, width, height) for raw in raws]
        return [p for p in poses if p.score >= opts.min_pose_score] if opts.min_pose_score > 0 else poses

    # -- single pose ---------------------------------------------------------------------------

    def _single(self, rgb: np.ndarray, stamp: float) -> list[RawPose]:
        height, width = rgb.shape[:2]
        if self._crop is None:
            self._crop = init_crop_region(True, width, height)
        crop = self._crop
        side = INPUT_RESOLUTION[self.config.model_type]
        pixels = to_int32(crop_and_resize(rgb, (crop.y_min, crop.x_min, crop.y_max, crop.x_max), (side, side)))
        out = np.asarray(self.graph.predict(pixels[None]))
        if out.shape != (1, 1, NUM_KEYPOINTS, 3):
            raise ValueError(f"Unexpected output shape from model: [{','.join(map(str, out.shape))}]")
        values = out.reshape(NUM_KEYPOINTS, 3).astype(np.float64)
        scores = values[:, 2].tolist()
        score, count = 0.0, 0
        for s in scores:  # in order, as the reference adds them (not math.fsum)
            if s > MIN_CROP_KEYPOINT_SCORE:
                score, count = score + s, count + 1
        score = score / count if count else score
        if score < self.config.pose_score_floor:
            self.reset()
            return []
        ys = [crop.y_min + y * crop.height for y in values[:, 0].tolist()]
        xs = [crop.x_min + x * crop.width for x in values[:, 1].tolist()]
        pose = RawPose(ys, xs, scores, score)
        if not math.isnan(stamp) and self.config.enable_smoothing:
            _smooth(pose, self._keypoint_filter, stamp)
        self._crop = self._filter_crop(next_crop_region(self._crop, pose, width, height))
        return [pose]

    def _filter_crop(self, box: Box) -> Box:
        fy0, fx0, fy1, fx1 = self._crop_filters
        return Box(fy0.apply(box.y_min), fx0.apply(box.x_min), fy1.apply(box.y_max), fx1.apply(box.x_max))

    # -- multi pose ----------------------------------------------------------------------------

    def _multi(self, rgb: np.ndarray, stamp: float) -> list[RawPose]:
        (resized_h, resized_w), (padded_h, padded_w) = multipose_input_size(rgb.shape[1], rgb.shape[0],
                                                                            self.config.max_dimension)
        resized = resize_bilinear(rgb, (resized_h, resized_w))
        padded = np.zeros((padded_h, padded_w, rgb.shape[2]), np.float32)
        padded[:resized_h, :resized_w] = resized
        out = np.asarray(self.graph.predict(to_int32(padded)[None]))
        if out.ndim != 3 or out.shape[0] != 1 or out.shape[2] != INSTANCE_SIZE:
            raise ValueError(f"Unexpected output shape from model: [{','.join(map(str, out.shape))}]")
        poses = [_instance(row) for row in out[0].astype(np.float64)]
        poses = [p for p in poses if p.score >= self.config.pose_score_floor]
        for pose in poses:
            pose.ys = [y * (padded_h / resized_h) for y in pose.ys]
            pose.xs = [x * (padded_w / resized_w) for x in pose.xs]
        if self.config.tracking:
            self._tracker.apply(poses, stamp)
            if self.config.enable_smoothing:
                for pose in poses:
                    assert pose.id is not None
                    _smooth(pose, self._track_filters.setdefault(pose.id, KeypointsOneEuroFilter()), stamp)
                alive = self._tracker.track_ids()
                self._track_filters = {k: v for k, v in self._track_filters.items() if k in alive}
        return poses


def multipose_input_size(width: int, height: int, max_dimension: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """((resized h, w), (padded h, w)) of the multi-pose input for a ``width`` x ``height`` image:
    the longer side ``max_dimension``, the other rounded from the aspect, padded up to a multiple of 32."""
    if width > height:
        resized = (_js_round(max_dimension * height / width), max_dimension)
        return resized, (math.ceil(resized[0] / 32) * 32, resized[1])
    resized = (max_dimension, _js_round(max_dimension * width / height))
    return resized, (resized[0], math.ceil(resized[1] / 32) * 32)


def _js_round(value: float) -> int:
    """JavaScript's ``Math.round`` (halves up)."""
    return math.floor(value + 0.5)


def _instance(row: np.ndarray) -> RawPose:
    values = row.tolist()
    kps = values[: NUM_KEYPOINTS * 3]
    box = Box(values[51], values[52], values[53], values[54])
    return RawPose(kps[0::3], kps[1::3], kps[2::3], values[55], box)


def _smooth(pose: RawPose, keypoint_filter: KeypointsOneEuroFilter, stamp: float) -> None:
    xy = keypoint_filter.apply(list(zip(pose.xs, pose.ys, strict=True)), stamp)
    pose.xs, pose.ys = [p[0] for p in xy], [p[1] for p in xy]


def _to_pose(raw: RawPose, width: int, height: int) -> MoveNetPose:
    """Normalised keypoints to image pixels (the reference's last step)."""
    keypoints = tuple(Keypoint(name, s, Position(x * width, y * height))
                      for name, s, x, y in zip(KEYPOINT_NAMES, raw.scores, raw.xs, raw.ys, strict=True))
    box = raw.box
    return MoveNetPose(raw.score, keypoints, box, raw.id)
