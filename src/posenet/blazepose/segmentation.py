"""The segmentation mask: pose-detection 2.1.3's ``tensors_to_segmentation`` (no activation: the
model's output is already a sigmoid), the inverse warp from the ROI to the image and
``segmentation_smoothing`` (cpu/wasm path: float32 tensor ops in the reference's order)."""

from __future__ import annotations

import numpy as np

from .constants import SEGMENTATION_COMBINE_RATIO
from .warp import Matrix, inverse_matrix, projective_matrix, transform_bilinear

_C1, _C2, _C3, _C4, _C5 = (np.float32(v) for v in (5.68842, -0.748699, -57.8051, 291.309, -624.717))


def mask_to_image(mask: np.ndarray, matrix: Matrix, image_size: tuple[int, int]) -> np.ndarray:
    """The ROI mask ``[1, h, w, 1]`` (or ``[h, w]``) warped back to the image: float32 ``[H, W]``
    (0 outside the ROI)."""
    small: np.ndarray = np.asarray(mask, np.float32).reshape(mask.shape[-3:-1] if mask.ndim == 4 else mask.shape[:2])
    coefficients = projective_matrix(inverse_matrix(matrix), (int(small.shape[0]), int(small.shape[1])), image_size)
    warped: np.ndarray = transform_bilinear(small[..., None], coefficients, image_size)[..., 0]
    return warped


def smooth_segmentation(previous: np.ndarray, current: np.ndarray,
                        ratio: float = SEGMENTATION_COMBINE_RATIO) -> np.ndarray:
    """``smoothSegmentation``: blend with the previous mask where the new one is uncertain."""
    one = np.float32(1)
    t = current - np.float32(0.5)
    x = np.square(t)
    poly = x * (_C1 + x * (_C2 + x * (_C3 + x * (_C4 + x * _C5))))
    uncertainty = one - np.minimum(one, poly)
    blended: np.ndarray = current + (previous - current) * (uncertainty * np.float32(ratio))
    return blended
