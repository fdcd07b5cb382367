"""pose-detection's smoothing filters: ``LowPassFilter``, ``OneEuroFilter`` and the per-keypoint
``KeypointsOneEuroFilter`` (``shared/filters/``), ported operation for operation.

Timestamps are microseconds; ``nan`` stands for JavaScript's ``undefined`` timestamp (the
reference then filters nothing but still updates its state the same way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OneEuroConfig:
    """``frequency`` (Hz, the initial guess), cut-offs (Hz), ``beta``; the thresholds make the
    filter non-linear (asinh). MoveNet's values are :data:`KEYPOINT_FILTER_CONFIG`."""

    frequency: float = 30.0
    min_cut_off: float = 2.5
    beta: float = 300.0
    derivate_cut_off: float = 2.5
    threshold_cut_off: float | None = 0.5
    threshold_beta: float = 5.0


KEYPOINT_FILTER_CONFIG = OneEuroConfig()
"""MoveNet's keypoint filter (``disableValueScaling: true``: values are not scaled)."""


class LowPassFilter:
    """Exponential smoothing ``s += alpha * (x - s)``; with ``threshold``, ``s += alpha * t * asinh((x - s) / t)``."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.initialized = False
        self.raw_value = 0.0
        self.stored_value = 0.0

    def apply(self, value: float, threshold: float | None = None) -> float:
        if self.initialized:
            if threshold is None:
                result = self.stored_value + self.alpha * (value - self.stored_value)
            else:
                step = math.asinh((value - self.stored_value) / threshold)
                result = self.stored_value + self.alpha * threshold * step
        else:
            result = value
            self.initialized = True
        self.raw_value = value
        self.stored_value = result
        return result

    def apply_with_alpha(self, value: float, alpha: float, threshold: float | None = None) -> float:
        self.alpha = alpha
        return self.apply(value, threshold)

    def reset(self) -> None:
        self.initialized = False


def _trunc(value: float) -> float:
    return value if math.isnan(value) else float(math.trunc(value))


class OneEuroFilter:
    """The 1€ filter with the reference's adaptive-frequency and threshold details."""

    def __init__(self, config: OneEuroConfig) -> None:
        self.frequency = config.frequency
        self.min_cut_off = config.min_cut_off
        self.beta = config.beta
        self.threshold_cut_off = config.threshold_cut_off
        self.threshold_beta = config.threshold_beta
        self.derivate_cut_off = config.derivate_cut_off
        self.x = LowPassFilter(self._alpha(self.min_cut_off))
        self.dx = LowPassFilter(self._alpha(self.derivate_cut_off))
        self.last_timestamp = 0.0

    def apply(self, value: float, micro_seconds: float, value_scale: float) -> float:
        """The filtered ``value`` at ``micro_seconds`` (a value at a non-increasing time is returned as is)."""
        stamp = _trunc(micro_seconds)
        if self.last_timestamp >= stamp:
            return value
        if self.last_timestamp != 0 and stamp != 0:
            self.frequency = 1 / ((stamp - self.last_timestamp) * 1e-6)
        self.last_timestamp = stamp
        d_value = (value - self.x.raw_value) * value_scale * self.frequency if self.x.initialized else 0.0
        ed_value = self.dx.apply_with_alpha(d_value, self._alpha(self.derivate_cut_off))
        cut_off = self.min_cut_off + self.beta * abs(ed_value)
        threshold = (None if self.threshold_cut_off is None
                     else self.threshold_cut_off + self.threshold_beta * abs(ed_value))
        return self.x.apply_with_alpha(value, self._alpha(cut_off), threshold)

    def _alpha(self, cutoff: float) -> float:
        return 1.0 / (1.0 + (self.frequency / (2 * math.pi * cutoff)))


class KeypointsOneEuroFilter:
    """One x and one y :class:`OneEuroFilter` per keypoint; values are not scaled (MoveNet)."""

    def __init__(self, config: OneEuroConfig = KEYPOINT_FILTER_CONFIG) -> None:
        self.config = config
        self.x_filters: list[OneEuroFilter] | None = None
        self.y_filters: list[OneEuroFilter] = []

    def apply(self, xy: list[tuple[float, float]], micro_seconds: float) -> list[tuple[float, float]]:
        """Filtered (x, y) per keypoint (any consistent frame; MoveNet uses normalised image coordinates)."""
        if self.x_filters is None or len(self.x_filters) != len(xy):
            self.x_filters = [OneEuroFilter(self.config) for _ in xy]
            self.y_filters = [OneEuroFilter(self.config) for _ in xy]
        return [(fx.apply(x, micro_seconds, 1.0), fy.apply(y, micro_seconds, 1.0))
                for (x, y), fx, fy in zip(xy, self.x_filters, self.y_filters, strict=True)]

    def reset(self) -> None:
        self.x_filters = None
        self.y_filters = []
