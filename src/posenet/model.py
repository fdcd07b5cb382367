"""The public model: ``posenet.load(...)`` returns a :class:`PoseNet`."""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Sequence

import numpy as np

from . import checkpoints
from .decode_multi import decode_multiple_poses
from .decode_single import decode_single_pose
from .engines import Engine, check_engine_options, create_engine
from .geometry import Padding, scale_and_flip_poses
from .images import ImageInput, to_rgb_array
from .pose import Pose
from .preprocess import InputResolution, preprocess, resolution_from_scale_factor, resolve_input_resolution
from .tfjs_graph import Graph, read_graph_model, restride


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


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def _check_multi_options(max_detections: int, score_threshold: float, nms_radius: float) -> None:
    if isinstance(max_detections, bool) or not isinstance(max_detections, Integral) or max_detections <= 0:
        raise ValueError(f"Invalid maxDetections {max_detections!r}. Should be an integer > 0")
    if isinstance(score_threshold, bool) or not isinstance(score_threshold, Real) or not 0 <= score_threshold <= 1:
        raise ValueError(f"Invalid scoreThreshold {score_threshold!r}. Should be in range [0.0, 1.0]")
    if isinstance(nms_radius, bool) or not isinstance(nms_radius, Real) or not nms_radius > 0 or math.isinf(nms_radius):
        raise ValueError(f"Invalid nmsRadius {nms_radius!r}. Should be a finite number > 0")


