"""COCO evaluation: result format, the pycocotools wiring, and a real run on the subset."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pycocotools")

import posenet  # noqa: E402
from posenet import PART_NAMES, Keypoint, Pose, Position  # noqa: E402
from posenet.evaluate import STAT_NAMES, coco_results, evaluate_coco, keypoint_stats, load_coco  # noqa: E402

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
    assert keypoint_stats(gt, [], gt.getImgIds()) == {name: 0.0 for name in STAT_NAMES}


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


def test_not_an_annotations_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    with pytest.raises(posenet.PoseNetError):
        load_coco(bad)
    with pytest.raises(posenet.PoseNetError, match="no such"):
        load_coco(tmp_path / "missing.json")
