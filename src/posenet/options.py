"""Every option of the package, validated once: model configuration, input resolution,
pose options and the named presets.

The library, the CLI (flags, choices, defaults, help) and the server (request schema,
the page's defaults) all derive from this module, so an option or a preset means the
same numbers everywhere.

- :class:`ModelConfig`: which checkpoint and engine (``posenet.load``); the reference's
  ``ModelConfig`` with its validation order and messages.
- :class:`Resolution`: a model input size, ``(height, width)`` in pixels, with the one
  text parser (``"257"``, ``"640x480"`` = width x height).
- :class:`PoseOptions`: how poses are found in one image (single or multi, the
  reference's inference config, and the demo-style score filters).
- :data:`PRESETS`: named :class:`PoseOptions` per mode. ``reference`` is the reference
  API's defaults, ``camera`` its camera demo's, ``coco`` its COCO evaluation demo's.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from numbers import Integral, Real
from typing import Any, Literal, Mapping, Union

ARCHITECTURES: tuple[str, ...] = ("MobileNetV1", "ResNet50")
VALID_OUTPUT_STRIDES: dict[str, tuple[int, ...]] = {"MobileNetV1": (8, 16, 32), "ResNet50": (32, 16)}
VALID_MULTIPLIERS: dict[str, tuple[float, ...]] = {"MobileNetV1": (0.5, 0.75, 1.0), "ResNet50": (1.0,)}
DEFAULT_MULTIPLIERS: dict[str, float] = {"MobileNetV1": 0.75, "ResNet50": 1.0}
VALID_QUANT_BYTES: tuple[int, ...] = (1, 2, 4)
ENGINE_NAMES: tuple[str, ...] = ("auto", "onnxruntime", "numpy")
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
                raise ValueError(f"inputResolution.{name} has a value of {value!r} which is invalid; it must be a number")
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
                raise ValueError(f"Invalid inputResolution {value!r}: expected a size like 257 or 640x480 (width x height)")
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

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` the network runs at by default (valid for the stride)."""
        return self.input_resolution.for_stride(self.output_stride)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


# ---------------------------------------------------------------------------- pose options


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one :class:`PoseOptions` field is checked and described. The CLI flags and the
    server's schema are generated from these."""

    name: str
    kind: type
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    modes: tuple[Mode, ...] = MODES
    js_name: str = ""
    """The reference's name, used in its error messages."""
    choices: tuple[str, ...] = ()
    """For ``kind=str``: the accepted values."""

    def check(self, value: Any) -> Any:
        """The value, normalised (``int``/``float``/``bool``/``str``), or ``ValueError``."""
        label = self.js_name or self.name
        if self.kind is str:
            if value not in self.choices:
                raise ValueError(f"Invalid {label} {value!r}. Should be one of {', '.join(self.choices)}")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"Invalid {label} {value!r}. Should be true or false")
            return value
        if self.kind is int:
            ok = _is_int(value) or (isinstance(value, float) and value.is_integer())
            if not ok:
                raise ValueError(f"Invalid {label} {value!r}. Should be an integer {self.bounds()}")
            value = int(value)
        elif not _is_number(value) or not math.isfinite(value):
            raise ValueError(f"Invalid {label} {value!r}. Should be a finite number {self.bounds()}")
        lo, hi = self.minimum, self.maximum
        if (lo is not None and (value <= lo if self.exclusive_minimum else value < lo)) or (hi is not None and value > hi):
            raise ValueError(f"Invalid {label} {value!r}. Should be {self.bounds()}")
        return self.kind(value)

    def bounds(self) -> str:
        """The accepted range as text, e.g. ``in range [0.0, 1.0]``."""
        lo, hi = self.minimum, self.maximum
        if self.kind is float and lo == 0 and hi == 1 and not self.exclusive_minimum:
            return "in range [0.0, 1.0]"
        left = "(" if self.exclusive_minimum else "["
        return f"in range {left}{lo:g}, {hi:g}]" if lo is not None and hi is not None else ""


