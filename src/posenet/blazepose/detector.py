"""``BlazePose``: pose-detection 2.1.3's ``BlazePoseTfjsDetector`` (``runtime: 'tfjs'``) on :mod:`posenet.runtime`.

Per frame, as the reference: without a region of interest from the previous frame, the person
detector (224x224 letterboxed, SSD anchors, sigmoid scores, NMS) finds the first person and its
rotated ROI (hip centre, body size and tilt from the detection's keypoints, scaled 1.25, square);
the landmark model sees that ROI through an affine crop (256x256) and gives 39 landmarks (refined
on the heatmap), 33 world landmarks in metres, a pose flag and optionally a segmentation mask.
The landmarks are mapped back to the image, smoothed over the timestamps of a stream (visibility
low-pass, One Euro on image and world coordinates), and the two auxiliary landmarks give the next
frame's ROI. ``estimate`` is stateful (frames of one stream); :meth:`BlazePose.reset` starts a new
one. Keypoints come out in image pixels (pose-detection's frame).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..families import StreamModel
from ..images import ImageInput, to_rgb_array
from ..model import ModelInfo
from ..options import PoseOptions, pose_options
from ..pose import Pose
from ..runtime import load_graph_model
from .config import BlazePoseConfig
from .constants import (
    AUXILIARY_SMOOTHING,
    DETECTOR_INPUT,
    KEYPOINT_NAMES,
    LANDMARK_INPUT,
    LANDMARK_OUTPUTS,
    LANDMARKS_SMOOTHING,
    NMS_IOU_THRESHOLD,
    NUM_AUXILIARY_KEYPOINTS,
    NUM_KEYPOINTS,
    POSE_PRESENCE_SCORE,
    ROI_SCALE,
    SEGMENTATION_OUTPUT,
    SKELETON,
    VISIBILITY_ALPHA,
    WORLD_LANDMARKS_SMOOTHING,
)
from .detection import (
    Detection,
    create_ssd_anchors,
    non_max_suppression,
    remove_detection_letterbox,
    tensors_to_detections,
)
from .filters import KeypointsSmoothingFilter, LowPassVisibilityFilter
from .landmarks import (
    project_landmarks,
    project_world_landmarks,
    refine_from_heatmap,
    remove_landmark_letterbox,
    tensors_to_landmarks,
)
from .pose import BlazePosePose, make_pose
from .rect import Rect, alignment_points_rect, transform_normalized_rect
from .segmentation import mask_to_image, smooth_segmentation
from .warp import image_to_tensor

MAX_POSES = 1


@dataclass
class _Landmarks:
    """One frame's landmark-model result, projected to the image (normalised)."""

    score: float
    landmarks: np.ndarray
    auxiliary: np.ndarray
    world: np.ndarray
    mask: np.ndarray | None


