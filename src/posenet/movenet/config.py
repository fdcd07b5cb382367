"""MoveNet configuration: pose-detection 2.1.3's ``MoveNetModelConfig`` as a frozen dataclass.

Defaults and validation messages follow ``movenet/detector_utils.ts`` and
``calculators/tracker_utils.ts``; the model file (``movenet-<type>.json`` + ``.bin``) comes
from ``model_url``, else ``$POSENET_MOVENET_DIR``, the user cache or a checksum-verified
download (:func:`posenet.checkpoints.resolve_graph_model`; the reference's TF Hub URLs are
not fetched).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checkpoints import FAMILY_DIR_ENV, resolve_graph_model

MODEL_TYPES: dict[str, str] = {
    "lightning": "SinglePose.Lightning",
    "thunder": "SinglePose.Thunder",
    "multipose": "MultiPose.Lightning",
}
"""Short model types and the reference's ``modelType`` names."""

INPUT_RESOLUTION: dict[str, int] = {"lightning": 192, "thunder": 256}
"""Fixed square input side (pixels) of the single-pose models."""

DEFAULT_MIN_POSE_SCORE = 0.25
DEFAULT_MULTIPOSE_MAX_DIMENSION = 256
TRACKER_TYPES: tuple[str, ...] = ("boundingBox", "keypoint")
KEYPOINT_FALLOFF: tuple[float, ...] = (0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062,
                                       0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089)
"""The keypoint tracker's per-keypoint OKS falloff (COCO sigmas), in keypoint order."""

MOVENET_DIR_ENV = FAMILY_DIR_ENV["movenet"]


@dataclass(frozen=True)
class TrackerConfig:
    """The reference's ``TrackerConfig``. ``max_age`` in milliseconds; ``min_similarity`` the
    least IoU (box tracker) or OKS (keypoint tracker) that links a pose to a track. The
    keypoint fields only matter to the keypoint tracker."""

    max_tracks: int = 18
    max_age: float = 1000.0
    min_similarity: float = 0.15
    keypoint_confidence_threshold: float = 0.3
    keypoint_falloff: tuple[float, ...] = KEYPOINT_FALLOFF
    min_number_of_keypoints: int = 4

    def __post_init__(self) -> None:
        if self.max_tracks < 1:
            raise ValueError(f"Must specify 'maxTracks' to be at least 1, but encountered {self.max_tracks}")
        if self.max_age <= 0:
            raise ValueError(f"Must specify 'maxAge' to be positive, but encountered {self.max_age}")
        if not 0 <= self.keypoint_confidence_threshold <= 1:
            raise ValueError("Must specify 'keypointConfidenceThreshold' to be in the range [0, 1], but encountered "
                             f"{self.keypoint_confidence_threshold}")
        if self.min_number_of_keypoints < 1:
            raise ValueError("Must specify 'minNumberOfKeypoints' to be at least 1, but encountered "
                             f"{self.min_number_of_keypoints}")
        for falloff in self.keypoint_falloff:
            if falloff <= 0.0:
                raise ValueError("Must specify each keypoint falloff parameterto be positive "
                                 f"but encountered {falloff}")


DEFAULT_BOUNDING_BOX_TRACKER = TrackerConfig(min_similarity=0.15)
DEFAULT_KEYPOINT_TRACKER = TrackerConfig(min_similarity=0.2)


