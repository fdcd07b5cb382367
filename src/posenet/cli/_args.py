"""Arguments shared by the verbs, generated from :mod:`posenet.options` and
:mod:`posenet.families`, and turned into a :class:`~posenet.options.ModelConfig` and
:class:`~posenet.options.PoseOptions` in one place (:func:`resolve`).

- model options: ``--model`` (the families) and one flag per ``ModelConfig`` field,
  choices and defaults from the option tables, plus one flag per field of another family's
  configuration (``--enable-segmentation`` for BlazePose, ``--enable-smoothing`` for MoveNet
  and BlazePose; booleans, numbers and text; generated from :data:`posenet.families.FAMILIES`,
  so a new family's fields get flags without a change here);
- pose options: ``--preset`` (the named presets), ``--multi`` (mode) and one flag per
  :data:`~posenet.options.POSE_OPTION_SPECS` entry whose default ``None`` means "the
  preset's value".
"""

from __future__ import annotations

import argparse
import math
import time
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from typing import Any

from posenet.families import DEFAULT_MODEL, FAMILIES, PoseModel, create_detector, get_family
from posenet.options import (
    ARCHITECTURES,
    DEFAULT_MULTIPLIERS,
    ENGINE_NAMES,
    MIN_INPUT_SIDE,
    MODES,
    POSE_OPTION_SPECS,
    PRECISIONS,
    PRESETS,
    VALID_MULTIPLIERS,
    VALID_OUTPUT_STRIDES,
    VALID_QUANT_BYTES,
    ModelConfig,
    OptionSpec,
    Preset,
    Resolution,
    get_preset,
    max_input_side,
)

from ._output import Console, UsageError, add_verbosity

# ---------------------------------------------------------------------------------------
# Argument types (each raises ArgumentTypeError: argparse reports it, exit code 2)


