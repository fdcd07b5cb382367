"""One Euro filter and PoseSmoother."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posenet import PART_NAMES, Keypoint, Pose, Position
from posenet.smoothing import OneEuroFilter, PoseSmoother


def reference_one_euro(samples, min_cutoff, beta, d_cutoff):
    """The paper's scalar algorithm, written out independently."""

    def alpha(cutoff, te):
        r = 2 * math.pi * cutoff * te
        return r / (r + 1)

    out, x_prev, dx_prev, t_prev = [], None, 0.0, None
    for t, x in samples:
        if x_prev is None:
            x_prev, t_prev = x, t
            out.append(x)
            continue
        te = t - t_prev
        dx = (x - x_prev) / te
        a_d = alpha(d_cutoff, te)
        dx_hat = a_d * dx + (1 - a_d) * dx_prev
        cutoff = min_cutoff + beta * abs(dx_hat)
        a = alpha(cutoff, te)
        x_hat = a * x + (1 - a) * x_prev
        out.append(x_hat)
        x_prev, dx_prev, t_prev = x_hat, dx_hat, t
    return out


def test_matches_the_papers_algorithm():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.01, 0.05, 200))
    values = np.sin(times * 3) * 100 + rng.normal(0, 2, 200)
    samples = list(zip(times.tolist(), values.tolist()))
    f = OneEuroFilter(min_cutoff=1.2, beta=0.05, d_cutoff=1.0)
    ours = [f(t, x) for t, x in samples]
    assert ours == pytest.approx(reference_one_euro(samples, 1.2, 0.05, 1.0), rel=1e-12, abs=1e-9)
    assert all(isinstance(v, float) for v in ours)


def test_first_sample_passes_and_constant_stays_constant():
    f = OneEuroFilter()
    assert f(0.0, 5.0) == 5.0
    for i in range(1, 50):
        assert f(i / 30, 5.0) == pytest.approx(5.0)


def test_reduces_jitter_and_beta_reduces_lag():
    rng = np.random.default_rng(1)
    t = np.arange(300) / 30.0
    noisy = 100 + rng.normal(0, 3, t.size)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    smoothed = np.array([f(a, b) for a, b in zip(t, noisy)])
    assert smoothed[30:].std() < noisy[30:].std() / 2

    ramp = 200.0 * t  # 200 px/s
    lags = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        out = np.array([f(a, b) for a, b in zip(t, ramp)])
        lags[beta] = float(np.mean(ramp[60:] - out[60:]))
    assert lags[0.05] < lags[0.0] / 3


def test_repeated_timestamp_keeps_estimate_and_backwards_time_raises():
    f = OneEuroFilter()
    f(0.0, 1.0)
    first = f(0.1, 2.0)
    assert f(0.1, 50.0) == first
    with pytest.raises(ValueError, match="must not decrease"):
        f(0.05, 1.0)


@pytest.mark.parametrize("kwargs", [dict(min_cutoff=0), dict(d_cutoff=-1), dict(beta=-0.1)])
def test_invalid_parameters(kwargs):
    with pytest.raises(ValueError):
        OneEuroFilter(**kwargs)


def test_shape_change_raises():
    f = OneEuroFilter()
    f(0.0, np.zeros((17, 2)))
    with pytest.raises(ValueError, match="shape"):
        f(0.1, np.zeros(3))


# allow_subnormal=False: native libraries loaded by other tests may set flush-to-zero
coordinate = st.floats(-1e3, 1e3, allow_subnormal=False)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=30),
    st.floats(0.1, 5.0, allow_subnormal=False),
    st.floats(0.0, 1.0, allow_subnormal=False),
)
def test_array_filter_is_independent_filters_per_element(values, min_cutoff, beta):
    times = [i / 25.0 for i in range(len(values))]
    both = OneEuroFilter(min_cutoff, beta)
    a, b = OneEuroFilter(min_cutoff, beta), OneEuroFilter(min_cutoff, beta)
    for t, (x, y) in zip(times, values):
        out = both(t, np.array([x, y]))
        assert out[0] == pytest.approx(a(t, x), rel=1e-9, abs=1e-9)
        assert out[1] == pytest.approx(b(t, y), rel=1e-9, abs=1e-9)


def make_pose(x: float, y: float, score: float = 0.9) -> Pose:
    return Pose(
        score=score,
        keypoints=tuple(
            Keypoint(part, score, Position(x + 3.0 * i, y + 5.0 * i)) for i, part in enumerate(PART_NAMES)
        ),
    )


def test_pose_smoother_keeps_parts_scores_and_smooths_positions():
    smoother = PoseSmoother(min_cutoff=1.0, beta=0.0)
    first = smoother.smooth(0.0, make_pose(10, 20, 0.7))
    assert first == make_pose(10, 20, 0.7)
    jumped = smoother.smooth(1 / 30, make_pose(40, 20, 0.8))
    assert jumped.score == 0.8
    assert [k.part for k in jumped.keypoints] == list(PART_NAMES)
    assert all(k.score == 0.8 for k in jumped.keypoints)
    assert 10 < jumped["nose"].position.x < 40  # pulled towards the old position
    assert jumped["nose"].position.y == pytest.approx(20)


def test_pose_smoother_tracks_are_independent():
    together = PoseSmoother(beta=0.02)
    alone_a, alone_b = PoseSmoother(beta=0.02), PoseSmoother(beta=0.02)
    for i in range(20):
        t = i / 30
        pa, pb = make_pose(10 + 4 * i, 50), make_pose(300 - 2 * i, 80 + i)
        out = together.update(t, [pa, pb], [7, 3])
        assert out[0] == alone_a.smooth(t, pa)
        assert out[1] == alone_b.smooth(t, pb)


def test_pose_smoother_forgets_idle_tracks():
    smoother = PoseSmoother(forget_after_s=0.5)
    smoother.update(0.0, [make_pose(0, 0)], [1])
    smoother.update(0.1, [make_pose(100, 0)], [2])
    out = smoother.update(1.0, [make_pose(50, 0)], [1])  # track 1 idle for 1 s: restarts unfiltered
    assert out[0] == make_pose(50, 0)


def test_pose_smoother_rejects_bad_ids():
    smoother = PoseSmoother()
    with pytest.raises(ValueError, match="track ids"):
        smoother.update(0.0, [make_pose(0, 0)], [1, 2])
    with pytest.raises(ValueError, match="duplicate"):
        smoother.update(0.0, [make_pose(0, 0), make_pose(5, 5)], [1, 1])
