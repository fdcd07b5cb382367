"""The affine crop: pose-detection 2.1.3's ``convertImageToTensor`` (rotated sub-rectangle matrix,
projective matrix, ``tf.image.transform`` with bilinear interpolation and constant 0 fill, value
shift) and the 4x4 matrix inverse that maps the segmentation mask back.

``tf.image.transform`` takes its 8 coefficients as a float32 tensor, computes the source
coordinates and the bilinear weights in float64 (JavaScript numbers) and stores float32; the value
shift is two float32 tensor ops. All of that is reproduced here.
"""

from __future__ import annotations

import math

import numpy as np

from .rect import Padding, Rect, get_roi, pad_roi

Matrix = list[list[float]]

TRANSFORM_ARITHMETIC = "float32"
"""How :func:`transform_bilinear` computes: ``"float32"`` as TF.js's wasm backend (the parity
tests' reference, and the C++ kernels generally), ``"float64"`` as its pure-JavaScript cpu backend.
The two differ by under 1e-4 of the 0..1 value range on a few pixels; the landmark model turns
that into hundredths of a pixel."""


def rotated_subrect_matrix(roi: Rect, width: float, height: float, flip: bool = False) -> Matrix:
    """``getRotatedSubRectToRectTransformMatrix``: maps the unit square of the output to ``roi`` (pixels),
    normalised by the image ``width`` x ``height``."""
    a, b = roi.width, roi.height
    sign = -1 if flip else 1
    c, d = math.cos(roi.rotation), math.sin(roi.rotation)
    e, f = roi.x_center, roi.y_center
    g, h = 1.0 / width, 1.0 / height
    return [
        [a * c * sign * g, -b * d * g, 0.0, (-0.5 * a * c * sign + 0.5 * b * d + e) * g],
        [a * d * sign * h, b * c * h, 0.0, (-0.5 * b * c - 0.5 * a * d * sign + f) * h],
        [0.0, 0.0, a * g, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]


def _det3(m: Matrix, i1: int, i2: int, i3: int, j1: int, j2: int, j3: int) -> float:
    return m[i1][j1] * (m[i2][j2] * m[i3][j3] - m[i2][j3] * m[i3][j2])


def _cofactor(m: Matrix, i: int, j: int) -> float:
    i1, i2, i3 = (i + 1) % 4, (i + 2) % 4, (i + 3) % 4
    j1, j2, j3 = (j + 1) % 4, (j + 2) % 4, (j + 3) % 4
    return _det3(m, i1, i2, i3, j1, j2, j3) + _det3(m, i2, i3, i1, j1, j2, j3) + _det3(m, i3, i1, i2, j1, j2, j3)


def inverse_matrix(m: Matrix) -> Matrix:
    """``calculateInverseMatrix``: the cofactor inverse of a 4x4 matrix, in the reference's order."""
    inv = [[0.0] * 4 for _ in range(4)]
    for i in range(4):
        for j in range(4):
            sign = 1 if (i + j) % 2 == 0 else -1
            inv[j][i] = sign * _cofactor(m, i, j)
    scale = m[0][0] * inv[0][0] + m[1][0] * inv[0][1] + m[2][0] * inv[0][2] + m[3][0] * inv[0][3]
    return [[value / scale for value in row] for row in inv]


def projective_matrix(m: Matrix, image_size: tuple[int, int], resolution: tuple[int, int]) -> list[float]:
    """``getProjectiveTransformMatrix``: the 8 ``tf.image.transform`` coefficients mapping output
    pixels (``resolution``, height x width) to pixels of an image of ``image_size`` (height, width)."""
    image_h, image_w = image_size
    out_h, out_w = resolution
    if out_w == 0 or out_h == 0:
        raise ValueError("inputResolution width and height cannot be 0.")
    return [(1 / out_w) * m[0][0] * image_w, (1 / out_h) * m[0][1] * image_w, m[0][3] * image_w,
            (1 / out_w) * m[1][0] * image_h, (1 / out_h) * m[1][1] * image_h, m[1][3] * image_h, 0.0, 0.0]


def transform_bilinear(image: np.ndarray, coefficients: list[float], out_size: tuple[int, int],
                       arithmetic: str | None = None) -> np.ndarray:
    """``tf.image.transform(image, coefficients, 'bilinear', 'constant', 0, out_size)`` of a float32
    ``[H, W, C]`` image: float32 ``[out_h, out_w, C]``.

    ``arithmetic``: ``"float32"`` computes the source coordinates and bilinear weights in float32
    as the wasm backend's C++ kernel does, ``"float64"`` in JavaScript numbers as the cpu backend's
    kernel does; default :data:`TRANSFORM_ARITHMETIC`."""
    kind = np.float32 if (arithmetic or TRANSFORM_ARITHMETIC) == "float32" else np.float64
    t = [kind(v) for v in np.asarray(coefficients, np.float32).tolist()]
    out_h, out_w = out_size
    height, width = image.shape[:2]
    out_y, out_x = np.mgrid[0:out_h, 0:out_w].astype(kind)
    projection = (t[6] * out_x + t[7] * out_y).astype(np.float64) + 1.0
    projection = projection.astype(kind)
    with np.errstate(divide="ignore", invalid="ignore"):
        in_x = (t[0] * out_x + t[1] * out_y + t[2]) / projection
        in_y = (t[3] * out_x + t[4] * out_y + t[5]) / projection
    x0, y0 = np.floor(in_x), np.floor(in_y)
    x1, y1 = x0 + kind(1), y0 + kind(1)
    channels = image.shape[2]
    pixels = np.ascontiguousarray(image).reshape(height * width, channels)  # gathered first, converted after

    def read(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
        flat = np.where(inside, ys, 0).astype(np.intp) * width + np.where(inside, xs, 0).astype(np.intp)
        values: np.ndarray = pixels.take(flat.ravel(), axis=0).reshape(*flat.shape, channels).astype(kind)
        values[~inside] = 0
        return values

    wx0, wx1 = (x1 - in_x)[..., None], (in_x - x0)[..., None]
    top = wx0 * read(y0, x0) + wx1 * read(y0, x1)
    bottom = wx0 * read(y1, x0) + wx1 * read(y1, x1)
    out = (y1 - in_y)[..., None] * top + (in_y - y0)[..., None] * bottom
    out[projection == 0] = 0
    result: np.ndarray = out.astype(np.float32)
    return result


def shift_values(image: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """``shiftImageValue``: 0..255 to ``value_range``, as two float32 tensor ops."""
    scale = (value_range[1] - value_range[0]) / 255
    offset = value_range[0] - 0 * scale
    return (image * np.float32(scale)) + np.float32(offset)


def image_to_tensor(image: np.ndarray, out_size: tuple[int, int], rect: Rect | None,
                    value_range: tuple[float, float]) -> tuple[np.ndarray, Padding, Matrix]:
    """``convertImageToTensor`` (keep aspect ratio, zero border): the float32 ``[1, h, w, 3]`` model
    input, the letterbox padding and the sub-rectangle matrix."""
    height, width = image.shape[:2]
    roi, padding = pad_roi(get_roi((height, width), rect), out_size)
    matrix = rotated_subrect_matrix(roi, width, height)
    coefficients = projective_matrix(matrix, (height, width), out_size)
    warped = transform_bilinear(image, coefficients, out_size)
    return shift_values(warped, value_range)[None], padding, matrix