POSE_OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("flip_horizontal", bool, "mirror the poses horizontally (x = width - 1 - x), as for a mirrored webcam",
               js_name="flipHorizontal"),
    OptionSpec("max_detections", int, "most poses returned", 1, 1000, modes=("multi",), js_name="maxDetections"),
    OptionSpec("score_threshold", float, "least part score that starts a pose", 0.0, 1.0, modes=("multi",),
               js_name="scoreThreshold"),
    OptionSpec("nms_radius", float, "a pose whose root part lies this close (model-input pixels) to the same part "
               "of an accepted pose is suppressed", 0.0, 10000.0, exclusive_minimum=True, modes=("multi",),
               js_name="nmsRadius"),
    OptionSpec("min_pose_score", float, "poses scoring less are dropped", 0.0, 1.0),
    OptionSpec("min_part_score", float, "keypoints scoring less are not drawn (all 17 are always returned)", 0.0, 1.0),
    OptionSpec("input_shape", str, "square: pad the image to a square input, as the reference; aspect: an input "
               "with the image's aspect ratio and the same pixel count (people appear larger)",
               choices=("square", "aspect")),
    OptionSpec("pose_score_top_k", int, "0: the reference's pose score (sum of the non-suppressed keypoint scores / "
               "17); K: the mean of the K highest non-suppressed keypoint scores (ranks people cut by the frame "
               "fairly)", 0, 17, modes=("multi", "single")),
    OptionSpec("refine_votes", bool, "move each keypoint to the score-weighted mean of the offset votes of the 3x3 "
               "cells around it"),
    OptionSpec("clamp", bool, "clamp keypoints into the image"),
    OptionSpec("flip_test", bool, "also run the mirrored input and average both answers (about 1.7x the time)"),
    OptionSpec("single_from_multi", bool, "single mode: return the best multi-pose pose instead of each part's "
               "heatmap maximum", modes=("single",)),
)
"""The numeric and boolean :class:`PoseOptions` fields, in the order they are shown."""

SPECS_BY_NAME: dict[str, OptionSpec] = {s.name: s for s in POSE_OPTION_SPECS}


@dataclass(frozen=True, kw_only=True)
class PoseOptions:
    """How poses are found in one image.

    ``mode="single"`` is the reference's ``estimateSinglePose`` (one pose, each part at its
    heatmap maximum); ``"multi"`` its ``estimateMultiplePoses`` with ``max_detections``,
    ``score_threshold`` and ``nms_radius`` (model-input pixels), which single mode ignores.
    ``min_pose_score`` drops weaker poses after decoding (the reference's demos do this);
    ``min_part_score`` only affects drawing. ``input_resolution``, ``image_scale_factor``
    (PoseNet 1.x style, in (0, 1]) and ``output_stride`` override the model's for this
    call. ``input_shape``, ``pose_score_top_k``, ``refine_votes``, ``clamp``,
    ``flip_test`` and ``single_from_multi`` go beyond the reference (the ``accurate``
    presets use them). Defaults are the reference API's (the ``reference`` preset).
    """

    mode: Mode = "multi"
    flip_horizontal: bool = False
    max_detections: int = 5
    score_threshold: float = 0.5
    nms_radius: float = 20.0
    min_pose_score: float = 0.0
    min_part_score: float = 0.0
    input_shape: str = "square"
    pose_score_top_k: int = 0
    refine_votes: bool = False
    clamp: bool = False
    flip_test: bool = False
    single_from_multi: bool = False
    input_resolution: Resolution | None = None
    image_scale_factor: float | None = None
    output_stride: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"Invalid mode {self.mode!r}. Should be one of {', '.join(MODES)}")
        for spec in POSE_OPTION_SPECS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))
        if self.input_resolution is not None:
            object.__setattr__(self, "input_resolution", Resolution.parse(self.input_resolution))
        factor = self.image_scale_factor
        if factor is not None:
            if not _is_number(factor) or not 0 < factor <= 1:
                raise ValueError(f"Invalid image_scale_factor {factor!r}. Should be in (0.0, 1.0]")
            if self.input_resolution is not None:
                raise ValueError("pass either input_resolution or image_scale_factor, not both")
        stride = self.output_stride
        if stride is not None and (not _is_int(stride) or stride not in (8, 16, 32)):
            raise ValueError(f"Invalid outputStride {stride}. Should be one of 8,16,32.")

    def replace(self, **changes: Any) -> PoseOptions:
        """A copy with some fields changed (validated again); ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the resolution as text, e.g. ``"353x257"``, or null)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["input_resolution"] = None if self.input_resolution is None else str(self.input_resolution)
        return out


# ---------------------------------------------------------------------------- presets


@dataclass(frozen=True, slots=True)
class Preset:
    """A named set of pose options, one per mode."""

    name: str
    description: str
    single: PoseOptions
    multi: PoseOptions

    def options(self, mode: Mode = "multi", **overrides: Any) -> PoseOptions:
        """This preset's options for ``mode``, with ``overrides`` (``None`` = keep)."""
        if mode not in MODES:
            raise ValueError(f"Invalid mode {mode!r}. Should be one of {', '.join(MODES)}")
        return (self.single if mode == "single" else self.multi).replace(**overrides)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "single": self.single.to_dict(), "multi": self.multi.to_dict()}


