"""draw_poses and draw_poses_cv: what is drawn, what is not, that the input is left
alone (unless drawn in place), and that both painters draw the same."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet import PART_IDS, PART_NAMES, InvalidImageError, Keypoint, Pose, Position
from posenet.draw import AQUA, RED, TRACK_COLORS, draw_poses, draw_poses_cv


def _cv_painter(*args, **kwargs):
    pytest.importorskip("cv2")
    return draw_poses_cv(*args, **kwargs)


@pytest.fixture(params=["pillow", "opencv"])
def draw(request):
    """Each painter: the same shapes, colours and sizes."""
    return draw_poses if request.param == "pillow" else _cv_painter


def standing(score: float = 0.9, part_score: float = 0.9, dx: float = 0.0) -> Pose:
    """A person at x ~ 100 + dx in a 200x300 image."""
    layout = {
        "nose": (100, 40), "leftEye": (108, 34), "rightEye": (92, 34), "leftEar": (116, 38), "rightEar": (84, 38),
        "leftShoulder": (130, 80), "rightShoulder": (70, 80), "leftElbow": (140, 130), "rightElbow": (60, 130),
        "leftWrist": (145, 175), "rightWrist": (55, 175), "leftHip": (120, 170), "rightHip": (80, 170),
        "leftKnee": (122, 220), "rightKnee": (78, 220), "leftAnkle": (124, 270), "rightAnkle": (76, 270),
    }
    return Pose(score, tuple(Keypoint(p, part_score, Position(layout[p][0] + dx, layout[p][1])) for p in PART_NAMES))


@pytest.fixture
def canvas():
    return np.full((300, 200, 3), 40, np.uint8)


def color_at(image: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    return tuple(int(v) for v in image[round(y), round(x)])


def test_draws_keypoints_and_skeleton_without_touching_the_input(canvas, draw):
    before = canvas.copy()
    out = draw(canvas, [standing()])
    assert np.array_equal(canvas, before)
    assert out.shape == canvas.shape and out.dtype == np.uint8
    assert color_at(out, 100, 40) == AQUA  # nose dot
    # middle of the leftShoulder-leftHip edge
    assert color_at(out, 125, 125) == AQUA
    # nothing far from the person
    assert color_at(out, 190, 290) == (40, 40, 40)


def test_thresholds_hide_weak_poses_and_parts(canvas, draw):
    assert np.array_equal(draw(canvas, [standing(score=0.05)], min_pose_confidence=0.1), canvas)
    weak_nose = list(standing().keypoints)
    weak_nose[PART_IDS["nose"]] = Keypoint("nose", 0.2, Position(100, 40))
    out = draw(canvas, [Pose(0.9, tuple(weak_nose))], min_part_confidence=0.5)
    assert color_at(out, 100, 40) == (40, 40, 40)
    assert color_at(out, 130, 80) == AQUA
    # equal to the threshold is drawn (as the reference)
    out = draw(canvas, [standing(part_score=0.5)], min_part_confidence=0.5)
    assert color_at(out, 100, 40) == AQUA


def test_boxes_and_track_colours(canvas, draw):
    out = draw(canvas, [standing()], draw_boxes=True)
    assert color_at(out, 100, 270) == RED  # bottom edge of the box (ankles at y = 270)
    assert color_at(out, 55, 250) == RED  # left edge (right wrist at x = 55)
    assert color_at(out, 100, 250) == (40, 40, 40)
    out = draw(canvas, [standing(dx=-30), standing(dx=40)], track_ids=[1, 2])
    assert color_at(out, 70, 40) == TRACK_COLORS[1]
    assert color_at(out, 140, 40) == TRACK_COLORS[2]


def test_gray_input_and_bad_input(canvas, draw):
    out = draw(canvas[:, :, 0], [standing()])
    assert out.shape == (300, 200, 3)
    with pytest.raises(InvalidImageError):
        draw(canvas.astype(np.float32), [])
    with pytest.raises(InvalidImageError):
        draw(np.zeros((10, 10, 4), np.uint8), [])
    with pytest.raises(ValueError, match="track ids"):
        draw(canvas, [standing()], track_ids=[1, 2])


def test_on_a_real_photo(models_dir, photos_dir):
    image = np.asarray(Image.open(photos_dir / "tfpose__p1.jpg").convert("RGB"))
    pose = posenet.load().estimate_single_pose(image)
    out = draw_poses(image, [pose], 0.5, 0.1)
    changed = np.any(out != image, axis=2)
    assert changed.mean() > 0.01
    for k in pose.keypoints:
        if k.score >= 0.5 and 0 <= k.position.x < image.shape[1] and 0 <= k.position.y < image.shape[0]:
            assert color_at(out, k.position.x, k.position.y) == AQUA


def test_opencv_draws_in_place_what_pillow_draws(models_dir, photos_dir):
    pytest.importorskip("cv2")
    image = np.asarray(Image.open(photos_dir / "ultralytics__zidane.jpg").convert("RGB"))
    poses = posenet.load().estimate(image, "camera", mode="multi")
    pillow = draw_poses(image, poses, 0.1, 0.15, True, list(range(len(poses))))
    canvas = image.copy()
    fast = draw_poses_cv(canvas, poses, 0.1, 0.15, True, list(range(len(poses))), in_place=True)
    assert fast is canvas  # drawn on the frame itself: no copy
    drawn = np.any(pillow != image, axis=2) | np.any(fast != image, axis=2)
    assert drawn.mean() > 0.005
    assert (np.all(pillow == fast, axis=2) & drawn).sum() / drawn.sum() > 0.7  # edges of strokes differ
    height, width = image.shape[:2]
    for track, pose in enumerate(poses):
        for k in pose.keypoints:
            x, y = k.position.x, k.position.y
            if k.score >= 0.1 and pose.score >= 0.15 and 0 <= x < width - 1 and 0 <= y < height - 1:
                assert color_at(fast, x, y) in (TRACK_COLORS[track], color_at(pillow, x, y))


def _ring(n: int, cx: float = 100, cy: float = 150, r: float = 80) -> Pose:
    """``n`` keypoints on a circle (keypoint ``i`` at angle ``2 pi i / n``)."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return Pose(0.9, tuple(Keypoint(f"k{i}", 0.9, Position(cx + r * np.cos(a), cy + r * np.sin(a)))
                           for i, a in enumerate(angles)))


