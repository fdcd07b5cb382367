"""Model configuration: which checkpoint, which engine, which input size; and the
bounds every layer applies (input sides, image pixels, threads)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from typing import Any, Literal, Union

ARCHITECTURES: tuple[str, ...] = ("MobileNetV1", "ResNet50")
VALID_OUTPUT_STRIDES: dict[str, tuple[int, ...]] = {"MobileNetV1": (8, 16, 32), "ResNet50": (32, 16)}
VALID_MULTIPLIERS: dict[str, tuple[float, ...]] = {"MobileNetV1": (0.5, 0.75, 1.0), "ResNet50": (1.0,)}
DEFAULT_MULTIPLIERS: dict[str, float] = {"MobileNetV1": 0.75, "ResNet50": 1.0}
VALID_QUANT_BYTES: tuple[int, ...] = (1, 2, 4)
ENGINE_NAMES: tuple[str, ...] = ("auto", "onnxruntime", "numpy")
PRECISIONS: tuple[str, ...] = ("fp32", "int8")
"""Numeric precisions of the network: ``int8`` needs MobileNetV1 and the onnxruntime engine."""
MAX_THREADS = 256
"""Upper bound of ``num_threads``."""

MIN_INPUT_SIDE = 17
"""Smallest side of a requested input resolution, pixels."""
MAX_INPUT_SIDE_DEFAULT = 2049
"""Largest side of a requested input resolution, pixels, unless the environment
variable ``POSENET_MAX_INPUT_SIDE`` sets another bound (at 2049 one image costs about
3 GB and several seconds)."""

MAX_IMAGE_PIXELS_DEFAULT = 100_000_000
"""Largest image decoded from a file or bytes, width x height, unless the environment
variable ``POSENET_MAX_IMAGE_PIXELS`` sets another bound (checked from the header, before
anything is decompressed: a 100-megapixel RGB image takes 300 MB)."""

Mode = Literal["single", "multi"]
MODES: tuple[Mode, ...] = ("single", "multi")

ResolutionLike = Union["Resolution", int, float, str, Mapping[str, Any], tuple[Any, Any], list[Any]]
"""What a resolution may be given as: a :class:`Resolution`, a number (square), text
(``"257"`` or ``"WIDTHxHEIGHT"``), ``{"width": W, "height": H}`` as in the reference,
or ``(width, height)``."""


def _fmt(values: Any) -> str:
    return ",".join(f"{v:g}" for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an integer") from None
    if value < minimum:
        raise ValueError(f"{name}={value} is below the smallest allowed value, {minimum}")
    return value


def max_image_pixels() -> int:
    """The largest image decoded, in pixels (``POSENET_MAX_IMAGE_PIXELS`` or
    :data:`MAX_IMAGE_PIXELS_DEFAULT`)."""
    return _env_int("POSENET_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS_DEFAULT, 1)


def max_input_side() -> int:
    """The largest accepted side of an input resolution (``POSENET_MAX_INPUT_SIDE`` or
    :data:`MAX_INPUT_SIDE_DEFAULT`)."""
    return _env_int("POSENET_MAX_INPUT_SIDE", MAX_INPUT_SIDE_DEFAULT, MIN_INPUT_SIDE)


# ---------------------------------------------------------------------------- resolution

_RESOLUTION_TEXT = re.compile(r"^\s*(\d{1,7})\s*(?:[xX]\s*(\d{1,7}))?\s*$")


def valid_resolution(resolution: float, output_stride: int) -> int:
    """The nearest resolution ``r`` with ``(r - 1) % output_stride == 0``, as the reference
    chooses it: kept if already valid, else ``floor(r / stride) * stride + 1``."""
    if math.fmod(resolution - 1, output_stride) == 0:
        return int(resolution)
    return math.floor(resolution / output_stride) * output_stride + 1


@dataclass(frozen=True, slots=True)
class Resolution:
    """A model input size in pixels: ``height`` and ``width`` (numbers as requested; see
    :meth:`for_stride` for the size the network really runs at)."""

    height: float
    width: float

    def __post_init__(self) -> None:
        top = max_input_side()
        for name in ("width", "height"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value):
                raise ValueError(f"inputResolution.{name} has a value of {value!r} which is invalid; "
                                 "it must be a number")
            if not MIN_INPUT_SIDE <= value <= top:
                raise ValueError(
                    f"Invalid inputResolution {name} {value:g}: each side must be in [{MIN_INPUT_SIDE}, {top}] "
                    "pixels (set POSENET_MAX_INPUT_SIDE to allow larger inputs)"
                )

    @classmethod
    def parse(cls, value: ResolutionLike) -> Resolution:
        """A resolution from any :data:`ResolutionLike` form; ``ValueError`` names the forms."""
        if isinstance(value, Resolution):
            return value
        if isinstance(value, str):
            m = _RESOLUTION_TEXT.match(value)
            if not m:
                raise ValueError(f"Invalid inputResolution {value!r}: expected a size like 257 or 640x480 "
                                 "(width x height)")
            width = int(m.group(1))
            return cls(height=int(m.group(2)) if m.group(2) else width, width=width)
        if _is_number(value):
            return cls(height=value, width=value)  # type: ignore[arg-type]
        if isinstance(value, Mapping) and "width" in value and "height" in value:
            return cls(height=value["height"], width=value["width"])
        if isinstance(value, (tuple, list)) and len(value) == 2:
            width, height = value
            return cls(height=height, width=width)
        raise ValueError(
            f"Invalid inputResolution {value!r}. Should be a number, an object with width and height, "
            "a (width, height) tuple or text like 640x480"
        )

    def for_stride(self, output_stride: int) -> tuple[int, int]:
        """``(height, width)`` made valid for the stride as the reference does (257 at
        stride 16 stays 257, 500 becomes 497)."""
        return valid_resolution(self.height, output_stride), valid_resolution(self.width, output_stride)

    def __str__(self) -> str:
        w, h = f"{self.width:g}", f"{self.height:g}"
        return w if w == h else f"{w}x{h}"


# ---------------------------------------------------------------------------- model config


def check_output_stride(architecture: str, output_stride: Any) -> None:
    """Raise the reference's ``ValueError`` unless the stride is valid for the architecture."""
    valid = VALID_OUTPUT_STRIDES[architecture]
    if isinstance(output_stride, bool) or output_stride not in valid:
        raise ValueError(
            f"Invalid outputStride {output_stride}. Should be one of "
            f"{','.join(map(str, valid))} for architecture {architecture}."
        )


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which PoseNet checkpoint to load and how to run it (``posenet.load``).

    ``multiplier=None`` takes the architecture's default (0.75 MobileNetV1, 1.0 ResNet50).
    ``input_resolution`` is normalised to a :class:`Resolution`. Validation follows the
    reference's ``validateModelConfig`` (order and messages), then this package's own
    options; every check runs here, before any file is touched.
    """

    architecture: str = "MobileNetV1"
    output_stride: int = 16
    input_resolution: Resolution = field(default_factory=lambda: Resolution(257, 257))
    multiplier: float | None = None
    quant_bytes: int = 4
    model_url: str | None = None
    engine: str = "auto"
    num_threads: int | None = None
    tfjs_compat: bool = False
    precision: str = "fp32"

    def __post_init__(self) -> None:
        architecture = self.architecture
        if architecture not in ARCHITECTURES:
            raise ValueError(f"Invalid architecture {architecture}. Should be one of {','.join(ARCHITECTURES)}")
        check_output_stride(architecture, self.output_stride)
        multiplier = DEFAULT_MULTIPLIERS[architecture] if self.multiplier is None else self.multiplier
        if isinstance(multiplier, bool) or multiplier not in VALID_MULTIPLIERS[architecture]:
            raise ValueError(
                f"Invalid multiplier {multiplier}. Should be one of "
                f"{_fmt(VALID_MULTIPLIERS[architecture])} for architecture {architecture}."
            )
        if isinstance(self.quant_bytes, bool) or self.quant_bytes not in VALID_QUANT_BYTES:
            raise ValueError(
                f"Invalid quantBytes {self.quant_bytes}. Should be one of {_fmt(VALID_QUANT_BYTES)} "
                f"for architecture {architecture}."
            )
        if architecture == "MobileNetV1" and self.output_stride == 32 and multiplier != 1:
            raise ValueError(
                f"Invalid multiplier {multiplier:g} for output stride 32: MobileNetV1 has a stride-32 "
                "checkpoint only at multiplier 1.0 (use multiplier 1.0 or output stride 8 or 16)"
            )
        object.__setattr__(self, "multiplier", float(multiplier))
        object.__setattr__(self, "output_stride", int(self.output_stride))
        object.__setattr__(self, "quant_bytes", int(self.quant_bytes))
        object.__setattr__(self, "input_resolution", Resolution.parse(self.input_resolution))
        if self.model_url is not None:
            object.__setattr__(self, "model_url", os.fspath(self.model_url))
        if self.engine not in ENGINE_NAMES:
            raise ValueError(f"Invalid engine {self.engine!r}. Should be one of {', '.join(ENGINE_NAMES)}.")
        threads = self.num_threads
        if threads is not None and (not _is_int(threads) or not 1 <= threads <= MAX_THREADS):
            raise ValueError(f"Invalid num_threads {threads!r}. Should be an integer in [1, {MAX_THREADS}] or None.")
        if not isinstance(self.tfjs_compat, bool):
            raise ValueError(f"Invalid tfjs_compat {self.tfjs_compat!r}. Should be True or False.")
        self._check_precision()

    def _check_precision(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"Invalid precision {self.precision!r}. Should be one of {', '.join(PRECISIONS)}.")
        if self.precision == "int8" and self.architecture != "MobileNetV1":
            raise ValueError(f"precision='int8' is available for MobileNetV1 only, not {self.architecture}: "
                             "its activations are unbounded ReLUs (use precision='fp32')")
        if self.precision == "int8" and self.engine == "numpy":
            raise ValueError("precision='int8' needs engine='onnxruntime' (or 'auto'), not 'numpy'")

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` the network runs at by default (valid for the stride)."""
        return self.input_resolution.for_stride(self.output_stride)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)
