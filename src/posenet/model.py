"""The PoseNet model: ``posenet.load(...)`` returns a :class:`PoseNet`.

Estimation is one pipeline of public steps, each usable on its own:

1. :meth:`PoseNet.prepare`: images -> network inputs (pad to the input's aspect, resize,
   normalise), with what is needed to map results back;
2. :meth:`PoseNet.infer`: network inputs -> :class:`ModelOutputs` (one forward pass per
   input size);
3. :meth:`PoseNet.decode`: outputs -> poses in image pixels (decode, map back, flip,
   drop poses under ``min_pose_score``).

:meth:`PoseNet.estimate` runs all three with :class:`~posenet.options.PoseOptions` or a
preset name; the reference's method names (``estimate_single_pose``, ...) are thin
wrappers over it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from . import checkpoints
from .decode import decode_multiple_poses, decode_single_pose
from .engines import Engine, create_engine
from .geometry import scale_and_flip_poses
from .graph import Graph, read_graph_model, restride
from .images import ImageInput, is_single_image, to_rgb_array
from .keypoints import CONNECTED_PART_INDICES, PART_NAMES
from .options import ModelConfig, PoseOptions, ResolutionLike, check_output_stride, max_input_side, pose_options
from .pose import Pose
from .preprocess import Padding, aspect_input_size, preprocess, resolution_from_scale_factor
from .refine import clamp_to_image, refine_by_votes
from .tta import merge_mirrored, mirror_input


@dataclass(frozen=True)
class ModelOutputs:
    """What the network says about one image, before decoding (model-input pixels).

    ``heatmap_scores`` ``[Ho, Wo, 17]`` are sigmoid probabilities; ``offsets``
    ``[Ho, Wo, 34]``; displacements ``[Ho, Wo, 32]``; ``input_size`` is the (height,
    width) the image was padded and resized to, ``padding`` what was added first.
    """

    heatmap_scores: np.ndarray
    offsets: np.ndarray
    displacement_fwd: np.ndarray
    displacement_bwd: np.ndarray
    output_stride: int
    input_size: tuple[int, int]
    image_size: tuple[int, int]
    padding: Padding


@dataclass(frozen=True)
class PreparedImage:
    """One image made ready for the network: ``tensor`` float32 ``[H, W, 3]`` normalised
    input; ``input_size`` ``(H, W)``; ``image_size`` ``(h, w)`` of the image given;
    ``padding`` added before resizing (image pixels); ``output_stride`` to run at."""

    tensor: np.ndarray
    padding: Padding
    input_size: tuple[int, int]
    image_size: tuple[int, int]
    output_stride: int


@dataclass(frozen=True)
class ModelInfo:
    """What is loaded, in a form every model family shares (see :mod:`posenet.families`).

    ``input_size`` is the default network input ``(height, width)``; ``details`` holds
    the family's own settings (for PoseNet: architecture, stride, multiplier, weights).
    ``model_file`` is the model JSON's file name (never its folder).
    """

    family: str
    name: str
    keypoint_names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    input_size: tuple[int, int]
    engine: str
    model_file: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "family": self.family,
            "name": self.name,
            "keypoint_names": list(self.keypoint_names),
            "skeleton": [list(edge) for edge in self.skeleton],
            "input_resolution": {"height": self.input_size[0], "width": self.input_size[1]},
            "engine": self.engine,
            "model_file": self.model_file,
            **self.details,
        }


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


class PoseNet:
    """A loaded PoseNet: estimates poses in images.

    Coordinates in results are pixels of the image you pass in (x right, y down), not
    clamped to the image. Thread-safe: one instance can serve several threads at once
    (each engine is built once per output stride and its sessions run concurrently).
    """

    family, stateful = "posenet", False

    def __init__(self, graph: Graph, config: ModelConfig, model_path: Path | None = None) -> None:
        self._graph = graph
        self.config = config
        self._engines: dict[int, Engine] = {}
        self._lock = threading.Lock()
        self.architecture: str = graph.architecture
        self.output_stride: int = config.output_stride
        self.input_resolution: tuple[int, int] = config.input_size
        """Default (height, width) the image is padded and resized to."""
        self.multiplier: float = float(config.multiplier or 1.0)
        self.quant_bytes: int = config.quant_bytes
        self.tfjs_compat: bool = config.tfjs_compat
        self.model_path = model_path
        self.engine_name: str = self._engine(self.output_stride).name

    @classmethod
    def from_config(cls, config: ModelConfig) -> PoseNet:
        """Load the checkpoint a :class:`~posenet.options.ModelConfig` names."""
        checkpoint = checkpoints.find_checkpoint(config.architecture, config.output_stride, config.multiplier or 1.0,
                                                 config.quant_bytes)
        path = checkpoints.resolve_model_json(checkpoint, config.model_url)
        graph = read_graph_model(path, tfjs_compat=config.tfjs_compat)
        if graph.architecture != config.architecture:
            raise ValueError(
                f"{path} holds a {graph.architecture} network but architecture={config.architecture!r}; "
                f"pass architecture={graph.architecture!r}"
            )
        return cls(restride(graph, config.output_stride), config, path)

    def __repr__(self) -> str:
        h, w = self.input_resolution
        return (f"PoseNet({self.architecture}, multiplier={self.multiplier:g}, quant_bytes={self.quant_bytes}, "
                f"output_stride={self.output_stride}, input_resolution={w}x{h}, engine={self.engine_name!r}"
                f"{', tfjs_compat=True' if self.tfjs_compat else ''})")

    def reset(self) -> None:
        """Nothing to forget: PoseNet estimates every image on its own."""

    def info(self) -> ModelInfo:
        """What is loaded (checkpoint, engine, default input size, keypoints, skeleton)."""
        checkpoint = checkpoints.Checkpoint(self.architecture, self.multiplier, self.quant_bytes, self.output_stride)
        return ModelInfo(
            family=self.family,
            name=checkpoint.name if self.config.model_url is None else "custom",
            keypoint_names=PART_NAMES,
            skeleton=CONNECTED_PART_INDICES,
            input_size=self.input_resolution,
            engine=self.engine_name,
            model_file=self.model_path.name if self.model_path else "",
            details={"architecture": self.architecture, "output_stride": self.output_stride,
                     "multiplier": self.multiplier, "quant_bytes": self.quant_bytes,
                     "tfjs_compat": self.tfjs_compat},
        )

    # -- pipeline steps --------------------------------------------------------------

    def _engine(self, output_stride: int) -> Engine:
        with self._lock:
            engine = self._engines.get(output_stride)
            if engine is None:
                engine = create_engine(restride(self._graph, output_stride), self.config.engine,
                                       self.config.num_threads, self.config.precision)
                self._engines[output_stride] = engine
            return engine

    def _input_size(self, image_size: tuple[int, int], options: PoseOptions, output_stride: int) -> tuple[int, int]:
        if options.image_scale_factor is not None:
            return resolution_from_scale_factor(image_size, options.image_scale_factor, output_stride)
        requested = options.input_resolution or self.config.input_resolution
        if options.input_shape == "aspect":
            return aspect_input_size(image_size, (int(requested.height), int(requested.width)), output_stride,
                                     max_input_side())
        return requested.for_stride(output_stride)

    def prepare(self, images: Sequence[ImageInput], options: PoseOptions | str | None = None) -> list[PreparedImage]:
        """Step 1: decode, pad and resize each image to the network input of ``options``
        (the model's default input size and stride unless they say otherwise)."""
        opts = pose_options(options)
        stride = self.output_stride if opts.output_stride is None else opts.output_stride
        check_output_stride(self.architecture, stride)
        prepared = []
        for image in images:
            array = to_rgb_array(image)
            image_size = (int(array.shape[0]), int(array.shape[1]))
            size = self._input_size(image_size, opts, stride)
            tensor, padding = preprocess(array, size, self.architecture)
            prepared.append(PreparedImage(tensor, padding, size, image_size, stride))
        return prepared

    def infer(self, prepared: Sequence[PreparedImage], *, flip_test: bool = False) -> list[ModelOutputs]:
        """Step 2: run the network; images that share an input size and stride go
        through it in one batch. Returns one :class:`ModelOutputs` per image, in order.
        ``flip_test`` also runs each input mirrored (in the same batch) and averages the
        two answers (see :mod:`posenet.tta`)."""
        results: list[ModelOutputs | None] = [None] * len(prepared)
        groups: dict[tuple[tuple[int, int], int], list[int]] = {}
        for i, item in enumerate(prepared):
            groups.setdefault((item.input_size, item.output_stride), []).append(i)
        for (_, stride), indices in groups.items():
            tensors = [prepared[i].tensor for i in indices]
            if flip_test:
                tensors += [mirror_input(t) for t in tensors]
            batch = tensors[0][None] if len(tensors) == 1 else np.stack(tensors)
            out = self._engine(stride).run(batch)
            scores = _sigmoid(out.heatmap_logits)
            maps = [scores, out.offsets, out.displacement_fwd, out.displacement_bwd]
            for row, i in enumerate(indices):
                item = prepared[i]
                heads = [m[row] for m in maps]
                if flip_test:
                    heads = list(merge_mirrored(*heads, *(m[row + len(indices)] for m in maps)))
                results[i] = ModelOutputs(
                    heatmap_scores=heads[0], offsets=heads[1], displacement_fwd=heads[2], displacement_bwd=heads[3],
                    output_stride=stride, input_size=item.input_size, image_size=item.image_size,
                    padding=item.padding,
                )
        return [r for r in results if r is not None]

    @staticmethod
    def _decode_multi(outputs: ModelOutputs, opts: PoseOptions, max_detections: int) -> list[Pose]:
        return decode_multiple_poses(outputs.heatmap_scores, outputs.offsets, outputs.displacement_fwd,
                                     outputs.displacement_bwd, outputs.output_stride, max_detections,
                                     opts.score_threshold, opts.nms_radius, opts.pose_score_top_k)

    @classmethod
    def decode(cls, outputs: ModelOutputs, options: PoseOptions | str | None = None) -> list[Pose]:
        """Step 3: poses in the pixels of the image given (decoded as ``options.mode``
        says, optionally refined by votes, mapped back through the padding and resize,
        mirrored with ``flip_horizontal``, optionally clamped, poses under
        ``min_pose_score`` dropped)."""
        opts = pose_options(options)
        if opts.mode == "multi":
            poses = cls._decode_multi(outputs, opts, opts.max_detections)
        else:
            poses = []
            if opts.single_from_multi:  # the best of the multi-pose poses, if any root qualifies
                found = cls._decode_multi(outputs, opts, max(opts.max_detections, 5))
                poses = [max(found, key=lambda p: p.score)] if found else []
            if not poses:
                poses = [decode_single_pose(outputs.heatmap_scores, outputs.offsets, outputs.output_stride)]
        if opts.refine_votes:
            poses = refine_by_votes(poses, outputs.heatmap_scores, outputs.offsets, outputs.output_stride)
        poses = scale_and_flip_poses(poses, outputs.image_size, outputs.input_size, outputs.padding,
                                     opts.flip_horizontal)
        if opts.clamp:
            poses = clamp_to_image(poses, outputs.image_size)
        return [p for p in poses if p.score >= opts.min_pose_score] if opts.min_pose_score > 0 else poses

    # -- estimation ------------------------------------------------------------------

    def estimate_batch(self, images: Sequence[ImageInput], options: PoseOptions | str | None = None,
                       **overrides: Any) -> list[list[Pose]]:
        """:meth:`estimate` for many images, one forward pass per input size."""
        opts = pose_options(options, **overrides)
        return [self.decode(out, opts) for out in self.infer(self.prepare(images, opts), flip_test=opts.flip_test)]

    def estimate(self, image: ImageInput, options: PoseOptions | str | None = None, *,
                 timestamp_ms: float | None = None, **overrides: Any) -> list[Pose]:
        """The poses in one image. ``options``: :class:`~posenet.options.PoseOptions`, a preset
        name (``"reference"``, ``"camera"``, ``"accurate"``, ``"most-accurate"``, ``"coco"``; see
        :data:`posenet.options.PRESETS`) or ``None`` for the reference API's defaults;
        ``overrides`` change single fields, e.g. ``net.estimate(img, "camera", mode="single")``.
        ``timestamp_ms`` (a video frame's time) is accepted and unused: PoseNet has no state.
        """
        return self.estimate_batch([image], options, **overrides)[0]

    # One image first: a path (str) is also a Sequence, and the first matching overload wins.
    @overload
    def predict(self, images: ImageInput, *, input_resolution: ResolutionLike | None = ...,  # type: ignore[overload-overlap]
                image_scale_factor: float | None = ..., output_stride: int | None = ...) -> ModelOutputs: ...

    @overload
    def predict(self, images: Sequence[ImageInput], *, input_resolution: ResolutionLike | None = ...,
                image_scale_factor: float | None = ..., output_stride: int | None = ...) -> list[ModelOutputs]: ...

    def predict(self, images: ImageInput | Sequence[ImageInput], *, input_resolution: ResolutionLike | None = None,
                image_scale_factor: float | None = None,
                output_stride: int | None = None) -> ModelOutputs | list[ModelOutputs]:
        """The raw network outputs: one :class:`ModelOutputs` for one image, a list for a
        sequence of images (same-size images go through the network in one batch)."""
        opts = PoseOptions(input_resolution=input_resolution, image_scale_factor=image_scale_factor,  # type: ignore[arg-type]
                           output_stride=output_stride)
        if is_single_image(images):
            return self.infer(self.prepare([images], opts))[0]  # type: ignore[list-item]
        return self.infer(self.prepare(images, opts))  # type: ignore[arg-type]

    # -- the reference's methods -------------------------------------------------------

    def estimate_single_pose_batch(self, images: Sequence[ImageInput], flip_horizontal: bool = False, *,
                                   input_resolution: ResolutionLike | None = None,
                                   image_scale_factor: float | None = None,
                                   output_stride: int | None = None) -> list[Pose]:
        """:meth:`estimate_single_pose` for many images with one forward pass per input size."""
        opts = PoseOptions(mode="single", flip_horizontal=flip_horizontal,
                           input_resolution=input_resolution,  # type: ignore[arg-type]
                           image_scale_factor=image_scale_factor, output_stride=output_stride)
        return [poses[0] for poses in self.estimate_batch(images, opts)]

    def estimate_single_pose(self, image: ImageInput, flip_horizontal: bool = False, *,
                             input_resolution: ResolutionLike | None = None,
                             image_scale_factor: float | None = None,
                             output_stride: int | None = None) -> Pose:
        """The single most likely pose: each keypoint at its heatmap's maximum.

        ``flip_horizontal`` mirrors the output x (``width - 1 - x``, labels unchanged), as
        for a mirrored webcam. ``input_resolution`` (int, ``{"width", "height"}``,
        ``(width, height)`` or ``"WxH"``) or ``image_scale_factor`` (PoseNet 1.x style, in
        (0, 1]) override the model's input size for this call; ``output_stride`` its stride.
        """
        return self.estimate_single_pose_batch([image], flip_horizontal, input_resolution=input_resolution,
                                               image_scale_factor=image_scale_factor,
                                               output_stride=output_stride)[0]

    def estimate_multiple_poses_batch(self, images: Sequence[ImageInput], flip_horizontal: bool = False,
                                      max_detections: int = 5, score_threshold: float = 0.5,
                                      nms_radius: float = 20, *, input_resolution: ResolutionLike | None = None,
                                      image_scale_factor: float | None = None,
                                      output_stride: int | None = None) -> list[list[Pose]]:
        """:meth:`estimate_multiple_poses` for many images with one forward pass per input size."""
        opts = PoseOptions(mode="multi", flip_horizontal=flip_horizontal, max_detections=max_detections,
                           score_threshold=score_threshold, nms_radius=nms_radius,
                           input_resolution=input_resolution,  # type: ignore[arg-type]
                           image_scale_factor=image_scale_factor, output_stride=output_stride)
        return self.estimate_batch(images, opts)

    def estimate_multiple_poses(self, image: ImageInput, flip_horizontal: bool = False, max_detections: int = 5,
                                score_threshold: float = 0.5, nms_radius: float = 20, *,
                                input_resolution: ResolutionLike | None = None,
                                image_scale_factor: float | None = None,
                                output_stride: int | None = None) -> list[Pose]:
        """Up to ``max_detections`` people, in the order the decoder accepted them.

        ``score_threshold`` is the least heatmap score of a part to start a pose from;
        ``nms_radius`` (model-input pixels) suppresses a new pose whose root part lies
        that close to the same part of an accepted one. Poses are not filtered by score:
        drop low ``pose.score`` yourself, or use :meth:`estimate` with a preset such as
        ``"camera"``. Other options as in :meth:`estimate_single_pose`.
        """
        return self.estimate_multiple_poses_batch(
            [image], flip_horizontal, max_detections, score_threshold, nms_radius,
            input_resolution=input_resolution, image_scale_factor=image_scale_factor,
            output_stride=output_stride)[0]


def load(architecture: str = "MobileNetV1", output_stride: int = 16, input_resolution: ResolutionLike = 257,
         multiplier: float | None = None, quant_bytes: int = 4, model_url: str | os.PathLike[str] | None = None,
         tfjs_compat: bool = False, engine: str = "auto", num_threads: int | None = None,
         precision: str = "fp32") -> PoseNet:
    """Load a PoseNet checkpoint (the fields of :class:`~posenet.options.ModelConfig`).

    Args:
        architecture: ``"MobileNetV1"`` (fast) or ``"ResNet50"`` (accurate, slow).
        output_stride: 8, 16 or 32 (ResNet50: 16 or 32); smaller is more accurate and slower.
        input_resolution: size the image is padded and resized to: an int (square),
            ``{"width": W, "height": H}``, ``(width, height)`` or ``"WxH"``; each side in
            [17, 2049] (``POSENET_MAX_INPUT_SIDE`` raises the bound); made valid for the
            stride as the reference does (257 at stride 16 stays 257, 500 becomes 497).
        multiplier: MobileNetV1 width, 0.5, 0.75 or 1.0 (default 0.75; ResNet50: 1.0).
        quant_bytes: 4 (float32 weights), 2 or 1 (quantised; 1 is known to find no poses).
        model_url: a model JSON, a folder holding ``model-stride{S}.json``, or an http(s)
            URL; default: the official checkpoint (``POSENET_MODEL_DIR``, the cache, or
            downloaded once).
        tfjs_compat: reproduce TF.js exactly, including its misreading of dilated
            convolutions at stride 8 (less accurate); off by default.
        engine: ``"auto"`` (ONNX Runtime if installed), ``"onnxruntime"`` or ``"numpy"``.
        num_threads: ONNX Runtime intra-op threads (default: physical cores, at most 4;
            the NumPy engine uses its BLAS library's own threading).
        precision: ``"fp32"`` or ``"int8"`` (MobileNetV1, ONNX Runtime): built from the checkpoint on first
            use (~2 s per stride on 2 cores, then cached); see :mod:`posenet.engines.int8`.

    Raises:
        ValueError: an invalid option (raised before any file is touched).
        posenet.CheckpointUnavailableError: the checkpoint is not on disk and cannot be downloaded.
        posenet.ModelFormatError: the model files are not a valid graph model.
    """
    config = ModelConfig(architecture=architecture, output_stride=output_stride,
                         input_resolution=input_resolution,  # type: ignore[arg-type]
                         multiplier=multiplier, quant_bytes=quant_bytes,
                         model_url=None if model_url is None else os.fspath(model_url),
                         tfjs_compat=tfjs_compat, engine=engine, num_threads=num_threads, precision=precision)
    return PoseNet.from_config(config)
