"""BlazePose configuration: pose-detection 2.1.3's ``BlazePoseTfjsModelConfig`` as a frozen dataclass.

Defaults follow ``blazepose_tfjs/constants.ts`` (``DEFAULT_BLAZEPOSE_MODEL_CONFIG``: model type
``full``, smoothing on, segmentation off, segmentation smoothing on) and the model-type check of
``blazepose_tfjs/detector.ts``. The model files come from ``detector_model_url`` /
``landmark_model_url``, else through :func:`posenet.checkpoints.resolve_graph_model`
(``$POSENET_BLAZEPOSE_DIR``, the cache, a checksum-verified download; see docs/models.md).
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL_TYPES: tuple[str, ...] = ("lite", "full", "heavy")
"""The landmark models, lightest first."""

DEFAULT_MODEL_TYPE = "full"
BLAZEPOSE_DIR_ENV = "POSENET_BLAZEPOSE_DIR"
DETECTOR_FILE = "blazepose-detector.json"


@dataclass(frozen=True)
class BlazePoseConfig:
    """Which BlazePose to load and how it runs (``posenet.create_detector("blazepose-full")``).

    ``model_type``: ``"lite"``, ``"full"`` or ``"heavy"`` (the landmark model; the person detector
    is shared). ``enable_smoothing``: filter landmarks over the timestamps of a stream.
    ``enable_segmentation``: compute the person mask; ``smooth_segmentation``: blend it with the
    previous frame's. ``engine``/``num_threads``: ONNX Runtime.
    """

    model_type: str = DEFAULT_MODEL_TYPE
    enable_smoothing: bool = True
    enable_segmentation: bool = False
    smooth_segmentation: bool = True
    detector_model_url: str | None = None
    landmark_model_url: str | None = None
    engine: str = "auto"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"Model type must be one of lite, full or heavy,but got {self.model_type}")
        flags = (("enableSmoothing", self.enable_smoothing), ("enableSegmentation", self.enable_segmentation),
                 ("smoothSegmentation", self.smooth_segmentation))
        for name, value in flags:
            if not isinstance(value, bool):
                raise ValueError(f"Invalid {name} {value!r}. Should be true or false")
        if self.engine not in ("auto", "onnxruntime"):
            raise ValueError(f"Invalid engine {self.engine!r}. BlazePose runs on: auto, onnxruntime.")
        threads = self.num_threads
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"Invalid num_threads {threads!r}. Should be a positive integer or None.")

    def model_paths(self) -> tuple[str, str]:
        """The (detector, landmark) model JSONs to load: each url if given, else the named model
        (``blazepose-detector``, ``blazepose-<type>``) found by
        :func:`posenet.checkpoints.resolve_graph_model` (folder setting, cache, download)."""
        from ..checkpoints import resolve_graph_model

        return (resolve_graph_model("blazepose-detector", self.detector_model_url),
                resolve_graph_model(f"blazepose-{self.model_type}", self.landmark_model_url))


@dataclass(frozen=True)
class LiteConfig(BlazePoseConfig):
    """:class:`BlazePoseConfig` of the ``blazepose-lite`` family."""

    model_type: str = "lite"


@dataclass(frozen=True)
class FullConfig(BlazePoseConfig):
    """:class:`BlazePoseConfig` of the ``blazepose-full`` family."""

    model_type: str = "full"


@dataclass(frozen=True)
class HeavyConfig(BlazePoseConfig):
    """:class:`BlazePoseConfig` of the ``blazepose-heavy`` family."""

    model_type: str = "heavy"


FAMILY_CONFIGS: dict[str, type[BlazePoseConfig]] = {"lite": LiteConfig, "full": FullConfig, "heavy": HeavyConfig}
"""The configuration type of each BlazePose family (``blazepose-<type>``): ``config_type()`` alone names the model."""
