"""The public API on real weights and real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet import InvalidImageError


@pytest.fixture(scope="module")
def net(models_dir):
    return posenet.load()


@pytest.fixture(scope="module")
def people(photos_dir):
    return np.asarray(Image.open(photos_dir / "tfpose__p1.jpg").convert("RGB"))


def test_single_pose_on_a_photo(net, people):
    pose = net.estimate_single_pose(people)
    assert [k.part for k in pose.keypoints] == list(posenet.PART_NAMES)
    assert pose.score == pytest.approx(sum(k.score for k in pose.keypoints) / 17)
    assert pose.score > 0.5
    h, w = people.shape[:2]
    confident = [k for k in pose.keypoints if k.score > 0.5]
    assert len(confident) >= 10
    assert all(-10 < k.position.x < w + 10 and -10 < k.position.y < h + 10 for k in confident)
    assert pose["nose"].position.y < pose["leftHip"].position.y < pose["leftAnkle"].position.y


def test_flip_mirrors_x_and_keeps_labels(net, people):
    plain = net.estimate_single_pose(people)
    flipped = net.estimate_single_pose(people, flip_horizontal=True)
    w = people.shape[1]
    for a, b in zip(plain.keypoints, flipped.keypoints):
        assert (a.part, a.score, a.position.y) == (b.part, b.score, b.position.y)
        assert b.position.x == pytest.approx(w - 1 - a.position.x, abs=1e-9)


def test_every_input_kind_gives_the_same_pose(net, photos_dir, people):
    path = photos_dir / "tfpose__p1.jpg"
    from_array = net.estimate_single_pose(people)
    assert net.estimate_single_pose(path) == from_array
    assert net.estimate_single_pose(str(path)) == from_array
    assert net.estimate_single_pose(Image.open(path)) == from_array
    rgba = np.concatenate([people, np.full(people.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert net.estimate_single_pose(rgba) == from_array


def test_grayscale_photo(net, photos_dir):
    gray = Image.open(photos_dir / "skimage__camera.png")
    assert gray.mode == "L"
    pose = net.estimate_single_pose(gray)
    assert pose == net.estimate_single_pose(np.asarray(gray))


@pytest.mark.parametrize(
    "image, message",
    [(np.zeros((10, 10, 3), np.float32), "must be uint8"), (np.zeros((10, 10, 2), np.uint8), "shape"),
     (np.zeros((0, 10, 3), np.uint8), "empty"), ([1, 2, 3], "unsupported image type"),
     ("/nonexistent/photo.jpg", "no such file")],
)
def test_bad_images_get_clear_errors(net, image, message):
    with pytest.raises(InvalidImageError, match=message):
        net.estimate_single_pose(image)


def test_corrupt_file(net, tmp_path, photos_dir):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((photos_dir / "tfpose__p1.jpg").read_bytes()[:300])
    with pytest.raises(InvalidImageError, match="broken.jpg"):
        net.estimate_single_pose(broken)
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(InvalidImageError, match="cannot decode"):
        net.estimate_single_pose(text)


def test_multi_pose_on_a_group_photo(net, photos_dir):
    poses = net.estimate_multiple_poses(photos_dir / "ultralytics__bus.jpg", max_detections=10, score_threshold=0.3)
    assert 3 <= len(poses) <= 10
    assert sum(p.score > 0.3 for p in poses) >= 3
    assert all(len(p.keypoints) == 17 for p in poses)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"max_detections": 0}, "Invalid maxDetections 0"), ({"max_detections": 2.5}, "Invalid maxDetections"),
     ({"score_threshold": 1.5}, r"Invalid scoreThreshold 1.5. Should be in range \[0.0, 1.0\]"),
     ({"nms_radius": 0}, "Invalid nmsRadius 0"), ({"nms_radius": float("nan")}, "Invalid nmsRadius")],
)
def test_multi_pose_options_are_validated(net, people, kwargs, message):
    with pytest.raises(ValueError, match=message):
        net.estimate_multiple_poses(people, **kwargs)


def test_batch_matches_one_by_one(net, photos_dir):
    images = [np.asarray(Image.open(photos_dir / n).convert("RGB")) for n in
              ("tfpose__p1.jpg", "tfpose__p2.jpg", "ultralytics__zidane.jpg")]
    batch = net.estimate_multiple_poses_batch(images)
    for image, poses in zip(images, batch):
        single = net.estimate_multiple_poses(image)
        assert len(poses) == len(single)
        for a, b in zip(poses, single):
            assert a.score == pytest.approx(b.score, abs=1e-4)
            for ka, kb in zip(a.keypoints, b.keypoints):
                assert ka.position.x == pytest.approx(kb.position.x, abs=0.05)
    singles = net.estimate_single_pose_batch(images)
    assert [p.score for p in singles] == pytest.approx([net.estimate_single_pose(i).score for i in images], abs=1e-4)


def test_per_call_overrides(net, people):
    out = net.predict(people, output_stride=8)
    assert out.heatmap_scores.shape == (33, 33, 17) and out.output_stride == 8
    out = net.predict(people, input_resolution=(353, 257))
    assert out.input_size == (257, 353) and out.heatmap_scores.shape == (17, 23, 17)
    h, w = people.shape[:2]
    out = net.predict(people, image_scale_factor=1.0)
    assert out.input_size == (h - 1 - (h - 1) % 16 + 1, w - 1 - (w - 1) % 16 + 1)
    assert 0 <= out.heatmap_scores.min() and out.heatmap_scores.max() <= 1
    assert net.estimate_single_pose(people, output_stride=8).score > 0.5
    with pytest.raises(ValueError, match="Invalid outputStride 12"):
        net.estimate_single_pose(people, output_stride=12)
    with pytest.raises(ValueError, match="not both"):
        net.estimate_single_pose(people, input_resolution=257, image_scale_factor=0.5)


def test_json_shape_is_the_reference_one(net, people):
    pose = net.estimate_single_pose(people)
    data = json.loads(json.dumps(pose.to_dict()))
    assert set(data) == {"score", "keypoints"}
    assert set(data["keypoints"][0]) == {"score", "part", "position"}
    assert set(data["keypoints"][0]["position"]) == {"x", "y"}
    assert posenet.Pose.from_dict(data) == pose


def test_engines_agree(models_dir, people):
    fast, ref = posenet.load(engine="auto"), posenet.load(engine="numpy")
    a, b = fast.estimate_single_pose(people), ref.estimate_single_pose(people)
    for ka, kb in zip(a.keypoints, b.keypoints):
        assert ka.score == pytest.approx(kb.score, abs=1e-4)
        assert ka.position.x == pytest.approx(kb.position.x, abs=0.05)
        assert ka.position.y == pytest.approx(kb.position.y, abs=0.05)
