"""The pieces of the ``accurate`` presets: flip test-time augmentation, vote refinement,
clamping, aspect-kept inputs, top-k pose scores, single pose from multi-pose."""

from __future__ import annotations

import numpy as np
import pytest

import posenet
from posenet.decode import decode_multiple_poses
from posenet.keypoints import FLIP_EDGE_IDS, FLIP_PART_IDS, NUM_KEYPOINTS, PART_NAMES, POSE_CHAIN
from posenet.pose import Pose
from posenet.preprocess import aspect_input_size
from posenet.refine import clamp_to_image, refine_by_votes
from posenet.tta import merge_mirrored, mirror_input, unmirror_heatmaps, unmirror_vectors

RNG = np.random.default_rng(7)


def test_flip_tables_swap_left_and_right() -> None:
    for part, mirror in enumerate(FLIP_PART_IDS):
        name, other = PART_NAMES[part], PART_NAMES[mirror]
        assert other == name.replace("left", "#").replace("right", "left").replace("#", "right")
        assert FLIP_PART_IDS[mirror] == part
    for edge, mirror in enumerate(FLIP_EDGE_IDS):
        parent, child = POSE_CHAIN[edge]
        m_parent, m_child = POSE_CHAIN[mirror]
        assert (PART_NAMES.index(m_parent), PART_NAMES.index(m_child)) == (
            FLIP_PART_IDS[PART_NAMES.index(parent)], FLIP_PART_IDS[PART_NAMES.index(child)])


def _mirrored_maps(scores: np.ndarray, offsets: np.ndarray, disp: np.ndarray) -> tuple[np.ndarray, ...]:
    """What a perfectly mirror-equivariant network answers for the mirrored input."""
    k, e = NUM_KEYPOINTS, len(FLIP_EDGE_IDS)
    m_scores = np.empty_like(scores)
    m_offsets = np.empty_like(offsets)
    m_disp = np.empty_like(disp)
    for part in range(k):
        m_scores[:, :, FLIP_PART_IDS[part]] = scores[:, ::-1, part]
        m_offsets[:, :, FLIP_PART_IDS[part]] = offsets[:, ::-1, part]
        m_offsets[:, :, k + FLIP_PART_IDS[part]] = -offsets[:, ::-1, k + part]
    for edge in range(e):
        m_disp[:, :, FLIP_EDGE_IDS[edge]] = disp[:, ::-1, edge]
        m_disp[:, :, e + FLIP_EDGE_IDS[edge]] = -disp[:, ::-1, e + edge]
    return m_scores, m_offsets, m_disp


def test_a_synthetic_map_and_its_mirror_round_trip_exactly() -> None:
    scores = RNG.random((9, 13, 17), dtype=np.float32)
    offsets = RNG.normal(size=(9, 13, 34)).astype(np.float32)
    disp = RNG.normal(size=(9, 13, 32)).astype(np.float32)
    m_scores, m_offsets, m_disp = _mirrored_maps(scores, offsets, disp)
    assert np.array_equal(unmirror_heatmaps(m_scores), scores)
    assert np.array_equal(unmirror_vectors(m_offsets, np.asarray(FLIP_PART_IDS)), offsets)
    assert np.array_equal(unmirror_vectors(m_disp, np.asarray(FLIP_EDGE_IDS)), disp)
    merged = merge_mirrored(scores, offsets, disp, disp, m_scores, m_offsets, m_disp, m_disp)
    for got, want in zip(merged, (scores, offsets, disp, disp)):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("broken", ["parts", "edges", "x sign", "columns"])
def test_leaving_out_any_swap_breaks_the_round_trip(broken: str) -> None:
    scores = RNG.random((5, 7, 17), dtype=np.float32)
    offsets = RNG.normal(size=(5, 7, 34)).astype(np.float32)
    disp = RNG.normal(size=(5, 7, 32)).astype(np.float32)
    m_scores, m_offsets, m_disp = _mirrored_maps(scores, offsets, disp)
    if broken == "parts":
        got, want = unmirror_vectors(m_offsets, np.arange(17)), offsets
    elif broken == "edges":
        got, want = unmirror_vectors(m_disp, np.arange(16)), disp
    elif broken == "x sign":
        got, want = m_offsets[:, ::-1][:, :, list(FLIP_PART_IDS) + [17 + p for p in FLIP_PART_IDS]], offsets
    else:
        got, want = m_scores[:, :, list(FLIP_PART_IDS)], scores
    assert not np.allclose(got, want)


def test_mirror_input_reverses_columns() -> None:
    tensor = RNG.random((5, 9, 3), dtype=np.float32)
    mirrored = mirror_input(tensor)
    assert mirrored.flags.c_contiguous and np.array_equal(mirrored[:, ::-1], tensor)


