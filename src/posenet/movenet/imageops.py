"""The two image resamplers MoveNet's input goes through, as tfjs-backend-cpu 4.22 computes them.

``crop_and_resize`` is ``tf.image.cropAndResize(..., 'bilinear', 0)``, ``resize_bilinear``
``tf.image.resizeBilinear`` (``alignCorners=false``, ``halfPixelCenters=false``); both
interpolate in float64 and store float32, and :func:`to_int32` is TF.js's ``cast(x, 'int32')``
(truncation), so the int32 model input matches the reference's pixel for pixel (up to the
last float32 bit of the crop box). Images are ``[H, W, C]`` arrays, coordinates in pixels
of the source unless stated.
"""

from __future__ import annotations

import numpy as np


def _axis(start: float, end: float, size: int, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample positions along one axis for a normalised [start, end] span: floor, ceil, lerp, valid."""
    steps = np.arange(out, dtype=np.float64)
    if out > 1:
        scale = (end - start) * (size - 1) / (out - 1)
        pos = start * (size - 1) + steps * scale
    else:
        pos = np.full(out, 0.5 * (start + end) * (size - 1))
    valid = (pos >= 0) & (pos <= size - 1)
    safe = np.where(valid, pos, 0.0)
    lo = np.floor(safe).astype(np.intp)
    hi = np.ceil(safe).astype(np.intp)
    return lo, hi, safe - lo, valid


def _lerp_rows(image: np.ndarray, top: np.ndarray, bottom: np.ndarray, left: np.ndarray, right: np.ndarray,
               x_lerp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper and lower rows of every output pixel, interpolated across columns in float64.
    Only the sampled pixels are gathered and converted (not the whole image): same values."""
    xl = x_lerp[None, :, None]
    rows = []
    for index in (top, bottom):
        picked = image[index]
        a = picked[:, left].astype(np.float64)
        rows.append(a + (picked[:, right].astype(np.float64) - a) * xl)
    return rows[0], rows[1]


def crop_and_resize(image: np.ndarray, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The ``box`` (y_min, x_min, y_max, x_max, normalised to the image, may reach outside it)
    resampled to ``size`` (height, width): float32 ``[height, width, C]``, 0 outside the image."""
    y1, x1, y2, x2 = (float(np.float32(v)) for v in box)  # the reference's boxes are a float32 tensor
    height, width = image.shape[:2]
    top, bottom, y_lerp, y_ok = _axis(y1, y2, height, size[0])
    left, right, x_lerp, x_ok = _axis(x1, x2, width, size[1])
    upper, lower = _lerp_rows(image, top, bottom, left, right, x_lerp)
    out = upper + (lower - upper) * y_lerp[:, None, None]
    out[~(y_ok[:, None] & x_ok[None, :])] = 0.0
    result: np.ndarray = out.astype(np.float32)
    return result


def _source(old: int, new: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frac = (old / new) * np.arange(new, dtype=np.float64)
    lo = np.maximum(0.0, np.floor(frac))
    hi = np.minimum(old - 1, np.ceil(frac)).astype(np.intp)
    return lo.astype(np.intp), hi, frac - lo


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (height, width) without corner alignment: float32."""
    top, bottom, row_frac = _source(image.shape[0], size[0])
    left, right, col_frac = _source(image.shape[1], size[1])
    upper, lower = _lerp_rows(image, top, bottom, left, right, col_frac)
    result: np.ndarray = (upper + (lower - upper) * row_frac[:, None, None]).astype(np.float32)
    return result


def to_int32(values: np.ndarray) -> np.ndarray:
    """TF.js's float-to-int32 cast: truncation toward zero."""
    result: np.ndarray = np.trunc(values).astype(np.int32)
    return result
