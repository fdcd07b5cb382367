"""JavaScript number semantics the reference relies on: ``Math.round``, ``Math.min``,
``Math.max`` (NaN-propagating). Kept in one place so every stage rounds the same way."""

from __future__ import annotations

import math

import numpy as np


def js_round(value: float) -> int:
    """JavaScript ``Math.round``: the nearest integer, halves towards +inf (2.5 -> 3,
    -2.5 -> -2), exact also where ``floor(v + 0.5)`` is not (0.49999999999999994 -> 0)."""
    i = math.floor(value)
    return i + 1 if value - i >= 0.5 else i


def js_round_array(values: np.ndarray) -> np.ndarray:
    """``Math.round`` element-wise for float64 arrays of moderate magnitude (quantised
    integers, scaled weights): ``floor(v + 0.5)``, which equals :func:`js_round` wherever
    ``v + 0.5`` is exact."""
    return np.floor(values + 0.5)


def js_min(a: float, b: float) -> float:
    """``Math.min`` for two numbers: NaN if either is NaN."""
    return math.nan if a != a or b != b else (a if a < b else b)


def js_max(a: float, b: float) -> float:
    """``Math.max`` for two numbers: NaN if either is NaN."""
    return math.nan if a != a or b != b else (a if a > b else b)
