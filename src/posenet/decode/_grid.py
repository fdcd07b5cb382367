"""Shape and dtype checks of the network output maps, shared by both decoders."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def float32_grid(
    array: ArrayLike, name: str, channels: int, grid: tuple[int, ...] | None = None
) -> np.ndarray:
    """``array`` as a C-contiguous float32 ``[Ho, Wo, channels]`` array; ``grid`` pins
    ``(Ho, Wo)``."""
    arr = np.asarray(array)
    if arr.ndim != 3 or arr.shape[2] != channels or (grid is not None and arr.shape[:2] != grid):
        want = f"[{grid[0]}, {grid[1]}, {channels}]" if grid is not None else f"[Ho, Wo, {channels}]"
        raise ValueError(f"{name} must have shape {want}, got {list(arr.shape)}")
    return np.ascontiguousarray(arr, dtype=np.float32)
