"""The model-family seam: every family of pose models plugs in here.

A family is a name, a configuration type (a frozen dataclass that validates itself) and
a loader that turns a configuration into a :class:`PoseModel`. The command line, the
server and batch jobs only use this interface, so a new family (MoveNet, BlazePose)
needs no change there. The shape follows ``@tensorflow-models/pose-detection``:
``create_detector(model, config)`` then ``estimate(image, options)``.

>>> import posenet
>>> detector = posenet.create_detector("posenet", output_stride=16)   # doctest: +SKIP
>>> detector.estimate("photo.jpg", "camera")                          # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .checkpoints import graph_model, graph_status
from .images import ImageInput
from .model import ModelInfo, PoseNet
from .options import ModelConfig, PoseOptions
from .pose import Pose


@runtime_checkable
class PoseModel(Protocol):
    """What every loaded pose model offers. Results are in the pixels of the image given."""

    family: str
    stateful: bool
    """Whether :meth:`estimate` carries state from one call to the next (a video stream's crop,
    filters, tracks): such a model serves one stream at a time; a stateless one serves many."""

    def info(self) -> ModelInfo:
        """What is loaded (family, checkpoint, keypoint names, skeleton, engine)."""
        ...

    def estimate(self, image: ImageInput, options: PoseOptions | str | None = None, *,
                 timestamp_ms: float | None = None, **overrides: Any) -> list[Pose]:
        """The poses in one image, with options or a preset name. ``timestamp_ms``: the time of
        a video frame (milliseconds); models that follow a stream smooth over it, others ignore it."""
        ...

    def estimate_batch(self, images: Sequence[ImageInput], options: PoseOptions | str | None = None,
                       **overrides: Any) -> list[list[Pose]]:
        """:meth:`estimate` for many images at once (unrelated stills)."""
        ...

    def reset(self) -> None:
        """Forget any state carried from one call to the next (video models follow a
        stream across :meth:`estimate` calls); call it between unrelated images."""
        ...


class StreamModel:
    """What the stream models (MoveNet, BlazePose) share: stateful, guarded by ``self._lock``
    (an ``RLock``), and :meth:`estimate_batch` as still images, each after a :meth:`reset`."""

    stateful = True
    _lock: threading.RLock

    def estimate(self, image: ImageInput, options: PoseOptions | str | None = None, *,
                 timestamp_ms: float | None = None, **overrides: Any) -> list[Pose]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def estimate_batch(self, images: Sequence[ImageInput], options: PoseOptions | str | None = None,
                       **overrides: Any) -> list[list[Pose]]:
        """:meth:`estimate` of unrelated still images: the stream is reset before each one (and after)."""
        results: list[list[Pose]] = []
        with self._lock:
            for image in images:
                self.reset()
                results.append(self.estimate(image, options, **overrides))
            self.reset()
        return results


@dataclass(frozen=True)
class ModelFamily:
    """A family of pose models: ``config_type(**fields)`` validates a configuration and
    ``loader(config)`` loads it."""

    name: str
    description: str
    config_type: type
    loader: Callable[[Any], PoseModel]
    model_files: tuple[str, ...] = ()
    """The named models of :mod:`posenet.checkpoints.graph_models` the family loads (empty for
    PoseNet, whose checkpoints have their own catalogue and are fetched on first use)."""

    def files_on_disk(self) -> bool:
        """Whether every file in :attr:`model_files` is on this machine (nothing is downloaded)."""
        return all(graph_status(graph_model(name)).on_disk for name in self.model_files)


FAMILIES: dict[str, ModelFamily] = {
    "posenet": ModelFamily(
        "posenet",
        "TensorFlow.js PoseNet 2.x (MobileNetV1 / ResNet50), 17 COCO keypoints, single and multi pose",
        ModelConfig,
        PoseNet.from_config,
    ),
}
"""Model families by name; :func:`create_detector` looks models up here."""

DEFAULT_MODEL = "posenet"


def _register_movenet() -> None:
    """``movenet-lightning``, ``movenet-thunder``, ``movenet-multipose``: one family each, so that
    ``--model movenet-lightning`` needs no other flag; each family's configuration type is a
    ``MoveNetConfig`` whose ``model_type`` defaults to the family's."""
    from .movenet.config import FAMILY_CONFIGS, MoveNetConfig

    def load(config: MoveNetConfig) -> PoseModel:
        from .movenet.detector import MoveNet  # loads the model runtime only when a MoveNet is loaded

        return MoveNet.from_config(config)

    for kind, text in (("lightning", "SinglePose Lightning (192x192)"), ("thunder", "SinglePose Thunder (256x256)"),
                       ("multipose", "MultiPose Lightning (up to 6 people, tracked)")):
        FAMILIES[f"movenet-{kind}"] = ModelFamily(
            f"movenet-{kind}", f"MoveNet {text}, 17 COCO keypoints, as pose-detection 2.1.3",
            FAMILY_CONFIGS[kind], load, (f"movenet-{kind}",))


_register_movenet()


def _register_blazepose() -> None:
    """``blazepose-lite``, ``blazepose-full``, ``blazepose-heavy``: one family each (the landmark
    model); each family's configuration type is a ``BlazePoseConfig`` whose ``model_type``
    defaults to the family's."""
    from .blazepose.config import FAMILY_CONFIGS, BlazePoseConfig

    def load(config: BlazePoseConfig) -> PoseModel:
        from .blazepose.detector import BlazePose  # loads the model runtime only when a BlazePose is loaded

        return BlazePose.from_config(config)

    for kind in ("lite", "full", "heavy"):
        FAMILIES[f"blazepose-{kind}"] = ModelFamily(
            f"blazepose-{kind}", f"BlazePose {kind.capitalize()} (detector + 256x256 landmarks), 33 keypoints "
            "with 3D world keypoints and optional segmentation, as pose-detection 2.1.3", FAMILY_CONFIGS[kind], load,
            ("blazepose-detector", f"blazepose-{kind}"))


_register_blazepose()


def register_family(family: ModelFamily) -> None:
    """Make a family available to :func:`create_detector` (and so to the CLI and server)."""
    FAMILIES[family.name] = family


def get_family(model: str) -> ModelFamily:
    """The family called ``model``; ``ValueError`` lists the names."""
    try:
        return FAMILIES[model]
    except KeyError:
        raise ValueError(f"Invalid model {model!r}. Should be one of {', '.join(FAMILIES)}") from None


def create_detector(model: str = DEFAULT_MODEL, config: Any = None, **fields: Any) -> PoseModel:
    """Load a pose model of family ``model`` from ``config`` (its configuration type) or
    from the configuration's ``fields`` (``create_detector("posenet", output_stride=8)``)."""
    family = get_family(model)
    if config is None:
        config = family.config_type(**fields)
    elif fields:
        raise ValueError("pass either config or configuration fields, not both")
    elif not isinstance(config, family.config_type):
        raise ValueError(f"model {model!r} takes a {family.config_type.__name__}, got {type(config).__name__}")
    return family.loader(config)
