"""The request options and the documented JSON shapes of the service.

:data:`RequestOptions` is generated from :data:`posenet.options.POSE_OPTION_SPECS`, so the
server accepts exactly the library's options with the library's bounds and help, plus
``model``, ``preset``, ``mode`` and ``input_resolution``. An option left out (``None``) takes the
preset's value (``model``: the service's default model); :meth:`RequestBase.to_options` resolves them into
:class:`posenet.options.PoseOptions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from ..options import (
    DEFAULT_PRESET,
    MAX_INPUT_SIDE_DEFAULT,
    MIN_INPUT_SIDE,
    MODES,
    POSE_OPTION_SPECS,
    PRESETS,
    Mode,
    OptionSpec,
    PoseOptions,
    Resolution,
    get_preset,
)
from .errors import ApiError, options_error, validation_detail


class RequestBase(BaseModel):
    """Options of one estimate: the query parameters of ``POST /v1/poses`` and the fields
    of a stream's ``options`` message. Unknown names are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    if TYPE_CHECKING:  # generated fields (see RequestOptions) that the code below reads
        model: str | None
        preset: str
        mode: Mode
        input_resolution: str | None

    def to_options(self, where: str = "query") -> PoseOptions:
        """The preset's options for the mode with the fields given; the library's
        ``ValueError`` becomes a 422 (``loc`` starting with ``where``)."""
        overrides = {spec.name: getattr(self, spec.name) for spec in POSE_OPTION_SPECS}
        try:
            preset = get_preset(self.preset)
            return preset.options(self.mode, input_resolution=self.input_resolution, **overrides)
        except ValueError as exc:
            raise options_error(exc, where) from None


def _resolution_text(value: str | None) -> str | None:
    """``input_resolution`` checked by :meth:`Resolution.parse`, as canonical text."""
    if value is None or not value.strip():
        return None
    return str(Resolution.parse(value))


def _spec_field(spec: OptionSpec) -> tuple[Any, Any]:
    """``(type | None, Field(None, bounds, description))`` of one library option."""
    kind: Any = Literal[tuple(spec.choices)] if spec.kind is str else spec.kind
    bounds: dict[str, Any] = {}
    if spec.minimum is not None:
        bounds["gt" if spec.exclusive_minimum else "ge"] = spec.minimum
    if spec.maximum is not None:
        bounds["le"] = spec.maximum
    if spec.kind is float:
        bounds["allow_inf_nan"] = False
    only = f" ({spec.modes[0]}-pose only)" if len(spec.modes) == 1 else ""
    description = f"{spec.help}{only}. Default: the preset's."
    return kind | None, Field(None, description=description, **bounds)


def _fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "model": (str | None, Field(
            None, max_length=64, examples=["posenet", "movenet-lightning"],
            description="The model family to run, one of those `GET /v1/models` lists (an unknown one: 400 "
            "naming them). Default: the service's default model (`posenet serve --model`).")),
        "preset": (Literal[tuple(PRESETS)], Field(
            DEFAULT_PRESET, description="Named options: " + "; ".join(
                f"`{p.name}`: {p.description}" for p in PRESETS.values()) + ".")),
        "mode": (Literal[MODES], Field(
            "multi", description="`single`: one pose (the reference's estimateSinglePose); "
            "`multi`: several (estimateMultiplePoses).")),
    }
    fields.update({spec.name: _spec_field(spec) for spec in POSE_OPTION_SPECS})
    fields["input_resolution"] = (Annotated[str | None, AfterValidator(_resolution_text)], Field(
        None, max_length=32, examples=["257", "353x257"],
        description=f"Model input size: `N` (square) or `WIDTHxHEIGHT`, each side in "
        f"[{MIN_INPUT_SIDE}, {MAX_INPUT_SIDE_DEFAULT}] (`POSENET_MAX_INPUT_SIDE` may raise the bound). "
        "Default: the loaded model's."))
    return fields


RequestOptions: type[RequestBase] = create_model("RequestOptions", __base__=RequestBase, **_fields())
"""The request options model (see :class:`RequestBase`)."""


def parse_options(data: Mapping[str, Any], where: str = "query") -> tuple[RequestBase, PoseOptions]:
    """Validate ``data`` into request options and resolve them, or raise a 422."""
    try:
        request = RequestOptions.model_validate(dict(data))
    except ValidationError as exc:
        raise ApiError(422, validation_detail(exc, where)) from None
    return request, request.to_options(where)


def query_parameters() -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``POST /v1/poses`` (``null`` branches left out:
    a parameter left out takes the preset's value)."""
    params = []
    for name, prop in RequestOptions.model_json_schema()["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        if prop.get("default", 0) is None:
            del prop["default"]
        params.append({"name": name, "in": "query", "required": False, "description": description, "schema": prop})
    return params


def presets_json() -> dict[str, Any]:
    """Every preset as JSON, by name."""
    return {name: preset.to_dict() for name, preset in PRESETS.items()}


# ----------------------------------------------------------------------------- responses
# Documentation of the JSON shapes (responses are built as plain dicts for speed).


class Position(BaseModel):
    x: float | None
    y: float | None


class Keypoint(BaseModel):
    score: float | None
    part: str
    position: Position


class Pose(BaseModel):
    score: float | None
    keypoints: list[Keypoint] | list[dict[str, Any]]


class Timing(BaseModel):
    decode_ms: float = Field(description="Reading and decoding the image.")
    queue_ms: float = Field(description="Waiting for a worker thread.")
    inference_ms: float = Field(description="Estimating the poses (network + decoding).")
    total_ms: float = Field(description="From the whole body received to the answer.")


class PosesResponse(BaseModel):
    """Poses in the pixel frame of the uploaded image (EXIF orientation applied), found by
    ``model``. Each model family has its JSON shape (PoseNet: ``part``, ``position``; MoveNet
    and BlazePose: ``name``, ``x``, ``y``; BlazePose adds ``keypoints3D`` in metres)."""

    model: str
    width: int
    height: int
    poses: list[Pose]
    timing: Timing


class ErrorResponse(BaseModel):
    detail: Any


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Empty, undecodable or truncated image; a Host not accepted; "
          "a `model` the service does not offer."},
    403: {"model": ErrorResponse, "description": "An Origin (another site's page) not accepted."},
    408: {"model": ErrorResponse, "description": "The body did not arrive within body_timeout."},
    413: {"model": ErrorResponse, "description": "Body over max_upload_bytes or image over max_pixels."},
    415: {"model": ErrorResponse, "description": "Unsupported Content-Type."},
    422: {"model": ErrorResponse, "description": "Bad or unknown query parameter."},
    503: {"model": ErrorResponse, "description": "max_queue requests in progress (refused before the body "
          "is read); retry later. Also: the model named cannot be loaded on this machine."},
}
