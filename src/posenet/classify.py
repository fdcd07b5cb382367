"""Image classification with a TF.js graph-model classifier: load -> preprocess -> predict -> top-k.

A classifier folder holds ``model.json`` (+ its weight shards) and ``labels.txt`` (one label a
line, in output order). The preprocessing is the JavaScript one (``nsfwjs``-style, as the shared
MobileNetV2 classifier expects): RGB pixels as float32 divided by 255, then, unless the image
already has the model's size, ``tf.image.resizeBilinear(..., alignCorners=true)`` to
``size x size``, computed as TF.js's cpu backend does (float64 arithmetic, float32 result)::

    from posenet.classify import load_classifier

    classifier = load_classifier("models/classifier/mobilenet_v2")
    classifier.classify("photo.jpg", top_k=3)    # [Prediction(label='Neutral', probability=0.93), ...]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelFormatError
from .images import ImageSource, decode_image
from .runtime import GraphModel, load_graph_model

__all__ = ["Classifier", "Prediction", "load_classifier", "preprocess", "resize_bilinear"]


@dataclass(frozen=True, slots=True)
class Prediction:
    """One class: its label and probability (0..1)."""

    label: str
    probability: float

    def to_dict(self) -> dict[str, str | float]:
        """``{"label", "probability"}`` for JSON."""
        return {"label": self.label, "probability": self.probability}


def _source_coords(old: int, new: int, align_corners: bool, half_pixel_centers: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output row (or column): the lower and upper source index and the fraction,
    exactly as TF.js's cpu ``resizeBilinear`` computes them (in float64)."""
    eff_in = old - 1 if align_corners and new > 1 else old
    eff_out = new - 1 if align_corners and new > 1 else new
    ratio = eff_in / eff_out
    index = np.arange(new, dtype=np.float64)
    source = ratio * (index + 0.5) - 0.5 if half_pixel_centers else ratio * index
    low = np.maximum(0.0, np.floor(source))
    high = np.minimum(old - 1, np.ceil(source)).astype(np.intp)
    return low.astype(np.intp), high, source - low


def resize_bilinear(images: np.ndarray, size: tuple[int, int], *, align_corners: bool = False,
                    half_pixel_centers: bool = False) -> np.ndarray:
    """``tf.image.resizeBilinear`` of float ``[H, W, C]`` or ``[N, H, W, C]`` to ``size``
    (height, width), bit for bit as TF.js's cpu backend computes it; float32 result."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim not in (3, 4) or x.shape[-3] < 1 or x.shape[-2] < 1:
        raise ValueError(f"expected [H, W, C] or [N, H, W, C] with H, W >= 1, got shape {x.shape}")
    rows = _source_coords(x.shape[-3], size[0], align_corners, half_pixel_centers)
    cols = _source_coords(x.shape[-2], size[1], align_corners, half_pixel_centers)
    x64 = x.astype(np.float64)
    top, bottom = x64[..., rows[0], :, :], x64[..., rows[1], :, :]
    col_frac = cols[2][:, None]
    top = top[..., cols[0], :] + (top[..., cols[1], :] - top[..., cols[0], :]) * col_frac
    bottom = bottom[..., cols[0], :] + (bottom[..., cols[1], :] - bottom[..., cols[0], :]) * col_frac
    row_frac = rows[2][:, None, None]
    result: np.ndarray = (top + (bottom - top) * row_frac).astype(np.float32)
    return result


def preprocess(rgb: np.ndarray, size: int = 224) -> np.ndarray:
    """The JavaScript pipeline's input for a uint8 ``[H, W, 3]`` image: ``pixels / 255`` in
    float32, resized to ``size x size`` with ``alignCorners=true`` unless it already is that
    size. Returns float32 ``[size, size, 3]`` in 0..1."""
    normalized = np.asarray(rgb).astype(np.float32) / np.float32(255)
    if normalized.shape[0] == size and normalized.shape[1] == size:
        return normalized
    return resize_bilinear(normalized, (size, size), align_corners=True)


class Classifier:
    """A graph-model classifier with its labels; ``size`` is the model's square input side in pixels."""

    def __init__(self, model: GraphModel, labels: Sequence[str], size: int | None = None) -> None:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ModelFormatError(f"a classifier has one input and one output; {model.graph.source} has "
                                   f"{len(model.inputs)} and {len(model.outputs)}")
        shape = model.inputs[0].shape
        self.model = model
        self.labels = tuple(labels)
        self.size = size or (shape[1] if shape is not None and len(shape) == 4 and shape[1] else 224)
        classes = model.outputs[0].shape[-1] if model.outputs[0].shape else None
        if classes is not None and classes != len(self.labels):
            raise ModelFormatError(f"the model has {classes} classes but labels.txt names {len(self.labels)}")

    def __repr__(self) -> str:
        return f"Classifier({self.model.graph.source!r}, labels={list(self.labels)}, size={self.size})"

    def preprocess(self, image: ImageSource) -> np.ndarray:
        """The model input for one image (a path, bytes, PIL image or uint8 array): float32 ``[size, size, 3]``."""
        return preprocess(decode_image(image), self.size)

    def probabilities(self, images: Sequence[ImageSource]) -> np.ndarray:
        """Class probabilities, float32 ``[len(images), classes]``, in label order."""
        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        batch = np.stack([self.preprocess(image) for image in images])
        result = self.model.predict(batch)
        assert isinstance(result, np.ndarray)
        return result

    def top_k(self, probabilities: np.ndarray, top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely classes of one probability row, most likely first
        (ties: the earlier label first)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        order = sorted(range(len(self.labels)), key=lambda i: (-float(probabilities[i]), i))
        return [Prediction(self.labels[i], float(probabilities[i])) for i in order[:top_k]]

    def classify(self, image: ImageSource, top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most likely classes of one image, most likely first."""
        return self.classify_batch([image], top_k)[0]

    def classify_batch(self, images: Sequence[ImageSource], top_k: int = 5) -> list[list[Prediction]]:
        """:meth:`classify` for several images, run as one batch."""
        return [self.top_k(row, top_k) for row in self.probabilities(images)]


def read_labels(path: Path) -> list[str]:
    """The labels of ``labels.txt``: one a line, blank lines ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFormatError(f"cannot read the labels {path}: {exc.strerror or exc}") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ModelFormatError(f"{path} names no labels")
    return labels


def load_classifier(folder: str | os.PathLike[str], *, labels: Sequence[str] | None = None,
                    num_threads: int | None = None) -> Classifier:
    """A :class:`Classifier` from a folder with ``model.json`` and ``labels.txt`` (or a model JSON
    path, with ``labels.txt`` beside it); ``labels`` overrides the file."""
    path = Path(folder)
    model_json = path / "model.json" if path.is_dir() else path
    names = list(labels) if labels is not None else read_labels(model_json.parent / "labels.txt")
    return Classifier(load_graph_model(model_json, num_threads=num_threads), names)