_ACCURATE: dict[str, Any] = {"input_shape": "aspect", "pose_score_top_k": 5, "refine_votes": True, "clamp": True}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "reference",
            "the reference API's defaults: nothing filtered (multi: 5 poses, score threshold 0.5, NMS 20 px)",
            PoseOptions(mode="single"),
            PoseOptions(mode="multi"),
        ),
        Preset(
            "camera",
            "the reference camera demo's: single drops poses under 0.1 and draws parts from 0.5; multi finds "
            "5 poses from parts of 0.1, NMS 30 px, drops poses under 0.15",
            PoseOptions(mode="single", min_pose_score=0.1, min_part_score=0.5),
            PoseOptions(mode="multi", max_detections=5, score_threshold=0.1, nms_radius=30.0,
                        min_pose_score=0.15, min_part_score=0.1),
        ),
        Preset(
            "accurate",
            "more accurate than the reference at about its cost: the image's aspect kept at the same pixel count, "
            "poses scored by their 5 best keypoints, keypoints refined by offset votes and clamped to the image; "
            "multi finds 20 poses from parts of 0.1, NMS 20 px",
            PoseOptions(mode="single", min_part_score=0.1, score_threshold=0.1, **_ACCURATE, single_from_multi=True),
            PoseOptions(mode="multi", max_detections=20, score_threshold=0.1, nms_radius=20.0, min_part_score=0.1,
                        **_ACCURATE),
        ),
        Preset(
            "most-accurate",
            "accurate plus flip test-time augmentation and output stride 8 (about 4x the time)",
            PoseOptions(mode="single", min_part_score=0.1, score_threshold=0.1, **_ACCURATE, single_from_multi=True,
                        flip_test=True, output_stride=8),
            PoseOptions(mode="multi", max_detections=20, score_threshold=0.1, nms_radius=20.0, min_part_score=0.1,
                        **_ACCURATE, flip_test=True, output_stride=8),
        ),
        Preset(
            "coco",
            "the reference COCO demo's decoding for evaluation: 15 poses from parts of 0.1, NMS 20 px, none dropped",
            PoseOptions(mode="single", min_part_score=0.1),
            PoseOptions(mode="multi", max_detections=15, score_threshold=0.1, nms_radius=20.0, min_part_score=0.1),
        ),
    )
}
"""The named presets; :func:`pose_options` turns a name into options."""

DEFAULT_PRESET = "camera"
"""The preset the command line, the server and its page use unless told otherwise
(the library's ``estimate`` and the reference-named methods default to ``reference``)."""
EVAL_PRESET = "coco"
"""The preset ``posenet eval`` uses unless told otherwise."""


def get_preset(name: str) -> Preset:
    """The preset called ``name``; ``ValueError`` lists the names."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Invalid preset {name!r}. Should be one of {', '.join(PRESETS)}") from None


def pose_options(options: PoseOptions | str | None = None, *, mode: Mode | None = None, **overrides: Any) -> PoseOptions:
    """One way to say which pose options to use.

    ``options`` is a :class:`PoseOptions`, a preset name, or ``None`` (the ``reference``
    preset). ``mode`` picks the preset's single or multi options (default multi), or
    changes the mode of given options; ``overrides`` change fields (``None`` = keep).
    """
    if isinstance(options, PoseOptions):
        return options.replace(mode=mode, **overrides)
    return get_preset("reference" if options is None else options).options(mode or "multi", **overrides)