class PoseNet:
    """A loaded PoseNet: estimates poses in images.

    Coordinates in results are pixels of the image you pass in (x right, y down), not
    clamped to the image. Thread-safe: one instance can serve several threads.
    """

    def __init__(self, graph: Graph, *, input_resolution: tuple[int, int], multiplier: float,
                 quant_bytes: int, engine: str = "auto", num_threads: int | None = None,
                 model_path: Path | None = None) -> None:
        self._graph = graph
        self._engine_choice = engine
        self._num_threads = num_threads
        self._engines: dict[int, Engine] = {}
        self._lock = threading.Lock()
        self.architecture: str = graph.architecture
        self.output_stride: int = graph.output_stride
        self.input_resolution: tuple[int, int] = input_resolution
        """Default (height, width) the image is padded and resized to."""
        self.multiplier = multiplier
        self.quant_bytes = quant_bytes
        self.tfjs_compat = graph.tfjs_compat
        self.model_path = model_path
        self.engine_name: str = self._engine(self.output_stride).name

    def __repr__(self) -> str:
        h, w = self.input_resolution
        return (f"PoseNet({self.architecture}, multiplier={self.multiplier:g}, quant_bytes={self.quant_bytes}, "
                f"output_stride={self.output_stride}, input_resolution={w}x{h}, engine={self.engine_name!r}"
                f"{', tfjs_compat=True' if self.tfjs_compat else ''})")

    # -- network ---------------------------------------------------------------------

    def _engine(self, output_stride: int) -> Engine:
        with self._lock:
            engine = self._engines.get(output_stride)
            if engine is None:
                engine = create_engine(restride(self._graph, output_stride), self._engine_choice, self._num_threads)
                self._engines[output_stride] = engine
            return engine

    def _input_size(self, image_size: tuple[int, int], output_stride: int,
                    input_resolution: InputResolution | None, image_scale_factor: float | None) -> tuple[int, int]:
        if input_resolution is not None and image_scale_factor is not None:
            raise ValueError("pass either input_resolution or image_scale_factor, not both")
        if image_scale_factor is not None:
            return resolution_from_scale_factor(image_size, image_scale_factor, output_stride)
        if input_resolution is not None:
            return resolve_input_resolution(input_resolution, output_stride)
        if output_stride != self.output_stride:
            h, w = self.input_resolution
            return resolve_input_resolution({"width": w, "height": h}, output_stride)
        return self.input_resolution

    def predict(self, images: ImageInput | Sequence[ImageInput], *, input_resolution: InputResolution | None = None,
                image_scale_factor: float | None = None, output_stride: int | None = None) -> list[ModelOutputs]:
        """Run the network and return its raw outputs, one :class:`ModelOutputs` per image.

        Images that share an input size go through the network in one batch.
        """
        if isinstance(images, (str, os.PathLike, np.ndarray)) or hasattr(images, "convert"):
            images = [images]  # type: ignore[list-item]
        stride = self.output_stride if output_stride is None else output_stride
        engine = self._engine(stride)
        arrays = [to_rgb_array(image) for image in images]  # type: ignore[union-attr]
        prepared = []
        for array in arrays:
            size = self._input_size(array.shape[:2], stride, input_resolution, image_scale_factor)
            tensor, padding = preprocess(array, size, self.architecture)
            prepared.append((tensor, padding, size, array.shape[:2]))
        results: list[ModelOutputs | None] = [None] * len(arrays)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, (_, _, size, _) in enumerate(prepared):
            groups.setdefault(size, []).append(i)
        for size, indices in groups.items():
            batch = prepared[indices[0]][0][None] if len(indices) == 1 else np.stack([prepared[i][0] for i in indices])
            out = engine.run(batch)
            scores = _sigmoid(out.heatmap_logits)
            for row, i in enumerate(indices):
                _, padding, _, image_size = prepared[i]
                results[i] = ModelOutputs(
                    heatmap_scores=scores[row], offsets=out.offsets[row],
                    displacement_fwd=out.displacement_fwd[row], displacement_bwd=out.displacement_bwd[row],
                    output_stride=stride, input_size=size, image_size=(int(image_size[0]), int(image_size[1])),
                    padding=padding,
                )
        return results  # type: ignore[return-value]

    # -- estimation ------------------------------------------------------------------

    def estimate_single_pose_batch(self, images: Sequence[ImageInput], flip_horizontal: bool = False, *,
                                   input_resolution: InputResolution | None = None,
                                   image_scale_factor: float | None = None,
                                   output_stride: int | None = None) -> list[Pose]:
        """:meth:`estimate_single_pose` for many images with one forward pass per input size."""
        poses = []
        for out in self.predict(list(images), input_resolution=input_resolution,
                                image_scale_factor=image_scale_factor, output_stride=output_stride):
            pose = decode_single_pose(out.heatmap_scores, out.offsets, out.output_stride)
            poses.append(scale_and_flip_poses([pose], out.image_size, out.input_size, out.padding,
                                              bool(flip_horizontal))[0])
        return poses

    def estimate_single_pose(self, image: ImageInput, flip_horizontal: bool = False, *,
                             input_resolution: InputResolution | None = None,
                             image_scale_factor: float | None = None,
                             output_stride: int | None = None) -> Pose:
        """The single most likely pose: each keypoint at its heatmap's maximum.

        ``flip_horizontal`` mirrors the output x (``width - 1 - x``, labels unchanged), as
        for a mirrored webcam. ``input_resolution`` (int, ``{"width", "height"}`` or
        ``(width, height)``) or ``image_scale_factor`` (PoseNet 1.x style, in (0, 1])
        override the model's input size for this call; ``output_stride`` its stride.
        """
        return self.estimate_single_pose_batch([image], flip_horizontal, input_resolution=input_resolution,
                                               image_scale_factor=image_scale_factor,
                                               output_stride=output_stride)[0]

    def estimate_multiple_poses_batch(self, images: Sequence[ImageInput], flip_horizontal: bool = False,
                                      max_detections: int = 5, score_threshold: float = 0.5,
                                      nms_radius: float = 20, *, input_resolution: InputResolution | None = None,
                                      image_scale_factor: float | None = None,
                                      output_stride: int | None = None) -> list[list[Pose]]:
        """:meth:`estimate_multiple_poses` for many images with one forward pass per input size."""
        _check_multi_options(max_detections, score_threshold, nms_radius)
        results = []
        for out in self.predict(list(images), input_resolution=input_resolution,
                                image_scale_factor=image_scale_factor, output_stride=output_stride):
            poses = decode_multiple_poses(out.heatmap_scores, out.offsets, out.displacement_fwd,
                                          out.displacement_bwd, out.output_stride, int(max_detections),
                                          float(score_threshold), float(nms_radius))
            results.append(scale_and_flip_poses(poses, out.image_size, out.input_size, out.padding,
                                                bool(flip_horizontal)))
        return results

    def estimate_multiple_poses(self, image: ImageInput, flip_horizontal: bool = False, max_detections: int = 5,
                                score_threshold: float = 0.5, nms_radius: float = 20, *,
                                input_resolution: InputResolution | None = None,
                                image_scale_factor: float | None = None,
                                output_stride: int | None = None) -> list[Pose]:
        """Up to ``max_detections`` people, in the order the decoder accepted them.

        ``score_threshold`` is the least heatmap score of a part to start a pose from;
        ``nms_radius`` (model-input pixels) suppresses a new pose whose root part lies
        that close to the same part of an accepted one. Poses are not filtered by score:
        drop low ``pose.score`` yourself (the reference demo uses 0.15). Other options as
        in :meth:`estimate_single_pose`.
        """
        return self.estimate_multiple_poses_batch(
            [image], flip_horizontal, max_detections, score_threshold, nms_radius,
            input_resolution=input_resolution, image_scale_factor=image_scale_factor,
            output_stride=output_stride)[0]