def bounded(kind: type[int] | type[float], low: float, high: float = math.inf, *,
            above: bool = False) -> Callable[[str], Any]:
    """An argparse type: a finite ``kind`` number ``>= low`` (``> low`` with ``above``) and ``<= high``."""
    what = "an integer" if kind is int else "a number"
    rule = f"> {low:g}" if above else f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"

    def parse(text: str) -> Any:
        value = kind(text)
        if not (math.isfinite(value) and (value > low if above else value >= low) and value <= high):
            raise argparse.ArgumentTypeError(f"expected {what} {rule}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


count = bounded(int, 0)
positive_int = bounded(int, 1)
non_negative = bounded(float, 0)
positive = bounded(float, 0, above=True)
fraction = bounded(float, 0, 1)


def resolution(text: str) -> Resolution:
    """``N`` (square) or ``WIDTHxHEIGHT``, as :meth:`Resolution.parse` reads it; an error names the bounds."""
    try:
        return Resolution.parse(text)
    except ValueError:
        bounds = f"[{MIN_INPUT_SIDE}, {max_input_side()}] (POSENET_MAX_INPUT_SIDE raises the top), got {text}"
        raise argparse.ArgumentTypeError(f"expected N or WxH, each side a whole number of pixels in {bounds}") from None


def spec_type(spec: OptionSpec) -> Callable[[str], Any]:
    """The argparse type of a numeric pose option: parsed, then checked by the spec (booleans, choices: actions)."""

    def parse(text: str) -> Any:
        try:
            return spec.check(float(text) if spec.kind is float else int(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = spec.kind.__name__
    return parse


# ---------------------------------------------------------------------------------------
# Model options


def _model_defaults() -> dict[str, Any]:
    return {f.name: f.default if f.default_factory is MISSING else f.default_factory() for f in fields(ModelConfig)}


def _union(table: dict[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(sorted({v for values in table.values() for v in values}))


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model option group; each ``dest`` is the ``ModelConfig`` field it sets."""
    d = _model_defaults()
    group = parser.add_argument_group("model options")
    families = "; ".join(f"{f.name}: {f.description}" for f in FAMILIES.values())
    group.add_argument("--model", choices=tuple(FAMILIES), default=DEFAULT_MODEL, metavar="FAMILY",
                       help=f"model family (default {DEFAULT_MODEL}); {families}")
    group.add_argument("--architecture", choices=ARCHITECTURES, default=d["architecture"],
                       help=f"backbone (default {d['architecture']})")
    multipliers = ", ".join(f"{a} {m}" for a, m in DEFAULT_MULTIPLIERS.items())
    group.add_argument("--multiplier", type=float, choices=_union(VALID_MULTIPLIERS), default=d["multiplier"],
                       help=f"MobileNetV1 width (default per architecture: {multipliers})")
    group.add_argument("--quant-bytes", type=int, choices=VALID_QUANT_BYTES, default=d["quant_bytes"],
                       help=f"weights: 4 float32, 2 uint16, 1 uint8 (default {d['quant_bytes']})")
    strides = "; ".join(f"{a}: {','.join(map(str, s))}" for a, s in VALID_OUTPUT_STRIDES.items())
    group.add_argument("--output-stride", type=int, choices=_union(VALID_OUTPUT_STRIDES), default=d["output_stride"],
                       help=f"smaller = more accurate and slower ({strides}; default {d['output_stride']})")
    group.add_argument("--input-resolution", type=resolution, default=d["input_resolution"], metavar="N|WxH",
                       help=f"network input size, e.g. 257, 513 or 640x480 (default {d['input_resolution']})")
    group.add_argument("--engine", choices=ENGINE_NAMES, default=d["engine"],
                       help=f"inference engine (default {d['engine']}: ONNX Runtime if installed)")
    group.add_argument("--threads", dest="num_threads", type=int, default=d["num_threads"], metavar="N",
                       help="engine threads (default: the engine's choice)")
    group.add_argument("--precision", choices=PRECISIONS, default=d["precision"],
                       help=f"network precision (default {d['precision']}); int8: MobileNetV1 on ONNX Runtime, "
                            "built from the checkpoint on first use (~2 s, then cached)")
    group.add_argument("--model-url", default=d["model_url"], metavar="PATH|URL",
                       help="a model JSON, its folder or an http(s) URL instead of the official checkpoint")
    group.add_argument("--tfjs-compat", action="store_true", default=d["tfjs_compat"],
                       help="reproduce TF.js exactly, including its misread stride-8 dilation (less accurate)")
    add_family_options(group)


FAMILY_FLAG_SKIP = frozenset({"model_type"})
"""Configuration fields that get no flag: the family's name already says them."""


def _simple_kind(hint: Any) -> type | None:
    """``bool``, ``int``, ``float`` or ``str`` for a field typed so (or ``X | None``), else ``None``."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    kinds = [o for o in options if o is not type(None)]
    return kinds[0] if len(kinds) == 1 and kinds[0] in (bool, int, float, str) else None


def family_fields() -> dict[str, tuple[type, dict[str, Any]]]:
    """The configuration fields of the families besides PoseNet's ``ModelConfig``, with a flag
    each: ``name -> (kind, {family: its default})``. Fields of other types (nested
    configurations) and names taken by other flags (the pose options) get none."""
    taken = {f.name for f in fields(ModelConfig)} | FAMILY_FLAG_SKIP | {s.name for s in POSE_OPTION_SPECS}
    found: dict[str, tuple[type, dict[str, Any]]] = {}
    for family in FAMILIES.values():
        if family.config_type is ModelConfig:
            continue
        hints = typing.get_type_hints(family.config_type)
        defaults = family.config_type()
        for f in fields(family.config_type):
            kind = _simple_kind(hints.get(f.name))
            if f.name in taken or kind is None or found.get(f.name, (kind, {}))[0] is not kind:
                continue
            found.setdefault(f.name, (kind, {}))[1][family.name] = getattr(defaults, f.name)
    return found


FAMILY_FLAG_HELP: dict[str, str] = {
    "enable_smoothing": "smooth keypoints over video frames (One Euro filters on the frame times)",
    "multi_pose_max_dimension": "multi-pose input's longer side in pixels (a multiple of 32)",
    "enable_tracking": "follow people across frames with stable ids (multi-pose)",
    "tracker_type": "how tracks are matched: boundingBox or keypoint",
    "enable_segmentation": "also compute the person segmentation mask (posenet image --mask)",
    "smooth_segmentation": "blend each frame's mask with the previous one's (video)",
    "detector_model_url": "the person detector's model JSON instead of the one found by name",
    "landmark_model_url": "the landmark model's JSON instead of the one found by name",
}
"""What the generated family flags do (a field not listed gets its name as help)."""


def _families_text(names: list[str]) -> str:
    """``movenet-*`` for every family of a prefix, else the names."""
    out: list[str] = []
    for name in names:
        prefix = name.split("-", 1)[0]
        group = [n for n in FAMILIES if n.split("-", 1)[0] == prefix]
        if len(group) > 1 and set(group) <= set(names):
            if f"{prefix}-*" not in out:
                out.append(f"{prefix}-*")
        else:
            out.append(name)
    return ", ".join(out)


def _family_help(name: str, kind: type, defaults: dict[str, Any]) -> str:
    values = {"automatic" if v is None else _value_text(v) for v in defaults.values()}
    default = f"default {values.pop()}" if len(values) == 1 else "default: the family's"
    what = FAMILY_FLAG_HELP.get(name, name.replace("_", " "))
    return f"{_families_text(list(defaults))} only: {what} ({default})".replace("%", "%%")


def add_family_options(group: Any) -> None:
    """One flag per :func:`family_fields` entry (``dest`` = the field; ``None``: the family's default)."""
    for name, (kind, defaults) in family_fields().items():
        flag = "--" + name.replace("_", "-")
        text = _family_help(name, kind, defaults)
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            metavar = {int: "N", float: "X"}.get(kind, "URL" if name.endswith("_url") else "NAME")
            group.add_argument(flag, dest=name, type=kind, default=None, metavar=metavar, help=text)


# ---------------------------------------------------------------------------------------
# Pose options

POSE_FLAGS: dict[str, tuple[str, ...]] = {
    "flip_horizontal": ("--flip",),
    "min_pose_score": ("--min-pose-confidence", "--min-pose-score"),
    "min_part_score": ("--min-part-confidence", "--min-part-score"),
}
"""Flag names of the pose options whose flag is not ``--`` + the field name with dashes."""

POSE_METAVARS: dict[str, str] = {"nms_radius": "PX", "pose_score_top_k": "K"}


def pose_flags(spec: OptionSpec) -> tuple[str, ...]:
    """The command-line flags of a pose option."""
    return POSE_FLAGS.get(spec.name, ("--" + spec.name.replace("_", "-"),))


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _preset_values(spec: OptionSpec, preset: Preset) -> str:
    """What the preset sets, e.g. ``0.5 single, 0.1 multi`` or ``5``."""
    by_mode = {m: _value_text(getattr(preset.options(m), spec.name)) for m in spec.modes}
    if len(set(by_mode.values())) == 1:
        return next(iter(by_mode.values()))
    return ", ".join(f"{v} {m}" for m, v in by_mode.items())


def _spec_help(spec: OptionSpec, preset: Preset) -> str:
    only = "" if set(spec.modes) == set(MODES) or spec.help.startswith(spec.modes) else f"{'/'.join(spec.modes)}: "
    text = f"{only}{spec.help} (default: the preset's; {preset.name}: {_preset_values(spec, preset)})"
    return text.replace("%", "%%")


def _preset_help(default: str) -> str:
    listing = "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values())
    return f"named pose options (default {default}); {listing}".replace("%", "%%")


def pose_parent(default_preset: str, *, mode_flag: bool = True, drawing: bool = True) -> argparse.ArgumentParser:
    """A parent parser with the pose option group, defaults from ``default_preset``. Without
    ``mode_flag`` there is no ``--multi`` and the mode is multi (``posenet eval``); ``drawing`` adds ``--boxes``."""
    preset = get_preset(default_preset)
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("pose options")
    group.add_argument("--preset", choices=tuple(PRESETS), default=default_preset, metavar="NAME",
                       help=_preset_help(default_preset))
    if mode_flag:
        group.add_argument("--multi", dest="mode", action="store_const", const="multi", default="single",
                           help="find several people (default: one)")
    else:
        parent.set_defaults(mode="multi")
    for spec in POSE_OPTION_SPECS:
        flags, text = pose_flags(spec), _spec_help(spec, preset)
        if spec.kind is bool:
            group.add_argument(*flags, dest=spec.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif spec.kind is str:
            group.add_argument(*flags, dest=spec.name, choices=spec.choices, default=None, help=text)
        else:
            metavar = POSE_METAVARS.get(spec.name, "N" if spec.kind is int else "S")
            group.add_argument(*flags, dest=spec.name, type=spec_type(spec), default=None, metavar=metavar, help=text)
    if drawing:
        group.add_argument("--boxes", action="store_true", help="also draw bounding boxes")
    return parent


# ---------------------------------------------------------------------------------------
# Parents, resolution, loading


@dataclass(frozen=True)
class Parents:
    """Parent parsers the verbs build on: ``common`` (verbosity), ``model`` (model
    options) and ``pose(default_preset, ...)`` (see :func:`pose_parent`)."""

    common: argparse.ArgumentParser
    model: argparse.ArgumentParser

    def pose(self, default_preset: str, *, mode_flag: bool = True, drawing: bool = True) -> argparse.ArgumentParser:
        """A new pose option parent (:func:`pose_parent`)."""
        return pose_parent(default_preset, mode_flag=mode_flag, drawing=drawing)


def make_parents() -> Parents:
    """The shared parent parsers."""
    common = argparse.ArgumentParser(add_help=False)
    add_verbosity(common, argparse.SUPPRESS)  # so that a verb's default does not hide the global flag
    model = argparse.ArgumentParser(add_help=False)
    add_model_options(model)
    return Parents(common, model)


def resolve(args: argparse.Namespace) -> None:
    """Validate the model and pose options once: sets ``args.model_config`` (:class:`ModelConfig`) and
    ``args.pose_options`` where the verb has them; a ``ValueError`` from either becomes a :class:`UsageError`."""
    try:
        if hasattr(args, "preset"):
            overrides = {spec.name: getattr(args, spec.name) for spec in POSE_OPTION_SPECS}
            args.pose_options = get_preset(args.preset).options(args.mode, **overrides)
        if hasattr(args, "architecture"):
            args.model_config = _model_config(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _model_config(args: argparse.Namespace) -> Any:
    """The configuration of ``--model`` from the flags given; ``ValueError`` for a flag of
    another family."""
    config_type = get_family(args.model).config_type
    taken = {f.name for f in fields(config_type)}
    defaults = ModelConfig()
    extra = family_fields()
    foreign = [f.name for f in fields(ModelConfig) if f.name not in taken and hasattr(args, f.name)
               and getattr(args, f.name) not in (None, getattr(defaults, f.name))]
    foreign += [name for name in extra if name not in taken and getattr(args, name, None) is not None]
    if foreign:
        flags = ", ".join("--" + name.replace("_", "-") for name in foreign)
        raise ValueError(f"--model {args.model} does not take {flags}")
    given = {name: getattr(args, name) for name in taken if hasattr(args, name)
             and not (name in extra and getattr(args, name) is None)}  # None: the family's default
    return config_type(**given)  # a field without a flag keeps its default


def load_model(args: argparse.Namespace, console: Console) -> PoseModel:
    """The model the options name (see :func:`resolve`)."""
    start = time.perf_counter()
    model = create_detector(args.model, args.model_config)
    console.debug(f"loaded {model!r} in {time.perf_counter() - start:.2f} s")
    return model