def _pose_at(x: float, y: float) -> Pose:
    return Pose.from_arrays(1.0, np.tile([x, y], (NUM_KEYPOINTS, 1)), np.ones(NUM_KEYPOINTS))


def test_vote_refinement_on_a_hand_made_map() -> None:
    stride = 16
    scores = np.zeros((5, 5, 17), np.float32)
    offsets = np.zeros((5, 5, 34), np.float32)
    # Keypoint 0 sits at cell (2, 2) = (32, 32). Its cell votes (33, 32), cell (2, 3) votes
    # (36, 34) with three times the weight, cell (0, 0) votes far away (outside the 3x3).
    scores[2, 2, 0], offsets[2, 2, 0], offsets[2, 2, 17] = 0.25, 0.0, 1.0   # vote x=33, y=32
    scores[2, 3, 0], offsets[2, 3, 0], offsets[2, 3, 17] = 0.75, 2.0, -12.0  # vote x=36, y=34
    scores[1, 1, 0], offsets[1, 1, 0], offsets[1, 1, 17] = 1.0, 40.0, 40.0   # vote lands > 1 stride away
    scores[0, 0, 0] = 1.0
    (refined,) = refine_by_votes([_pose_at(32.0, 32.0)], scores, offsets, stride)
    k0 = refined.keypoints[0].position
    assert k0.x == pytest.approx((0.25 * 33 + 0.75 * 36) / 1.0) and k0.y == pytest.approx(0.75 * 34 + 0.25 * 32)
    other = refined.keypoints[1].position  # no votes for part 1: unchanged
    assert (other.x, other.y) == (32.0, 32.0)
    assert [k.score for k in refined.keypoints] == [1.0] * NUM_KEYPOINTS


def test_clamp_to_image() -> None:
    (clamped,) = clamp_to_image([_pose_at(-5.0, 500.0)], (480, 640))
    assert (clamped.keypoints[3].position.x, clamped.keypoints[3].position.y) == (0.0, 479.0)


@pytest.mark.parametrize("stride", [8, 16, 32])
@pytest.mark.parametrize("image_size", [(480, 640), (640, 480), (1080, 1920), (500, 500), (200, 1200)])
@pytest.mark.parametrize("budget", [257, 353, 513, 801])
def test_aspect_kept_sizes_are_valid_and_near_the_budget(stride: int, image_size: tuple[int, int],
                                                         budget: int) -> None:
    h, w = aspect_input_size(image_size, (budget, budget), stride, 2049)
    assert (h - 1) % stride == 0 and (w - 1) % stride == 0
    assert abs(h * w / budget**2 - 1) < 0.12 + 2.5 * stride / budget  # rounding to the grid
    assert abs((w / h) / (image_size[1] / image_size[0]) - 1) < 0.1 + 2 * stride / min(h, w)


def test_top_k_pose_score_is_the_mean_of_the_best_keypoints() -> None:
    scores = np.full((9, 9, 17), 0.05, np.float32)
    best = np.linspace(0.9, 0.1, 17, dtype=np.float32)
    scores[4, 4, :] = best
    zeros34, zeros32 = np.zeros((9, 9, 34), np.float32), np.zeros((9, 9, 32), np.float32)
    (ref,) = decode_multiple_poses(scores, zeros34, zeros32, zeros32, 16, 1, 0.5, 20)
    (top,) = decode_multiple_poses(scores, zeros34, zeros32, zeros32, 16, 1, 0.5, 20, pose_score_top_k=5)
    assert ref.score == pytest.approx(float(best.sum()) / 17, abs=1e-6)
    assert top.score == pytest.approx(float(np.sort(best)[::-1][:5].mean()), abs=1e-6)


def test_presets_on_a_real_photo(photos_dir) -> None:
    net = posenet.load()
    image = posenet.decode_image(photos_dir / "ultralytics__bus.jpg")
    h, w = image.shape[:2]
    accurate = net.estimate(image, "accurate")
    assert accurate and all(0 <= k.position.x <= w - 1 and 0 <= k.position.y <= h - 1
                            for p in accurate for k in p.keypoints)
    single = net.estimate(image, "accurate", mode="single")
    best_multi = max(net.estimate(image, "accurate", min_pose_score=0), key=lambda p: p.score)
    assert len(single) == 1 and single[0].score == pytest.approx(best_multi.score)
    flipped = net.estimate(image, "accurate", flip_test=True)
    assert flipped and flipped[0].score > 0.5
    # the reference presets are untouched by these options
    assert net.estimate(image, "reference") == net.estimate_multiple_poses(image)