def load(architecture: str = "MobileNetV1", output_stride: int = 16, input_resolution: InputResolution = 257,
         multiplier: float = 0.75, quant_bytes: int = 4, model_url: str | os.PathLike[str] | None = None,
         tfjs_compat: bool = False, engine: str = "auto", num_threads: int | None = None) -> PoseNet:
    """Load a PoseNet checkpoint.

    Args:
        architecture: ``"MobileNetV1"`` (fast) or ``"ResNet50"`` (accurate, slow).
        output_stride: 8, 16 or 32 (ResNet50: 16 or 32); smaller is more accurate and slower.
        input_resolution: size the image is padded and resized to: an int (square),
            ``{"width": W, "height": H}`` or ``(width, height)``; made valid for the
            stride as the reference does (257 at stride 16 stays 257, 500 becomes 497).
        multiplier: MobileNetV1 width, 0.5, 0.75 or 1.0 (ResNet50: 1.0).
        quant_bytes: 4 (float32 weights), 2 or 1 (quantised; 1 is known to find no poses).
        model_url: a model JSON, a folder holding ``model-stride{S}.json``, or an http(s)
            URL; default: the official checkpoint (``POSENET_MODEL_DIR``, the cache, or
            downloaded once).
        tfjs_compat: reproduce TF.js exactly, including its misreading of dilated
            convolutions at stride 8 (less accurate); off by default.
        engine: ``"auto"`` (ONNX Runtime if installed), ``"onnxruntime"`` or ``"numpy"``.
        num_threads: ONNX Runtime intra-op threads (default: physical cores, at most 4;
            the NumPy engine uses its BLAS library's own threading).

    Raises:
        ValueError: an invalid option (raised before any file is touched).
        posenet.CheckpointUnavailableError: the checkpoint is not on disk and cannot be downloaded.
        posenet.ModelFormatError: the model files are not a valid graph model.
    """
    checkpoint = checkpoints.find_checkpoint(architecture, output_stride, multiplier, quant_bytes)
    size = resolve_input_resolution(input_resolution, output_stride)
    check_engine_options(engine, num_threads)
    path = checkpoints.resolve_model_json(checkpoint, model_url)
    graph = read_graph_model(path, tfjs_compat=tfjs_compat)
    if graph.architecture != architecture:
        raise ValueError(
            f"{path} holds a {graph.architecture} network but architecture={architecture!r}; "
            f"pass architecture={graph.architecture!r}"
        )
    graph = restride(graph, output_stride)
    return PoseNet(graph, input_resolution=size, multiplier=float(multiplier), quant_bytes=int(quant_bytes),
                   engine=engine, num_threads=num_threads, model_path=path)
