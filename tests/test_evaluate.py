"""COCO evaluation: result format, the pycocotools wiring, and a real run on the subset."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pycocotools")

import posenet
from posenet import PART_NAMES, Keypoint, Pose, PoseOptions, Position, serialize
from posenet.evaluate import STAT_NAMES, coco_results, evaluate_coco, keypoint_stats, load_coco, missing_images

GT_NAME = "person_keypoints_train2017__cocomini.json"


@pytest.fixture(scope="module")
def gt(coco_dir):
    return load_coco(coco_dir / GT_NAME)


def test_coco_results_format():
    pose = Pose(0.8, tuple(Keypoint(p, i / 20, Position(i * 1.5, i * 2.5)) for i, p in enumerate(PART_NAMES)))
    (entry,) = coco_results(42, [pose])
    assert entry["image_id"] == 42 and entry["category_id"] == 1 and entry["score"] == 0.8
    assert len(entry["keypoints"]) == 51
    assert entry["keypoints"][3 * 4:3 * 5] == [6.0, 10.0, 0.2]  # x, y, keypoint score as v
    json.dumps(entry)
    assert coco_results(1, []) == []
    assert coco_results is serialize.coco_results  # one writer, re-exported here


def test_ground_truth_as_detections_scores_perfectly(gt):
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": [float(v) for v in a["keypoints"]], "score": 1.0}
        for a in gt.dataset["annotations"]
        if a["num_keypoints"] > 0
    ]
    stats = keypoint_stats(gt, results, gt.getImgIds())
    assert set(stats) == set(STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_shifted_detections_score_lower_and_empty_scores_zero(gt):
    results = [
        {"image_id": a["image_id"], "category_id": 1,
         "keypoints": [v + 15.0 if i % 3 != 2 else 1.0 for i, v in enumerate(a["keypoints"])], "score": 1.0}
        for a in gt.dataset["annotations"]
        if a["num_keypoints"] > 0
    ]
    assert 0.0 < keypoint_stats(gt, results, gt.getImgIds())["AP"] < 0.9
    assert keypoint_stats(gt, [], gt.getImgIds()) == dict.fromkeys(STAT_NAMES, 0.0)


def test_real_model_on_the_subset(models_dir, coco_dir, gt, tmp_path):
    # the first 24 images by id, one of them missing from the folder
    images = sorted(gt.dataset["images"], key=lambda im: im["id"])[:24]
    for im in images[1:]:
        (tmp_path / im["file_name"]).symlink_to(coco_dir / im["file_name"])
    report = evaluate_coco(posenet.load(), coco_dir / GT_NAME, tmp_path, limit=24)
    assert report.failures and report.failures[0][0] == images[0]["file_name"]
    assert report.image_ids == [im["id"] for im in images[1:]]
    assert {r["image_id"] for r in report.results} <= set(report.image_ids)
    assert all(len(r["keypoints"]) == 51 and 0 <= r["score"] <= 1 for r in report.results)
    assert 0.02 < report.stats["AP"] < 0.6
    assert report.stats["AP50"] >= report.stats["AP75"]
    assert len(report.image_ms) == len(report.image_ids) and 0 < report.median_ms < 5000 and report.missing == []


def test_not_an_annotations_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    with pytest.raises(posenet.PoseNetError):
        load_coco(bad)
    with pytest.raises(posenet.PoseNetError, match="no such"):
        load_coco(tmp_path / "missing.json")


class _Recorder:
    """A PoseModel stand-in that finds nothing and records what it was given."""

    family = "stub"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self.options: list[PoseOptions] = []

    def info(self):  # pragma: no cover - not used
        raise NotImplementedError

    def estimate(self, image, options=None, **overrides):
        self.shapes.append(image.shape)
        self.options.append(options)
        return []

    def estimate_batch(self, images, options=None, **overrides):  # pragma: no cover - not used
        return [self.estimate(i, options) for i in images]


@pytest.fixture
def rotated_set(tmp_path):
    """One 40x30 JPEG whose EXIF says "rotate 90°", and annotations naming it."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "a.jpg", exif=exif.tobytes())
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({
        "images": [{"id": 7, "file_name": "a.jpg", "width": 40, "height": 30}],
        "annotations": [],
        "categories": [{"id": 1, "name": "person", "keypoints": list(PART_NAMES), "skeleton": []}],
    }))
    return gt, tmp_path


def test_stored_pixels_multi_mode_and_the_coco_preset(rotated_set):
    gt, folder = rotated_set
    model = _Recorder()
    report = evaluate_coco(model, gt, folder)
    assert model.shapes == [(30, 40, 3)]  # EXIF orientation ignored: COCO annotates stored pixels
    assert model.options == [posenet.pose_options("coco", mode="multi")]
    assert report.image_ids == [7] and report.results == [] and report.stats["AP"] == 0.0

    evaluate_coco(model, gt, folder, PoseOptions(mode="single", max_detections=3))
    evaluate_coco(model, gt, folder, "camera")
    assert model.options[1] == PoseOptions(mode="multi", max_detections=3)  # always multi
    assert model.options[2] == posenet.pose_options("camera", mode="multi")


def test_missing_images_are_listed_and_skipped_on_request(coco_dir, gt, tmp_path):
    records = sorted(gt.dataset["images"], key=lambda im: im["id"])
    for im in records[1:4]:
        (tmp_path / im["file_name"]).symlink_to(coco_dir / im["file_name"])
    absent = missing_images(gt, tmp_path)
    assert absent == [im["file_name"] for im in records if im not in records[1:4]]
    assert missing_images(coco_dir / GT_NAME, coco_dir) == []
    model = _Recorder()
    report = evaluate_coco(model, gt, tmp_path, skip_missing=True, limit=2)  # a loaded COCO index will do
    assert report.image_ids == [im["id"] for im in records[1:3]] and report.failures == []
    assert report.missing == absent and len(report.image_ms) == 2 and report.median_ms is not None
    report = evaluate_coco(model, gt, tmp_path, limit=2)  # without: the missing one is a failure
    assert [name for name, _ in report.failures] == [records[0]["file_name"]]


def test_coco_results_pick_the_17_coco_keypoints_by_name():
    """A model with more keypoints (BlazePose's 33, snake_case) is scored on COCO's 17, in COCO order;
    a model missing one of them is refused by name."""
    from posenet.pose import Keypoint, Pose, Position
    from posenet.serialize import COCO_KEYPOINT_NAMES, coco_keypoint_indices

    extra = ("left_eye_inner", "mouth_left")
    names = (*extra, *reversed(COCO_KEYPOINT_NAMES))
    keypoints = tuple(Keypoint(n, 0.5, Position(float(i), 2.0 * i)) for i, n in enumerate(names))
    (entry,) = coco_results(7, [Pose(0.9, keypoints)])
    xs = entry["keypoints"][0::3]
    assert xs == [float(names.index(n)) for n in COCO_KEYPOINT_NAMES]
    assert coco_keypoint_indices(tuple(posenet.PART_NAMES)) == tuple(range(17))
    with pytest.raises(ValueError, match="left_ankle"):
        coco_keypoint_indices(tuple(n for n in COCO_KEYPOINT_NAMES if n != "left_ankle"))
