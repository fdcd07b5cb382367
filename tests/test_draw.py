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