class BlazePose(StreamModel):
    """A loaded BlazePose (:class:`posenet.families.PoseModel`). Not safe to share between threads
    that feed different streams: the ROI, filters and previous mask are per stream."""

    family = "blazepose"

    def __init__(self, config: BlazePoseConfig) -> None:
        self.config = config
        self.detector_path, self.landmark_path = config.model_paths()
        self.detector_model = load_graph_model(self.detector_path, num_threads=config.num_threads)
        self.landmark_model = load_graph_model(self.landmark_path, num_threads=config.num_threads)
        self.anchors = create_ssd_anchors()
        self._lock = threading.RLock()
        # The reference's reset() forgets every filter but this one (it nulls no such field), so neither do we.
        self._world_filter: KeypointsSmoothingFilter | None = None
        self.reset()

    @classmethod
    def from_config(cls, config: BlazePoseConfig) -> BlazePose:
        return cls(config)

    def __repr__(self) -> str:
        return (f"BlazePose({self.config.model_type}, smoothing={self.config.enable_smoothing}, "
                f"segmentation={self.config.enable_segmentation})")

    def info(self) -> ModelInfo:
        """What is loaded; ``input_size`` is the landmark model's input (height, width)."""
        return ModelInfo(
            family=self.family, name=f"blazepose-{self.config.model_type}", keypoint_names=KEYPOINT_NAMES,
            skeleton=SKELETON, input_size=(LANDMARK_INPUT, LANDMARK_INPUT), engine="onnxruntime",
            model_file=Path(self.landmark_path).name,
            details={"model_type": self.config.model_type, "detector_file": Path(self.detector_path).name,
                     "detector_input_size": [DETECTOR_INPUT, DETECTOR_INPUT],
                     "enable_smoothing": self.config.enable_smoothing,
                     "enable_segmentation": self.config.enable_segmentation,
                     "smooth_segmentation": self.config.smooth_segmentation},
        )

    @property
    def region_of_interest(self) -> Rect | None:
        """Where the next frame's landmarks are looked for (normalised, rotated); ``None`` before the
        first frame, after a reset or after a frame without a person (the detector runs then)."""
        return self._roi

    def reset(self) -> None:
        """Forget the stream, as the reference's ``reset()``: ROI, previous mask, visibility and
        landmark filters (not the world-landmark filter, which the reference keeps)."""
        with self._lock:
            self._roi: Rect | None = None
            self._previous_mask: np.ndarray | None = None
            self._visibility: LowPassVisibilityFilter | None = None
            self._visibility_auxiliary: LowPassVisibilityFilter | None = None
            self._landmark_filter: KeypointsSmoothingFilter | None = None
            self._auxiliary_filter: KeypointsSmoothingFilter | None = None

    # -- estimation ----------------------------------------------------------------------------

    def estimate(self, image: ImageInput, options: PoseOptions | str | None = None, *,
                 timestamp_ms: float | None = None, **overrides: Any) -> list[Pose]:
        """The pose (:class:`BlazePosePose`, at most one) in the next frame of the stream
        (``timestamp_ms``: its time in milliseconds; without it nothing is smoothed over time, as in
        the reference for still images; the segmentation mask is blended with the previous one
        either way when ``smooth_segmentation`` is on).

        Of :class:`~posenet.options.PoseOptions` only ``min_pose_score`` (an extra filter) applies;
        ``flip_horizontal`` is accepted and, as in pose-detection 2.1.3's tfjs BlazePose (whose
        ``estimatePoses`` reads only ``maxPoses``), ignored; the rest are PoseNet's and ignored.
        """
        opts = pose_options(options, **overrides)
        rgb = to_rgb_array(image)
        stamp = None if timestamp_ms is None else timestamp_ms * 1000
        with self._lock:
            poses: list[Pose] = list(self._estimate(rgb, stamp))
        return [p for p in poses if p.score >= opts.min_pose_score] if opts.min_pose_score > 0 else poses

    def _estimate(self, rgb: np.ndarray, stamp: float | None) -> list[BlazePosePose]:
        image = rgb  # uint8: the crops gather and convert only the pixels they sample
        size = (int(image.shape[0]), int(image.shape[1]))
        roi = self._roi
        if roi is None:
            detections = self.detect(image)
            if not detections:
                self.reset()
                return []
            points = detections[0].keypoints
            roi = transform_normalized_rect(alignment_points_rect(points, size, 0, 1), size, ROI_SCALE)
        found = self._landmarks_by_roi(roi, image)
        if found is None:
            self.reset()
            return []
        landmarks, auxiliary, world = self._filter(found, size, stamp)
        self._roi = transform_normalized_rect(alignment_points_rect(auxiliary, size, 0, 1), size, ROI_SCALE)
        mask = found.mask
        if mask is not None and self.config.smooth_segmentation:
            mask = self._smooth_mask(mask)
        height, width = size
        pixels = landmarks.copy()
        pixels[:, 0] *= width
        pixels[:, 1] *= height
        pixels[:, 2] *= width
        return [make_pose(found.score, pixels, world, KEYPOINT_NAMES, mask)]

    # -- stages --------------------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> list[Detection]:
        """``detectPose``: the person detections (at most one) in an RGB image (uint8 or float32), normalised."""
        tensor, padding, _ = image_to_tensor(image, (DETECTOR_INPUT, DETECTOR_INPUT), None, (-1.0, 1.0))
        output = np.asarray(self.detector_model.predict(tensor))
        detections = tensors_to_detections(output, self.anchors)
        if not detections:
            return []
        return remove_detection_letterbox(non_max_suppression(detections, MAX_POSES, NMS_IOU_THRESHOLD), padding)

    def _landmarks_by_roi(self, roi: Rect, image: np.ndarray) -> _Landmarks | None:
        size = (int(image.shape[0]), int(image.shape[1]))
        tensor, padding, matrix = image_to_tensor(image, (LANDMARK_INPUT, LANDMARK_INPUT), roi, (0.0, 1.0))
        names = list(LANDMARK_OUTPUTS) + ([SEGMENTATION_OUTPUT] if self.config.enable_segmentation else [])
        out = self.landmark_model.execute(tensor, names)
        score = float(np.asarray(out["output_poseflag"], np.float32).ravel()[0])
        if score < POSE_PRESENCE_SCORE:
            return None
        refined = refine_from_heatmap(tensors_to_landmarks(out["ld_3d"], LANDMARK_INPUT), out["activation_heatmap"])
        landmarks, auxiliary = refined[:NUM_KEYPOINTS], refined[NUM_KEYPOINTS:NUM_AUXILIARY_KEYPOINTS]
        world = tensors_to_landmarks(out["world_3d"], 1)[:NUM_KEYPOINTS]
        world[:, 3] = landmarks[:, 3]
        mask = None
        if self.config.enable_segmentation:
            mask = mask_to_image(np.asarray(out[SEGMENTATION_OUTPUT]), matrix, size)
        return _Landmarks(score, project_landmarks(remove_landmark_letterbox(landmarks, padding), roi),
                          project_landmarks(remove_landmark_letterbox(auxiliary, padding), roi),
                          project_world_landmarks(world, roi), mask)

    def _filter(self, found: _Landmarks, size: tuple[int, int],
                stamp: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``poseLandmarkFiltering``: (landmarks, auxiliary, world) smoothed over time."""
        if stamp is None or not self.config.enable_smoothing:
            return found.landmarks, found.auxiliary, found.world
        scale_rect = alignment_points_rect(found.auxiliary, size, 1, 0)
        scale = (scale_rect.width, scale_rect.height)
        if self._visibility is None:
            self._visibility = LowPassVisibilityFilter(VISIBILITY_ALPHA)
        if self._visibility_auxiliary is None:
            self._visibility_auxiliary = LowPassVisibilityFilter(VISIBILITY_ALPHA)
        landmarks = self._visibility.apply(found.landmarks)
        auxiliary = self._visibility_auxiliary.apply(found.auxiliary)
        self._visibility.apply(found.world)  # the reference runs the world scores through the same filter, unused
        if self._landmark_filter is None:
            self._landmark_filter = KeypointsSmoothingFilter(LANDMARKS_SMOOTHING)
        if self._auxiliary_filter is None:
            self._auxiliary_filter = KeypointsSmoothingFilter(AUXILIARY_SMOOTHING)
        if self._world_filter is None:
            self._world_filter = KeypointsSmoothingFilter(WORLD_LANDMARKS_SMOOTHING)
        landmarks = self._landmark_filter.apply(landmarks, stamp, size, True, scale)
        auxiliary = self._auxiliary_filter.apply(auxiliary, stamp, size, True, scale)
        return landmarks, auxiliary, self._world_filter.apply(found.world, stamp)

    def _smooth_mask(self, mask: np.ndarray) -> np.ndarray:
        previous = self._previous_mask
        if previous is not None and previous.shape != mask.shape:
            raise ValueError(f"segmentation smoothing: the mask is {mask.shape[1]}x{mask.shape[0]}, the previous "
                             f"frame's {previous.shape[1]}x{previous.shape[0]}: reset() between unrelated images")
        self._previous_mask = mask if previous is None else smooth_segmentation(previous, mask)
        return self._previous_mask