@dataclass(frozen=True)
class MoveNetConfig:
    """Which MoveNet to load and how it runs (``posenet.create_detector("movenet-lightning")``).

    ``model_type``: ``"lightning"``, ``"thunder"``, ``"multipose"`` or the reference's names
    (``"SinglePose.Lightning"``, ...). ``min_pose_score=None`` (or 0, as the reference reads
    it) means 0.25. ``multi_pose_max_dimension``: the multi-pose input's longer side in
    pixels. ``enable_tracking=None``: on for multipose. ``tracker_config=None``: the
    reference's default for ``tracker_type``. ``engine``/``num_threads``: ONNX Runtime.
    """

    model_type: str = "lightning"
    model_url: str | None = None
    engine: str = "auto"
    num_threads: int | None = None
    enable_smoothing: bool = True
    min_pose_score: float | None = None
    multi_pose_max_dimension: int | None = None
    enable_tracking: bool | None = None
    tracker_type: str = "boundingBox"
    tracker_config: TrackerConfig | None = field(default=None)

    def __post_init__(self) -> None:
        names = {v: k for k, v in MODEL_TYPES.items()}
        kind = names.get(self.model_type, self.model_type)
        if kind not in MODEL_TYPES:
            raise ValueError(f"Invalid architecture {self.model_type}. "
                             f"Should be one of {','.join(MODEL_TYPES.values())}")
        object.__setattr__(self, "model_type", kind)
        if self.engine not in ("auto", "onnxruntime"):
            raise ValueError(f"Invalid engine {self.engine!r}. MoveNet runs on: auto, onnxruntime.")
        threads = self.num_threads
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"Invalid num_threads {threads!r}. Should be a positive integer or None.")
        if not isinstance(self.enable_smoothing, bool):
            raise ValueError(f"Invalid enableSmoothing {self.enable_smoothing!r}. Should be true or false")
        if self.min_pose_score is not None and not 0.0 <= self.min_pose_score <= 1.0:
            raise ValueError("minPoseScore should be between 0.0 and 1.0")
        dim = self.multi_pose_max_dimension
        if dim is not None and (dim % 32 != 0 or dim < 32):
            raise ValueError("multiPoseMaxDimension must be a multiple of 32 and higher than 0")
        if self.tracker_type not in TRACKER_TYPES:
            raise ValueError(f"Invalid trackerType {self.tracker_type!r}. Should be one of {', '.join(TRACKER_TYPES)}")

    @property
    def reference_model_type(self) -> str:
        """The reference's ``modelType`` name."""
        return MODEL_TYPES[self.model_type]

    @property
    def multi_pose(self) -> bool:
        return self.model_type == "multipose"

    @property
    def pose_score_floor(self) -> float:
        """The effective minimum pose score (the reference treats 0 as unset)."""
        return self.min_pose_score or DEFAULT_MIN_POSE_SCORE

    @property
    def max_dimension(self) -> int:
        """The effective multi-pose input's longer side (pixels)."""
        return self.multi_pose_max_dimension or DEFAULT_MULTIPOSE_MAX_DIMENSION

    @property
    def tracking(self) -> bool:
        """Whether multi-pose results get track ids."""
        return self.multi_pose and (self.enable_tracking is None or self.enable_tracking)

    @property
    def tracker(self) -> TrackerConfig:
        """The tracker configuration in effect."""
        if self.tracker_config is not None:
            return self.tracker_config
        return DEFAULT_KEYPOINT_TRACKER if self.tracker_type == "keypoint" else DEFAULT_BOUNDING_BOX_TRACKER

    @property
    def model_name(self) -> str:
        """The name of the model file set (``posenet models list --family movenet``)."""
        return f"movenet-{self.model_type}"

    def model_path(self) -> str:
        """The model JSON to load: ``model_url`` (a folder: its ``movenet-<type>.json``), else
        ``movenet-<type>.json`` from ``$POSENET_MOVENET_DIR``, the user cache, or downloaded
        into the cache (checked against its published sha256). The error when none works says
        what to set or run."""
        return resolve_graph_model(self.model_name, self.model_url)


@dataclass(frozen=True)
class LightningConfig(MoveNetConfig):
    """:class:`MoveNetConfig` of the ``movenet-lightning`` family."""

    model_type: str = "lightning"


@dataclass(frozen=True)
class ThunderConfig(MoveNetConfig):
    """:class:`MoveNetConfig` of the ``movenet-thunder`` family."""

    model_type: str = "thunder"


@dataclass(frozen=True)
class MultiPoseConfig(MoveNetConfig):
    """:class:`MoveNetConfig` of the ``movenet-multipose`` family."""

    model_type: str = "multipose"


FAMILY_CONFIGS: dict[str, type[MoveNetConfig]] = {
    "lightning": LightningConfig, "thunder": ThunderConfig, "multipose": MultiPoseConfig,
}
"""The configuration type of each MoveNet family (``movenet-<type>``): ``config_type()`` alone names the model."""
