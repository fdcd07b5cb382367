"""Temporal smoothing of keypoints: the One Euro filter (Casiez, Roussel & Vogel, CHI 2012).

The filter is a first-order low-pass whose cutoff rises with speed: slow motion is
smoothed hard (little jitter), fast motion barely (little lag). Timestamps are in
seconds; cutoffs in Hz; ``beta`` in Hz per (unit of x per second), i.e. per pixel/s for
keypoint positions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .pose import Pose


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Smoothing factor of an exponential low-pass with this cutoff at this sample period."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One Euro filter applied element-wise to a scalar or an array of fixed shape.

    Each element is filtered independently (its own speed estimate and cutoff), so one
    filter over a ``[17, 2]`` array is 34 independent filters, one per keypoint coordinate.

    Args:
        min_cutoff: cutoff frequency at zero speed, Hz (> 0). Lower = smoother when still.
        beta: cutoff increase per unit of speed (>= 0). Higher = less lag when moving.
        d_cutoff: cutoff of the low-pass applied to the speed estimate, Hz (> 0).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if not min_cutoff > 0 or not d_cutoff > 0:
            raise ValueError(f"min_cutoff and d_cutoff must be > 0 Hz, got {min_cutoff}, {d_cutoff}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next sample passes through unchanged."""
        self._t: float | None = None
        self._x = np.zeros(0)
        self._dx = np.zeros(0)

    def __call__(self, t_s: float, x: float | np.ndarray) -> float | np.ndarray:
        """Filter sample ``x`` taken at time ``t_s`` (seconds, non-decreasing).

        Returns the filtered value (a float for scalar input, else a new array). A sample
        with the same timestamp as the previous one returns the previous estimate.
        """
        return self._out(self._update(t_s, np.array(x, dtype=np.float64)))

    def _update(self, t_s: float, value: np.ndarray) -> np.ndarray:
        """Take a float64 sample (owned by the filter from now on); return the estimate
        (the filter's state: copy it before changing it)."""
        if self._t is None:
            self._t, self._x, self._dx = float(t_s), value, np.zeros_like(value)
            return value
        if value.shape != self._x.shape:
            raise ValueError(f"sample shape {value.shape} differs from the first one's {self._x.shape}")
        dt = float(t_s) - self._t
        if dt < 0:
            raise ValueError(f"timestamps must not decrease: {t_s} s after {self._t} s")
        if dt == 0:
            return self._x
        a_d = _alpha(self.d_cutoff, dt)
        dx = a_d * (value - self._x) / dt + (1.0 - a_d) * self._dx
        a = _alpha(self.min_cutoff + self.beta * np.abs(dx), dt)
        self._x = a * value + (1.0 - a) * self._x
        self._dx = dx
        self._t = float(t_s)
        return self._x

    @staticmethod
    def _out(value: np.ndarray) -> float | np.ndarray:
        return float(value) if value.ndim == 0 else value.copy()


@dataclass
class _Track:
    filter: OneEuroFilter
    last_t: float


class PoseSmoother:
    """Smooths the keypoint positions of a stream of poses, one filter bank per track id.

    Scores and part names pass through; only positions (pixels) are filtered. A track
    not updated for more than ``forget_after_s`` seconds is forgotten and restarts
    unfiltered when it reappears.

    Example::

        smoother = PoseSmoother(min_cutoff=1.0, beta=0.01)
        for t, pose in stream:                       # t in seconds
            pose = smoother.smooth(t, pose)          # one person
        # several people: ids from posenet.tracking.PoseTracker
        poses = smoother.update(t, [tp.pose for tp in tracked], [tp.track_id for tp in tracked])
    """

    def __init__(
        self,
        min_cutoff: float = 1.0,
        beta: float = 0.01,
        d_cutoff: float = 1.0,
        forget_after_s: float = 1.0,
    ) -> None:
        OneEuroFilter(min_cutoff, beta, d_cutoff)  # validate the parameters now
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.forget_after_s = forget_after_s
        self._tracks: dict[int, _Track] = {}

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()

    def smooth(self, t_s: float, pose: Pose, track_id: int = 0) -> Pose:
        """The pose with its positions filtered in the stream of ``track_id``."""
        track = self._tracks.get(track_id)
        if track is None or t_s - track.last_t > self.forget_after_s:
            track = _Track(OneEuroFilter(self.min_cutoff, self.beta, self.d_cutoff), t_s)
            self._tracks[track_id] = track
        smoothed = track.filter._update(t_s, pose.xy)  # with_xy copies the values out
        track.last_t = t_s
        return pose.with_xy(smoothed)

    def update(
        self, t_s: float, poses: Sequence[Pose], track_ids: Sequence[int] | None = None
    ) -> list[Pose]:
        """Smooth every pose of one frame taken at ``t_s`` seconds.

        ``track_ids[i]`` names the stream of ``poses[i]``; without ids the list position is
        used, which only makes sense for single-person streams. Tracks idle for longer
        than ``forget_after_s`` are dropped.
        """
        ids = list(range(len(poses))) if track_ids is None else list(track_ids)
        if len(ids) != len(poses):
            raise ValueError(f"{len(poses)} poses but {len(ids)} track ids")
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate track ids in one frame: {ids}")
        smoothed = [self.smooth(t_s, pose, tid) for pose, tid in zip(poses, ids, strict=True)]
        for tid in [tid for tid, tr in self._tracks.items() if t_s - tr.last_t > self.forget_after_s]:
            del self._tracks[tid]
        return smoothed