def test_the_models_skeleton_is_drawn(canvas, draw):
    """A 33-point pose (BlazePose's shape) is drawn with the skeleton given: its edges and
    only those; without one it gets its keypoints only (PoseNet's edges would join the wrong points)."""
    pose = _ring(33)
    a, b = pose.keypoints[0].position, pose.keypoints[16].position  # across the circle
    middle = ((a.x + b.x) / 2, (a.y + b.y) / 2)
    x, y = round(middle[0]), round(middle[1])

    def near_middle(image: np.ndarray) -> set[tuple[int, ...]]:
        return {tuple(int(v) for v in px) for px in image[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3)}

    with_edge = draw(canvas, [pose], skeleton=[(0, 16), (40, 41)])  # an edge past the keypoints is skipped
    assert AQUA in near_middle(with_edge)
    without = draw(canvas, [pose])
    assert near_middle(without) == {(40, 40, 40)} and color_at(without, a.x, a.y) == AQUA
    assert np.array_equal(draw(canvas, [pose], skeleton=()), without)
    # A 17-keypoint pose keeps PoseNet's skeleton by default; an explicit one replaces it.
    coco = posenet.CONNECTED_PART_INDICES
    assert np.array_equal(draw(canvas, [standing()]), draw(canvas, [standing()], skeleton=coco))
    assert color_at(draw(canvas, [standing()], skeleton=()), 125, 125) == (40, 40, 40)


def test_blazepose_skeleton_from_its_info(photos_dir):
    """The 33-point BlazePose skeleton of model.info() draws on a real photo with both painters alike."""
    try:
        model = posenet.create_detector("blazepose-lite")
    except (ValueError, OSError, posenet.PoseNetError) as exc:  # pragma: no cover - not registered or no files
        pytest.skip(f"blazepose-lite unavailable: {exc}")
    image = posenet.decode_image(photos_dir / "tfpose__p1.jpg")
    poses = model.estimate(image)
    info = model.info()
    assert len(poses) == 1 and len(poses[0].keypoints) == len(info.keypoint_names) == 33
    pillow = draw_poses(image, poses, 0.3, 0.1, skeleton=info.skeleton)
    assert (pillow != image).any(axis=2).sum() > 200
    cv = _cv_painter(image, poses, 0.3, 0.1, skeleton=info.skeleton)
    assert (pillow != cv).any(axis=2).mean() < 0.02
