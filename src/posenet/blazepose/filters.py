"""BlazePose's temporal filters (pose-detection 2.1.3 ``shared/filters``): landmark smoothing
(One Euro or relative velocity, per axis, scaled by the object size), the visibility low-pass filter.

Landmarks travel as float64 arrays ``[N, 4]`` of (x, y, z, score). One quirk is kept on purpose:
the reference's ``keypointsToNormalizedKeypoints`` copies the keypoint before it rescales ``z``, so
after smoothing normalised landmarks keep ``z`` in pixels (scaled by the image width), and the final
pixel conversion scales it by the width once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..movenet.filters import LowPassFilter, OneEuroConfig, OneEuroFilter

MICRO_SECONDS_TO_SECOND = 1e-6
SECOND_TO_MICRO_SECONDS = 1e6


@dataclass(frozen=True)
class OneEuroSettings:
    """``OneEuroFilterConfig`` with the keypoint filter's value scaling settings."""

    frequency: float = 30.0
    min_cut_off: float = 1.0
    beta: float = 0.0
    derivate_cut_off: float = 1.0
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False

    def filter_config(self) -> OneEuroConfig:
        return OneEuroConfig(frequency=self.frequency, min_cut_off=self.min_cut_off, beta=self.beta,
                             derivate_cut_off=self.derivate_cut_off, threshold_cut_off=None)


@dataclass(frozen=True)
class VelocitySettings:
    """``VelocityFilterConfig``: the relative velocity filter's window and scale."""

    window_size: int = 5
    velocity_scale: float = 10.0
    min_allowed_object_scale: float = 1e-6
    disable_value_scaling: bool = False


class RelativeVelocityFilter:
    """``RelativeVelocityFilter``: a low-pass filter whose alpha grows with the recent velocity."""

    def __init__(self, settings: VelocitySettings) -> None:
        self.settings = settings
        self.window: list[tuple[float, float]] = []  # (distance, duration), newest first
        self.low_pass = LowPassFilter(1.0)
        self.last_value = 0.0
        self.last_value_scale = 1.0
        self.last_timestamp = -1.0

    def apply(self, value: float, micro_seconds: float, value_scale: float) -> float:
        stamp = float(int(micro_seconds))
        if self.last_timestamp >= stamp:
            return value
        if self.last_timestamp == -1:
            alpha = 1.0
        else:
            distance = value * value_scale - self.last_value * self.last_value_scale
            duration = stamp - self.last_timestamp
            total_distance, total_duration = distance, duration
            max_duration = (1 + len(self.window)) * (SECOND_TO_MICRO_SECONDS / 30)
            for past_distance, past_duration in self.window:
                if total_duration + past_duration > max_duration:
                    break
                total_distance += past_distance
                total_duration += past_duration
            velocity = total_distance / (total_duration * MICRO_SECONDS_TO_SECOND)
            alpha = 1 - 1 / (1 + self.settings.velocity_scale * abs(velocity))
            self.window.insert(0, (distance, duration))
            if len(self.window) > self.settings.window_size:
                self.window.pop()
        self.last_value = value
        self.last_value_scale = value_scale
        self.last_timestamp = stamp
        return self.low_pass.apply_with_alpha(value, alpha)


class _ScalarFilter(Protocol):
    def apply(self, value: float, micro_seconds: float, value_scale: float) -> float: ...


class KeypointsFilter:
    """``KeypointsOneEuroFilter`` / ``KeypointsVelocityFilter``: one filter per keypoint and axis."""

    def __init__(self, settings: OneEuroSettings | VelocitySettings) -> None:
        self.settings = settings
        self.filters: list[list[_ScalarFilter]] | None = None

    def _make(self) -> _ScalarFilter:
        if isinstance(self.settings, OneEuroSettings):
            return OneEuroFilter(self.settings.filter_config())
        return RelativeVelocityFilter(self.settings)

    def _init_if_empty(self, count: int) -> None:
        if self.filters is None or len(self.filters[0]) != count:
            self.filters = [[self._make() for _ in range(count)] for _axis in range(3)]

    def apply(self, points: np.ndarray, micro_seconds: float, object_scale: float) -> np.ndarray:
        """Filtered copy of ``points`` ``[N, 4]`` (x, y, z filtered; z left alone where NaN)."""
        one_euro = isinstance(self.settings, OneEuroSettings)
        if one_euro:  # the One Euro variant creates its filters before the scale check, the velocity one after
            self._init_if_empty(len(points))
        value_scale = 1.0
        if not self.settings.disable_value_scaling:
            if object_scale < self.settings.min_allowed_object_scale:
                unchanged: np.ndarray = points.copy()
                return unchanged
            value_scale = 1.0 / object_scale
        if not one_euro:
            self._init_if_empty(len(points))
        assert self.filters is not None
        out: np.ndarray = points.copy()
        for axis in range(3):
            for i, value in enumerate(points[:, axis].tolist()):
                if axis == 2 and np.isnan(value):
                    continue
                out[i, axis] = self.filters[axis][i].apply(value, micro_seconds, value_scale)
        return out

    def reset(self) -> None:
        self.filters = None


class KeypointsSmoothingFilter:
    """``KeypointsSmoothingFilter``: smooth keypoints in pixels, scaled by the object's size."""

    def __init__(self, settings: OneEuroSettings | VelocitySettings) -> None:
        self.filter = KeypointsFilter(settings)

    def apply(self, points: np.ndarray, micro_seconds: float, image_size: tuple[int, int] | None = None,
              normalized: bool = False, object_scale_rect: tuple[float, float] | None = None) -> np.ndarray:
        """``points`` ``[N, 4]``; ``image_size`` (height, width); ``object_scale_rect`` the
        (width, height) of the normalised rectangle whose size scales the values."""
        height, width = image_size if image_size is not None else (1, 1)
        scale = 1.0
        if object_scale_rect is not None:
            scale = (object_scale_rect[0] * width + object_scale_rect[1] * height) / 2
        scaled = points
        if normalized:
            scaled = points.copy()
            scaled[:, 0] *= width
            scaled[:, 1] *= height
            scaled[:, 2] *= width
        filtered = self.filter.apply(scaled, micro_seconds, scale)
        if normalized:  # z stays scaled: the reference's keypointsToNormalizedKeypoints quirk
            filtered[:, 0] /= width
            filtered[:, 1] /= height
        return filtered


class LowPassVisibilityFilter:
    """``LowPassVisibilityFilter``: one low-pass filter (``alpha``) per landmark score."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.filters: list[LowPassFilter] | None = None

    def apply(self, points: np.ndarray) -> np.ndarray:
        if self.filters is None or len(self.filters) != len(points):
            self.filters = [LowPassFilter(self.alpha) for _ in range(len(points))]
        out: np.ndarray = points.copy()
        for i, score in enumerate(points[:, 3].tolist()):
            out[i, 3] = self.filters[i].apply(score)
        return out
