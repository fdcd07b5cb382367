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

from .model import (
    ARCHITECTURES,
    DEFAULT_MULTIPLIERS,
    ENGINE_NAMES,
    MAX_IMAGE_PIXELS_DEFAULT,
    MAX_INPUT_SIDE_DEFAULT,
    MAX_THREADS,
    MIN_INPUT_SIDE,
    MODES,
    PRECISIONS,
    VALID_MULTIPLIERS,
    VALID_OUTPUT_STRIDES,
    VALID_QUANT_BYTES,
    Mode,
    ModelConfig,
    Resolution,
    ResolutionLike,
    check_output_stride,
    max_image_pixels,
    max_input_side,
    valid_resolution,
)
from .pose import (
    DEFAULT_PRESET,
    EVAL_PRESET,
    POSE_OPTION_SPECS,
    PRESETS,
    SPECS_BY_NAME,
    OptionSpec,
    PoseOptions,
    Preset,
    get_preset,
    pose_options,
)

__all__ = [
    "ARCHITECTURES", "DEFAULT_MULTIPLIERS", "DEFAULT_PRESET", "ENGINE_NAMES", "EVAL_PRESET", "MAX_IMAGE_PIXELS_DEFAULT",
    "MAX_INPUT_SIDE_DEFAULT", "MAX_THREADS", "MIN_INPUT_SIDE", "MODES", "POSE_OPTION_SPECS", "PRECISIONS", "PRESETS",
    "SPECS_BY_NAME", "VALID_MULTIPLIERS", "VALID_OUTPUT_STRIDES", "VALID_QUANT_BYTES", "Mode", "ModelConfig",
    "OptionSpec", "PoseOptions", "Preset", "Resolution", "ResolutionLike", "check_output_stride", "get_preset",
    "max_image_pixels", "max_input_side", "pose_options", "valid_resolution",
]
