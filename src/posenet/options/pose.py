"""Pose options (how poses are found in one image) and the named presets."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from .model import MODES, Mode, Resolution, _is_int, _is_number

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
        too_low = lo is not None and (value <= lo if self.exclusive_minimum else value < lo)
        if too_low or (hi is not None and value > hi):
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
            "accurate plus flip test-time augmentation and output stride 8 (about 5x the time)",
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


def pose_options(options: PoseOptions | str | None = None, *, mode: Mode | None = None,
                 **overrides: Any) -> PoseOptions:
    """One way to say which pose options to use.

    ``options`` is a :class:`PoseOptions`, a preset name, or ``None`` (the ``reference``
    preset). ``mode`` picks the preset's single or multi options (default multi), or
    changes the mode of given options; ``overrides`` change fields (``None`` = keep).
    """
    if isinstance(options, PoseOptions):
        return options.replace(mode=mode, **overrides)
    return get_preset("reference" if options is None else options).options(mode or "multi", **overrides)
