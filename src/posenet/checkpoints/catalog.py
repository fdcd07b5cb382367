"""The 27 official PoseNet 2.x checkpoints: names, URLs, sizes."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..options import ModelConfig

BASE_URL = "https://storage.googleapis.com/tfjs-models/savedmodel/posenet/"
"""Root of the official URL tree; ``POSENET_BASE_URL`` points downloads at a mirror."""

WEIGHT_COUNTS: dict[tuple[str, float], int] = {
    ("MobileNetV1", 0.5): 577_459,
    ("MobileNetV1", 0.75): 1_258_195,
    ("MobileNetV1", 1.0): 3_313_907,
    ("ResNet50", 1.0): 23_717_123,
}
"""Number of weights per network (from the official manifests): download size is
about count x quant bytes."""


def base_url() -> str:
    """``$POSENET_BASE_URL`` (with a trailing slash) if set, else :data:`BASE_URL`."""
    url = os.environ.get("POSENET_BASE_URL", "").strip()
    return (url if url.endswith("/") else url + "/") if url else BASE_URL


def validate_model_config(architecture: str, output_stride: int, multiplier: float, quant_bytes: int) -> None:
    """The reference's checks, in its order and with its messages (as ``ValueError``)."""
    ModelConfig(architecture=architecture, output_stride=output_stride, multiplier=multiplier, quant_bytes=quant_bytes)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One official checkpoint (a model JSON; its shards sit next to it)."""

    architecture: str
    multiplier: float
    quant_bytes: int
    output_stride: int

    @property
    def folder(self) -> str:
        """Folder relative to the official URL root, e.g. ``mobilenet/float/075``."""
        quant = "float" if self.quant_bytes == 4 else f"quant{self.quant_bytes}"
        if self.architecture == "ResNet50":
            return f"resnet50/{quant}"
        return f"mobilenet/{quant}/{round(self.multiplier * 100):03d}"

    @property
    def relative_path(self) -> str:
        return f"{self.folder}/model-stride{self.output_stride}.json"

    @property
    def url(self) -> str:
        return base_url() + self.relative_path

    @property
    def precision(self) -> str:
        return {4: "float32", 2: "uint16", 1: "uint8"}[self.quant_bytes]

    @property
    def name(self) -> str:
        """A short id, e.g. ``mobilenet-float-075-stride16``."""
        return self.relative_path.removesuffix(".json").replace("/model-", "-").replace("/", "-")

    @property
    def expected_size(self) -> int:
        """Approximate download size of the shards, bytes."""
        return WEIGHT_COUNTS[(self.architecture, self.multiplier)] * self.quant_bytes


def all_checkpoints() -> list[Checkpoint]:
    """The 27 checkpoints the reference's ``load()`` can reach."""
    result = []
    for quant in (4, 2, 1):
        for multiplier in (0.5, 0.75, 1.0):
            strides = (8, 16, 32) if multiplier == 1.0 else (8, 16)
            result += [Checkpoint("MobileNetV1", multiplier, quant, s) for s in strides]
        result += [Checkpoint("ResNet50", 1.0, quant, s) for s in (16, 32)]
    return result


def find_checkpoint(architecture: str = "MobileNetV1", output_stride: int = 16, multiplier: float = 0.75,
                    quant_bytes: int = 4) -> Checkpoint:
    """The checkpoint for a configuration, after the reference's validation."""
    validate_model_config(architecture, output_stride, multiplier, quant_bytes)
    return Checkpoint(architecture, float(multiplier), int(quant_bytes), int(output_stride))


def by_name(name: str) -> Checkpoint:
    """The checkpoint called ``name`` (see ``posenet models list``); ``ValueError`` otherwise."""
    for checkpoint in all_checkpoints():
        if checkpoint.name == name:
            return checkpoint
    raise ValueError(f"unknown checkpoint {name!r}; `posenet models list` shows the names")
