"""BlazePose configuration: pose-detection 2.1.3's ``BlazePoseTfjsModelConfig`` as a frozen dataclass.

Defaults follow ``blazepose_tfjs/constants.ts`` (``DEFAULT_BLAZEPOSE_MODEL_CONFIG``: model type
``full``, smoothing on, segmentation off, segmentation smoothing on) and the model-type check of
``blazepose_tfjs/detector.ts``. The model files come from ``detector_model_url`` /
``landmark_model_url`` or ``$POSENET_BLAZEPOSE_DIR/blazepose-detector.json`` and
``blazepose-<type>.json`` (there is no download route: the reference's TF Hub URLs are not fetched).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
        """The (detector, landmark) model JSONs to load: the urls, else
        ``$POSENET_BLAZEPOSE_DIR/blazepose-detector.json`` and ``blazepose-<type>.json``."""
        landmark_file = f"blazepose-{self.model_type}.json"
        if self.detector_model_url and self.landmark_model_url:
            return self.detector_model_url, self.landmark_model_url
        folder = os.environ.get(BLAZEPOSE_DIR_ENV)
        if not folder:
            raise ValueError(f"no BlazePose model files: pass detector_model_url and landmark_model_url or set "
                             f"{BLAZEPOSE_DIR_ENV} to a folder holding {DETECTOR_FILE} and {landmark_file} "
                             "(there is no download route)")
        base = Path(folder).expanduser()
        return (self.detector_model_url or str(base / DETECTOR_FILE),
                self.landmark_model_url or str(base / landmark_file))


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
