"""Image -> network input, exactly as the reference prepares it.

1. Pad the image symmetrically with black to the input resolution's aspect ratio (pad
   amounts rounded with JavaScript's ``Math.round``, half up).
2. Resize to the input resolution with TF1 legacy bilinear interpolation
   (``align_corners=False, half_pixel_centers=False``: source = destination * in / out),
   computed in float64 and stored as float32.
3. Normalise per architecture: MobileNetV1 ``x / 127.5 - 1``; ResNet50 ``x - ImageNet mean``.

Padding and resize are done in one gather from the unpadded image, so the padded image is
never built; the index tables depend only on sizes and are cached. Output rows and columns
that see only padding are not computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .jsmath import js_round
from .options import Resolution, ResolutionLike, valid_resolution

__all__ = ["Padding", "RESNET_MEAN", "compute_padding", "normalize", "pad_and_resize", "preprocess",
           "aspect_input_size", "resolution_from_scale_factor", "resolve_input_resolution", "valid_resolution"]

RESNET_MEAN = np.array([-123.15, -115.90, -103.06], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Padding:
    """Pixels of zero padding added on each side of an image before resizing it to the
    model input (image pixels)."""

    top: int
    bottom: int
    left: int
    right: int


def resolve_input_resolution(input_resolution: ResolutionLike, output_stride: int) -> tuple[int, int]:
    """Validate an input resolution (any :data:`~posenet.options.ResolutionLike`) and make
    it valid for the stride: returns (height, width)."""
    return Resolution.parse(input_resolution).for_stride(output_stride)


def aspect_input_size(image_size: tuple[int, int], budget: tuple[int, int], output_stride: int,
                      max_side: int) -> tuple[int, int]:
    """An input ``(H, W)`` with the image's aspect ratio and about the pixel count of
    ``budget`` ``(height, width)``: each side the nearest ``n * stride + 1``, at least
    ``stride + 1`` and at most ``max_side``."""
    h, w = image_size
    pixels = budget[0] * budget[1]
    ratio = w / h if h > 0 else 1.0

    def side(length: float) -> int:
        n = max(round((length - 1) / output_stride), 1)
        return min(n * output_stride + 1, valid_resolution(max_side, output_stride))

    return side(math.sqrt(pixels / ratio)), side(math.sqrt(pixels * ratio))


def resolution_from_scale_factor(image_size: tuple[int, int], image_scale_factor: float,
                                 output_stride: int) -> tuple[int, int]:
    """PoseNet 1.x's ``imageScaleFactor``: per dimension ``r = size * factor - 1``, then
    ``r - r % stride + 1``. Returns (height, width)."""
    if isinstance(image_scale_factor, bool) or not 0 < image_scale_factor <= 1:
        raise ValueError(f"Invalid image_scale_factor {image_scale_factor!r}. Should be in (0.0, 1.0]")

    def one(size: int) -> int:
        r = size * image_scale_factor - 1
        return max(int(r - math.fmod(r, output_stride) + 1), 1)

    return one(image_size[0]), one(image_size[1])


def compute_padding(image_size: tuple[int, int], input_size: tuple[int, int]) -> Padding:
    """Symmetric padding that gives the image (height, width) the aspect of the input size."""
    h, w = image_size
    target_h, target_w = input_size
    target_aspect = target_w / target_h
    aspect = w / h if h else math.nan
    if aspect < target_aspect:
        pad = js_round(0.5 * (target_aspect * h - w))
        return Padding(top=0, bottom=0, left=pad, right=pad)
    pad = js_round(0.5 * (w / target_aspect - h))
    return Padding(top=pad, bottom=pad, left=0, right=0)


@lru_cache(maxsize=64)
def _axis_table(size: int, pad_before: int, padded: int, out: int) -> tuple[np.ndarray, ...]:
    """For one axis: source indices (clipped into the unpadded image), whether each
    source is inside it, and the interpolation fraction, for both neighbours."""
    scale = padded / out
    src = scale * np.arange(out, dtype=np.float64)
    lo = np.floor(src)
    hi = np.minimum(padded - 1, np.ceil(src))
    frac = src - lo
    lo_i, hi_i = lo.astype(np.intp) - pad_before, hi.astype(np.intp) - pad_before
    lo_ok, hi_ok = (lo_i >= 0) & (lo_i < size), (hi_i >= 0) & (hi_i < size)
    tables = (np.clip(lo_i, 0, max(size - 1, 0)), np.clip(hi_i, 0, max(size - 1, 0)), lo_ok, hi_ok, frac)
    for t in tables:
        t.setflags(write=False)
    return tables


def _inside(a_ok: np.ndarray, b_ok: np.ndarray) -> slice:
    """Output positions with a tap inside the image (the padding is a band at each end)."""
    any_ok = a_ok | b_ok
    if not any_ok.any():
        return slice(0, 0)
    return slice(int(np.argmax(any_ok)), len(any_ok) - int(np.argmax(any_ok[::-1])))


def pad_and_resize(image: np.ndarray, input_size: tuple[int, int], padding: Padding) -> np.ndarray:
    """Zero-pad ``image`` (uint8 [h, w, 3]) by ``padding`` and resize it to ``input_size``
    (height, width) with legacy bilinear interpolation. Returns float32 [H, W, 3].

    Output rows/columns whose taps all fall in the padding are left at 0 without computing
    them; the rest is gathered with flat pixel indices (``take``) and interpolated in float64.
    """
    h, w = image.shape[:2]
    out_h, out_w = input_size
    out = np.zeros((out_h, out_w, 3), dtype=np.float32)
    if h == 0 or w == 0:
        return out
    r0, r1, r0_ok, r1_ok, rf = _axis_table(h, padding.top, h + padding.top + padding.bottom, out_h)
    c0, c1, c0_ok, c1_ok, cf = _axis_table(w, padding.left, w + padding.left + padding.right, out_w)
    rs, cs = _inside(r0_ok, r1_ok), _inside(c0_ok, c1_ok)
    r0, r1, r0_ok, r1_ok, rf = r0[rs], r1[rs], r0_ok[rs], r1_ok[rs], rf[rs]
    c0, c1, c0_ok, c1_ok, cf = c0[cs], c1[cs], c0_ok[cs], c1_ok[cs], cf[cs]
    n_rows, n_cols = len(r0), len(c0)
    pixels = np.ascontiguousarray(image).reshape(h * w, 3)
    colf = cf[None, :, None]

    def row_lerp(rows: np.ndarray, rows_ok: np.ndarray) -> np.ndarray:
        base = (rows * w)[:, None]
        left = pixels.take((base + c0).ravel(), axis=0).reshape(n_rows, n_cols, 3)
        right = pixels.take((base + c1).ravel(), axis=0).reshape(n_rows, n_cols, 3)
        for tap, cols_ok in ((left, c0_ok), (right, c1_ok)):
            if not rows_ok.all():
                tap[~rows_ok] = 0
            if not cols_ok.all():
                tap[:, ~cols_ok] = 0
        lerp: np.ndarray = np.subtract(right, left, dtype=np.float64)
        lerp *= colf
        lerp += left
        return lerp

    top = row_lerp(r0, r0_ok)
    bottom = row_lerp(r1, r1_ok)
    bottom -= top
    bottom *= rf[:, None, None]
    bottom += top
    out[rs, cs] = bottom
    return out


def normalize(resized: np.ndarray, architecture: str) -> np.ndarray:
    """float32 [.., 3] in 0..255 -> the network's input range, in float32 arithmetic."""
    if architecture == "ResNet50":
        return resized + RESNET_MEAN
    out = resized / np.float32(127.5)
    out -= np.float32(1.0)
    return out


def preprocess(image: np.ndarray, input_size: tuple[int, int], architecture: str) -> tuple[np.ndarray, Padding]:
    """uint8 RGB [h, w, 3] -> (float32 [H, W, 3] network input, the padding applied)."""
    padding = compute_padding(image.shape[:2], input_size)
    return normalize(pad_and_resize(image, input_size, padding), architecture), padding
